"""The ASGI front for webhooks (`/hooks/<secret>/`): the hot path of synchronous
webhook runs, served without Django's request machinery.

Nothing that the Django stack adds applies to a webhook: no session, user, CSRF,
messages or audit context (the caller is identified by the secret URL and, when
configured, the body's signature). Django's ASGI handler would also run every
request on one thread per process; here each call goes to a thread pool, so runs
of one process overlap while they wait on PostgreSQL. The logic is
`triggers.webhook_handle`, the same one the Django view calls; a `respond` run that
has not answered when its start returns is waited for on the event loop, woken by
its events, never on a thread of the pool. Such a run's HTTP requests and model calls
are made by this process's I/O executor (apps.runs.services.dispatch.in_process), on
a loop of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, reset_queries

from apps.core.context import new_id, request_id_var
from apps.core.inbound import BodyReader, BodyRefused
from apps.runs import respond, triggers

logger = logging.getLogger("weft.runs.webhook_front")
PREFIX = "/hooks/"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # as apps.core.middleware


def matches(scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(PREFIX)


def _handle(secret: str, body: bytes, headers: dict[str, str], request_id: str):
    request_id_var.set(request_id)
    try:
        return triggers.webhook_handle(secret=secret, body=body, headers=headers, wait=False)
    except Exception:
        logger.exception("webhook failed")
        return 500, {"code": "server_error", "detail": "The webhook could not be handled."}, {}
    finally:
        # As at the end of a Django request: the connection back to the pool, and
        # (with DEBUG on) the query log emptied.
        reset_queries()
        close_old_connections()


_executor: ThreadPoolExecutor | None = None


async def _in_pool(function, *args):
    """In a pool of threads as large as the database pool: each holds a connection
    while its run is written, so no thread waits for one."""
    global _executor
    if _executor is None:
        size = settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get(
            "max_size", 8)
        _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="weft-webhooks")
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)


def _read(function, *args):
    try:
        return function(*args)
    finally:
        reset_queries()
        close_old_connections()


async def _handle_async(secret: str, body: bytes, headers: dict[str, str], request_id: str):
    """The webhook's answer. A respond-mode run that has not answered yet is waited
    for here on the event loop, woken by its events (apps.runs.respond): its caller
    holds no thread of the pool meanwhile, so slow runs do not delay other webhooks."""
    answer = await _in_pool(_handle, secret, body, headers, request_id)
    if isinstance(answer, respond.RespondWait):
        try:
            answer = await respond.respond_wait_async(
                answer, lambda function, *args: _in_pool(_read, function, *args))
        except Exception:
            logger.exception("webhook failed")
            return 500, {"code": "server_error", "detail": "The webhook could not be "
                         "handled."}, {}
    return answer


async def _respond(send, status: int, payload, headers: dict[str, str]) -> None:
    body = json.dumps(payload, cls=DjangoJSONEncoder).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def webhook_app(scope, receive, send) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    incoming = headers.get("x-request-id", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else new_id()
    extra = {"X-Request-ID": request_id}
    secret = scope["path"][len(PREFIX):].rstrip("/")
    if scope["method"] != "POST":
        await _respond(send, 405, {"code": "method_not_allowed",
                                   "detail": "Webhooks take POST."}, {**extra, "Allow": "POST"})
        return
    if not secret or "/" in secret:
        await _respond(send, 404, {"code": "not_found", "detail": "No webhook has this "
                                   "address."}, extra)
        return
    try:  # the same reading as the Django view (apps.runs.apis.webhook)
        reader = BodyReader(limit=settings.WEFT_WEBHOOK_MAX_BYTES,
                            declared=headers.get("content-length"))
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            reader.feed(message.get("body", b""))
            if not message.get("more_body"):
                break
    except BodyRefused as refused:
        await _respond(send, refused.status, {"code": refused.code, "detail": refused.detail},
                       extra)
        return
    status, payload, response_headers = await _handle_async(secret, reader.body(), headers,
                                                            request_id)
    await _respond(send, status, payload, {**response_headers, **extra})
