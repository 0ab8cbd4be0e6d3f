"""Triton servers (admins write, viewers read), their models, and "try it" (editors)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsEditor, IsViewer
from apps.accounts.roles import ADMIN, VIEWER, has_role
from apps.core.errors import Unprocessable
from apps.core.pagination import Pagination
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.inference import selectors, services
from apps.inference.crypto import SecretUnreadable
from apps.inference.errors import InferenceError
from apps.inference.models import TritonServer

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
URL = re.compile(r"^((https?|grpcs?)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}(/[^\s]*)?$")
# HTTP status per InferenceError code; anything else is the model's failure (502).
STATUS = {
    "server_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "timeout": status.HTTP_504_GATEWAY_TIMEOUT,
    "model_not_found": status.HTTP_404_NOT_FOUND,
    "invalid_input": status.HTTP_400_BAD_REQUEST,
    "invalid_output": status.HTTP_400_BAD_REQUEST,
    "invalid_config": status.HTTP_400_BAD_REQUEST,
}


class ReadViewerWriteAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        role = VIEWER if request.method in SAFE_METHODS else ADMIN
        self.message = f"This needs the role '{role}'."
        return has_role(request.user, role)


class InferenceApiError(APIException):
    """An InferenceError as an API error naming the server (and the input or output)."""

    def __init__(self, exc: InferenceError, server: TritonServer) -> None:
        self.status_code = STATUS.get(exc.code, status.HTTP_502_BAD_GATEWAY)
        if exc.code in ("server_unavailable", "timeout"):
            detail = f"Triton server {server.name!r} is unavailable: {exc.message}"
        else:
            detail = exc.message
        super().__init__(detail, exc.code)
        self.extra: dict[str, Any] = {"server": server.name, "retryable": exc.retryable}
        for key in ("model", "input", "output"):
            if value := getattr(exc, key):
                self.extra[key] = value
        if exc.input:
            self.extra["errors"] = {f"inputs.{exc.input}": [exc.message]}
        elif exc.output:
            self.extra["errors"] = {"outputs": [exc.message]}


class _Calls:
    """`with _Calls(server):` turns inference failures into API errors."""

    def __init__(self, server: TritonServer) -> None:
        self.server = server

    def __enter__(self) -> None:
        if not self.server.is_active:
            raise Unprocessable(f"Triton server {self.server.name!r} is switched off.",
                                code="server_inactive", status_code=409,
                                server=self.server.name)

    def __exit__(self, kind, exc, tb) -> None:
        if isinstance(exc, InferenceError):
            raise InferenceApiError(exc, self.server) from exc
        if isinstance(exc, SecretUnreadable):
            raise Unprocessable(f"Triton server {self.server.name!r}: {exc}",
                                code="secret_unreadable", status_code=500) from exc


class HeadersField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(max_length=4000, allow_blank=True,
                                                     allow_null=kwargs.pop("allow_null_values",
                                                                           False)), **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        bad = [k for k in value if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,200}", k)]
        if bad:
            raise serializers.ValidationError(f"Not a header name: {bad[0]!r}.")
        return value


class ServerInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    protocol = serializers.ChoiceField(choices=[TritonServer.HTTP, TritonServer.GRPC],
                                       default=TritonServer.HTTP)
    headers = HeadersField(required=False, default=dict)
    secret_headers = HeadersField(required=False, default=dict, allow_null_values=True)
    tls_verify = serializers.BooleanField(required=False, default=True)
    ca_path = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                    default="")
    timeout_s = serializers.FloatField(min_value=0.1, max_value=300, required=False,
                                       default=10.0)
    is_active = serializers.BooleanField(required=False, default=True)
    models = serializers.ListField(child=serializers.CharField(max_length=200),
                                   required=False, default=list, max_length=500,
                                   source="model_names")

    def validate_name(self, value: str) -> str:
        if not NAME.match(value):
            raise serializers.ValidationError("Use letters, digits, '.', '_' and '-'.")
        others = TritonServer.objects.filter(name=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(f"A server called {value!r} exists already.",
                                              code="unique")
        return value

    def validate_url(self, value: str) -> str:
        if not URL.match(value.strip()):
            raise serializers.ValidationError(
                "Give host:port, optionally with http://, https://, grpc:// or grpcs://.")
        return value.strip()

    def validate(self, data):
        url = data.get("url", getattr(self.instance, "url", ""))
        protocol = data.get("protocol", getattr(self.instance, "protocol", TritonServer.HTTP))
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if (scheme.startswith("http") and protocol == TritonServer.GRPC) or (
                scheme.startswith("grpc") and protocol == TritonServer.HTTP):
            raise serializers.ValidationError({"url": [f"A {scheme}:// url does not fit the "
                                                       f"protocol {protocol!r}."]})
        verify = data.get("tls_verify", getattr(self.instance, "tls_verify", True))
        if protocol == TritonServer.GRPC and not verify:
            raise serializers.ValidationError({"tls_verify": [
                "gRPC always checks the server's certificate; give ca_path for a private CA."]})
        return data


class ServerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    protocol = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    secret_headers = serializers.ListField(child=serializers.CharField(),
                                           source="secret_header_names",
                                           help_text="Names only: values are never returned.")
    tls_verify = serializers.BooleanField()
    ca_path = serializers.CharField()
    timeout_s = serializers.FloatField()
    is_active = serializers.BooleanField()
    models = serializers.ListField(child=serializers.CharField(), source="model_names")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TritonServerListApi(APIView):
    permission_classes = [ReadViewerWriteAdmin]
    pagination_class = Pagination  # the page shape in the schema

    @extend_schema(responses=ServerOutputSerializer(many=True))
    def get(self, request):
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.triton_server_list(), request, view=self)
        return paginator.get_paginated_response(ServerOutputSerializer(page, many=True).data)

    @extend_schema(request=ServerInputSerializer, responses={201: ServerOutputSerializer})
    def post(self, request):
        data = ServerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["secret_headers"] = {k: v for k, v in fields["secret_headers"].items()
                                    if v is not None}
        server = services.triton_server_create(user=request.user, **fields)
        return Response(ServerOutputSerializer(server).data, status=status.HTTP_201_CREATED)


class TritonServerDetailApi(APIView):
    permission_classes = [ReadViewerWriteAdmin]

    @extend_schema(responses=ServerOutputSerializer)
    def get(self, request, server_id):
        return Response(ServerOutputSerializer(
            selectors.triton_server_get(server_id=server_id)).data)

    @extend_schema(request=ServerInputSerializer(partial=True), responses=ServerOutputSerializer)
    def patch(self, request, server_id):
        server = selectors.triton_server_get(server_id=server_id)
        data = ServerInputSerializer(server, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        server = services.triton_server_update(server=server, user=request.user,
                                               **data.validated_data)
        return Response(ServerOutputSerializer(server).data)

    @extend_schema(responses={204: None})
    def delete(self, request, server_id):
        server = selectors.triton_server_get(server_id=server_id)
        services.triton_server_delete(server=server, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField())
    ready = serializers.BooleanField()
    reason = serializers.CharField()


class ModelListOutputSerializer(serializers.Serializer):
    server = serializers.CharField(help_text="The server's name.")
    models = ModelStatusSerializer(many=True)


class TritonModelListApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(operation_id="inference_servers_models_list",
                   responses={200: ModelListOutputSerializer,
                              **error_responses(409, 502, 503, 504)})
    def get(self, request, server_id):
        server = selectors.triton_server_get(server_id=server_id)
        with _Calls(server):
            models = selectors.triton_server_models(server=server)
        return Response({"server": server.name, "models": [m.as_dict() for m in models]})


class TritonModelDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(parameters=[OpenApiParameter("version", str, pattern=r"^[0-9]*$",
                                                description="The model version; the latest "
                                                "when left out.")],
                   responses={200: OpenApiTypes.OBJECT, **error_responses(409, 502, 503, 504)})
    def get(self, request, server_id, model):
        server = selectors.triton_server_get(server_id=server_id)
        version = request.query_params.get("version", "")
        if version and not version.isdigit():
            raise Unprocessable("'version' must be a number.", code="invalid",
                                errors={"version": ["A number, or leave it out for the latest."]})
        with _Calls(server):
            spec = selectors.triton_model_spec(server=server, model=model, version=version)
        return Response({"server": server.name, **spec.as_dict()})


class TritonModelInferApi(APIView):
    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        inputs = serializers.DictField(help_text="A JSON value per model input; a list "
                                       "where the model takes one item is a batch.")
        version = serializers.RegexField(r"^[0-9]*$", required=False, allow_blank=True,
                                         default="")
        outputs = serializers.ListField(child=serializers.CharField(), required=False,
                                        default=list)

    @extend_schema(request=InputSerializer,
                   responses={200: OpenApiTypes.OBJECT, **error_responses(409, 502, 503, 504)})
    def post(self, request, server_id, model):
        server = selectors.triton_server_get(server_id=server_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _Calls(server):
            result = services.triton_model_try(server=server, user=request.user, model=model,
                                               **data.validated_data)
        return Response({"server": server.name, **result.as_output()})
