from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsViewer
from apps.core.serializers import StrictSerializer
from apps.expressions.services import expression_check


class ExpressionCheckApi(APIView):
    """Check a CEL expression (or a `{{ }}` template) as the editor types it."""

    permission_classes = [IsViewer]

    class InputSerializer(StrictSerializer):
        expression = serializers.CharField(allow_blank=True, trim_whitespace=False,
                                           max_length=100_000)
        template = serializers.BooleanField(required=False, default=False)
        variables = serializers.ListField(
            child=serializers.RegexField(r"^[A-Za-z_]\w{0,63}$"), required=False,
            default=list, max_length=20,
            help_text="Names the node adds beyond input, nodes, run and vars (e.g. item).")

    class OutputSerializer(serializers.Serializer):
        valid = serializers.BooleanField()
        error = serializers.DictField(required=False)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        error = expression_check(expression=data.validated_data["expression"],
                                 template=data.validated_data["template"],
                                 names=tuple(data.validated_data["variables"]))
        if error is None:
            return Response({"valid": True})
        return Response({"valid": False, "error": error.as_dict()})
