from __future__ import annotations

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.lockouts import LOCKOUT_CODE, lockout_api_response, lockout_message
from apps.accounts.models import ApiToken
from apps.accounts.permissions import IsAdmin
from apps.accounts.roles import ADMIN, ROLES, has_role, roles_of
from apps.core.pagination import Pagination, paginated_response
from apps.core.serializers import StrictSerializer
from apps.core.throttling import ClientScopedRateThrottle


class TokenObtainApi(APIView):
    """Exchange a username (or e-mail) and password for an API token. Sign-in is
    throttled per account and per client address: 429 `too_many_attempts` with
    Retry-After once either has too many failures."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "login"

    class InputSerializer(StrictSerializer):
        username = serializers.CharField(required=False, max_length=254)
        email = serializers.CharField(required=False, max_length=254)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        name = serializers.CharField(required=False, max_length=100, default="API token")

        def validate(self, attrs):
            if not attrs.get("username") and not attrs.get("email"):
                raise serializers.ValidationError({"username": ["Give a username or an email."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        id = serializers.IntegerField()
        name = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={
        201: OutputSerializer,
        401: OpenApiResponse(description="`invalid_credentials`"),
        429: OpenApiResponse(description=f"`{LOCKOUT_CODE}`: {lockout_message()} "
                                         "(Retry-After gives the seconds)")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login = data.validated_data.get("username") or data.validated_data["email"]
        user = authenticate(request, username=login, password=data.validated_data["password"])
        if getattr(request, "axes_locked_out", False):  # set by django-axes on this request
            return lockout_api_response()
        if user is None:
            return Response({"code": "invalid_credentials",
                             "detail": "Unknown user or wrong password."},
                            status=status.HTTP_401_UNAUTHORIZED)
        token, raw = services.token_create(user=user, name=data.validated_data["name"])
        return Response({"token": raw, "id": token.id, "name": token.name},
                        status=status.HTTP_201_CREATED)


class TokenOutputSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "last_used_at", "revoked_at",
                  "expires_at"]


class TokenListApi(APIView):
    """Your API tokens (admins: `?all=1` lists everyone's). POST creates one."""

    permission_classes = [IsAuthenticated]
    pagination_class = Pagination  # the page shape in the schema

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100, help_text="Says what the token is for.")
        expires_at = serializers.DateTimeField(
            required=False, allow_null=True, default=None,
            help_text="When the token stops working; leave out for one that never expires.")

    @extend_schema(parameters=[OpenApiParameter(
        "all", str, enum=["1"], description="1: every user's tokens (admins only).")],
        responses=TokenOutputSerializer(many=True))
    def get(self, request):
        include_all = request.query_params.get("all") == "1" and has_role(request.user, ADMIN)
        qs = selectors.token_list(user=request.user, include_all=include_all)
        return paginated_response(request=request, view=self, queryset=qs,
                                  serializer_class=TokenOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: TokenOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.token_create(user=request.user, **data.validated_data)
        body = TokenOutputSerializer(token).data
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, token_id: int):
        qs = selectors.token_list(user=request.user,
                                  include_all=has_role(request.user, ADMIN))
        token = get_object_or_404(qs, pk=token_id)
        services.token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(help_text="An e-mail address; empty when none was given.")
    is_active = serializers.BooleanField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return sorted(g.name for g in user.groups.all() if g.name in ROLES) + (
            [ADMIN] if user.is_superuser and not any(
                g.name == ADMIN for g in user.groups.all()) else [])


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request):
        body = UserOutputSerializer(request.user).data
        body["effective_roles"] = sorted(roles_of(request.user))
        return Response(body)


class UserListApi(APIView):
    """Admins list and create users."""

    permission_classes = [IsAdmin]
    pagination_class = Pagination  # the page shape in the schema

    class InputSerializer(StrictSerializer):
        username = serializers.RegexField(r"^[\w.@+-]{1,150}$")
        email = serializers.EmailField(required=False, default="")
        password = serializers.CharField(required=False, min_length=8, max_length=256,
                                         trim_whitespace=False)
        roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES),
                                      default=list)

        def validate_username(self, value):
            if selectors.User.objects.filter(username=value).exists():
                raise serializers.ValidationError("A user with this username exists.")
            return value

    @extend_schema(parameters=[OpenApiParameter("search", str, description="In the username "
                                                "or e-mail.")],
                   responses=UserOutputSerializer(many=True))
    def get(self, request):
        qs = selectors.user_list(search=request.query_params.get("search", ""))
        return paginated_response(request=request, view=self, queryset=qs,
                                  serializer_class=UserOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(StrictSerializer):
        roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES),
                                      required=False)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request, user_id: int):
        return Response(UserOutputSerializer(get_object_or_404(selectors.user_list(),
                                                               pk=user_id)).data)

    @extend_schema(request=InputSerializer, responses={
        200: UserOutputSerializer,
        400: OpenApiResponse(description="Bad input, deactivating yourself or dropping your "
                                         "own admin role; `errors` names the field."),
        409: OpenApiResponse(description="`last_admin`: the change would leave no active "
                                         "admin.")})
    def patch(self, request, user_id: int):
        user = get_object_or_404(selectors.user_list(), pk=user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_update(user=user, actor=request.user, request=request,
                             roles=data.validated_data.get("roles"),
                             is_active=data.validated_data.get("is_active"))
        user = selectors.user_list().get(pk=user.pk)
        return Response(UserOutputSerializer(user).data)
