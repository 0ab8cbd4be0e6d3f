import io
import logging
import re
import time

from apps.core.context import new_id, request_id_var

logger = logging.getLogger("weft.request")
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes X-Request-ID from the caller (when sane) or makes one, exposes it on
    the request, the response and every log line, and logs one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else new_id()
        token = request_id_var.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if not request.path.startswith(("/static/", "/healthz")):
                logger.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            return response
        finally:
            request_id_var.reset(token)


_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class InboundMiddleware:
    """Refuses what no view could handle, before any view runs (apps.core.inbound):

    - a path or query string holding NUL characters or lone surrogates (a `?search=`
      would otherwise reach PostgreSQL, which refuses them): 400 naming the parameter;
    - a body sent without a Content-Length (chunked): read here, bounded by
      DATA_UPLOAD_MAX_MEMORY_SIZE (413 beyond), so that the parsers see it, where the
      server hands it over (ASGI); 411 where it cannot be read whole (WSGI)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self._query_problem(request) or self._read_chunked(request)
        if refused is not None:
            return refused
        return self.get_response(request)

    @staticmethod
    def _refuse(request, status: int, code: str, detail: str, errors=None):
        from django.http import HttpResponse, JsonResponse

        if request.path.startswith(("/api/", "/hooks/")):
            body = {"code": code, "detail": detail}
            if errors:
                body["errors"] = errors
            return JsonResponse(body, status=status)
        return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")

    def _query_problem(self, request):
        from apps.core.inbound import text_problem

        problem = text_problem(request.path)
        if problem:
            return self._refuse(request, 400, "invalid_text", f"The address {problem}.",
                                {"path": [problem]})
        for key, values in request.GET.lists():
            for text, what in [(key, "name"), *((value, "value") for value in values)]:
                problem = text_problem(text)
                if problem:
                    name = key if what == "value" else repr(key)
                    return self._refuse(
                        request, 400, "invalid_text",
                        f"The query parameter {name!s} has a {what} that {problem}.",
                        {f"query.{key}" if what == "value" else "query": [problem]})
        return None

    def _read_chunked(self, request):
        from django.conf import settings
        from django.core.handlers.asgi import ASGIRequest

        from apps.core.inbound import BodyRefused, read_body

        if request.method not in _BODY_METHODS or request.META.get("CONTENT_LENGTH"):
            return None
        if not isinstance(request, ASGIRequest):
            if "HTTP_TRANSFER_ENCODING" not in request.META:
                return None
            return self._refuse(request, 411, "length_required",
                                "Send the body with a Content-Length header.")
        try:
            body = read_body(request.read, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
                             declared=None)
        except BodyRefused as refused:
            return self._refuse(request, refused.status, refused.code, refused.detail)
        # As Django keeps a body it has read: request.body, and a stream to read again.
        request._body = body
        request._stream = io.BytesIO(body)
        request.META["CONTENT_LENGTH"] = str(len(body))
        return None
