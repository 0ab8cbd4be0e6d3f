"""Credentials API. Admins create, change and delete; viewers and editors may
list names and kinds (to pick one in a node's config). The secret is
write-only: no response ever carries it. Every credential names the hosts it may
be sent to (`allowed_hosts`, see apps.credentials.hosts); `any_host` flags one that
may go anywhere ("*", kept for credentials that predate the list)."""

from __future__ import annotations

from django.db import IntegrityError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import ADMIN, VIEWER, has_role
from apps.core.errors import Conflict
from apps.core.pagination import Pagination
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.credentials import selectors, services
from apps.credentials.hosts import ANY_HOST, MAX_HOSTS
from apps.credentials.models import CredentialKind, requests_per_s_validate


class ReadViewerWriteAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        role = VIEWER if request.method in SAFE_METHODS else ADMIN
        self.message = f"This needs the role '{role}'."
        return has_role(request.user, role)


class CredentialOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    allowed_hosts = serializers.ListField(child=serializers.CharField())
    requests_per_s = serializers.FloatField(allow_null=True)
    any_host = serializers.SerializerMethodField(
        help_text="True when the credential may be sent to any host ('*'): replace it with "
                  "the hosts it is meant for.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)

    def get_any_host(self, credential) -> bool:
        return ANY_HOST in credential.allowed_hosts


def _hosts_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=300),
                                 max_length=MAX_HOSTS, help_text=(
                                     "Hosts the credential may be sent to: 'api.example.com', "
                                     "'api.example.com:8443', '*.example.com'."), **kwargs)


def _rate_field(**kwargs) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, validators=[requests_per_s_validate],
                                  help_text=(
                                      "Requests per second that node calls sending the "
                                      "credential may make, across the I/O worker's calls "
                                      "(calls over it wait, queued); null: no limit."),
                                  **kwargs)


def _body(credential, request) -> dict:
    body = CredentialOutputSerializer(credential).data
    if not has_role(request.user, ADMIN):  # names and kinds only
        body = {k: body[k] for k in ("id", "name", "kind")}
    return body


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A credential named {name!r} exists.", code="duplicate_name")


class CredentialListApi(APIView):
    permission_classes = [ReadViewerWriteAdmin]
    pagination_class = Pagination  # the page shape in the schema

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)
        kind = serializers.ChoiceField(choices=CredentialKind.values)
        description = serializers.CharField(max_length=500, required=False, default="",
                                            allow_blank=True)
        secret = serializers.DictField(write_only=True)
        allowed_hosts = _hosts_field()
        requests_per_s = _rate_field(required=False, default=None)

    @extend_schema(parameters=[
        OpenApiParameter("kind", str, enum=CredentialKind.values, description="Only this kind."),
        OpenApiParameter("search", str, description="In the name.")],
        responses=CredentialOutputSerializer(many=True))
    def get(self, request):
        qs = selectors.credential_list(kind=request.query_params.get("kind", ""),
                                       search=request.query_params.get("search", ""))
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([_body(c, request) for c in page])

    @extend_schema(request=InputSerializer,
                   responses={201: CredentialOutputSerializer, **error_responses(409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            credential = services.credential_create(user=request.user, **data.validated_data)
        except IntegrityError:
            raise _name_taken(data.validated_data["name"]) from None
        return Response(_body(credential, request), status=status.HTTP_201_CREATED)


class CredentialDetailApi(APIView):
    permission_classes = [ReadViewerWriteAdmin]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100, required=False)
        description = serializers.CharField(max_length=500, required=False, allow_blank=True)
        secret = serializers.DictField(write_only=True, required=False)
        allowed_hosts = _hosts_field(required=False)
        requests_per_s = _rate_field(required=False)

    def _get(self, credential_id):
        return get_object_or_404(selectors.credential_list(), pk=credential_id)

    @extend_schema(responses=CredentialOutputSerializer)
    def get(self, request, credential_id):
        return Response(_body(self._get(credential_id), request))

    @extend_schema(request=InputSerializer,
                   responses={200: CredentialOutputSerializer, **error_responses(409)})
    def patch(self, request, credential_id):
        credential = self._get(credential_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            credential = services.credential_update(credential=credential, user=request.user,
                                                    **data.validated_data)
        except IntegrityError:
            raise _name_taken(data.validated_data.get("name", "")) from None
        return Response(_body(credential, request))

    @extend_schema(responses={204: None})
    def delete(self, request, credential_id):
        services.credential_delete(credential=self._get(credential_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
