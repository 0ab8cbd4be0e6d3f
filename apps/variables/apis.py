"""Variables API: viewers read, editors create, change and delete. Names are checked
(`vars.NAME` must read them) and unique regardless of case; every change is audited."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import ReadViewerWriteEditor
from apps.core.pagination import Pagination, paginated_response
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.variables import selectors, services
from apps.variables.models import Variable


class VariableOutputSerializer(serializers.ModelSerializer):
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True,
                                       default=None)

    class Meta:
        model = Variable
        fields = ["name", "value", "description", "created_at", "updated_at", "updated_by"]


def _name_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=200, help_text=services.NAME_HELP, **kwargs)


def _value_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=services.VALUE_MAX, allow_blank=True,
                                 trim_whitespace=False, **kwargs)


class VariableListApi(APIView):
    """Every variable; POST creates one."""

    permission_classes = [ReadViewerWriteEditor]
    pagination_class = Pagination  # the page shape in the schema

    class InputSerializer(StrictSerializer):
        name = _name_field()
        value = _value_field()
        description = serializers.CharField(max_length=500, required=False, default="",
                                            allow_blank=True)

    @extend_schema(responses=VariableOutputSerializer(many=True))
    def get(self, request):
        return paginated_response(request=request, view=self,
                                  queryset=selectors.variable_list(
                                      search=request.query_params.get("search", "")),
                                  serializer_class=VariableOutputSerializer)

    @extend_schema(request=InputSerializer,
                   responses={201: VariableOutputSerializer, **error_responses(409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        variable = services.variable_create(user=request.user, **data.validated_data)
        return Response(VariableOutputSerializer(variable).data, status=status.HTTP_201_CREATED)


class VariableDetailApi(APIView):
    permission_classes = [ReadViewerWriteEditor]

    class InputSerializer(StrictSerializer):
        name = _name_field(required=False)
        value = _value_field(required=False)
        description = serializers.CharField(max_length=500, required=False, allow_blank=True)

    @staticmethod
    def _get(name: str) -> Variable:
        return get_object_or_404(Variable, name=name)

    @extend_schema(responses=VariableOutputSerializer)
    def get(self, request, name):
        return Response(VariableOutputSerializer(self._get(name)).data)

    @extend_schema(request=InputSerializer,
                   responses={200: VariableOutputSerializer, **error_responses(409)})
    def patch(self, request, name):
        variable = self._get(name)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        variable = services.variable_update(variable=variable, user=request.user,
                                            **data.validated_data)
        return Response(VariableOutputSerializer(variable).data)

    @extend_schema(responses={204: None})
    def delete(self, request, name):
        services.variable_delete(variable=self._get(name), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
