from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsViewer
from apps.core.serializers import StrictSerializer
from apps.expressions.services import expression_check, expression_preview


class ExpressionCheckApi(APIView):
    """Check a CEL expression (or a `{{ }}` template) as the editor types it. With
    `samples` (what the node would see: `input`, `nodes`, `run`, `vars`, from the data
    of earlier test runs, pins or the trigger's sample input) the check uses the types
    that data gives (`input.amount * 0.9` on an integer is an error, with its fix), and
    `preview` evaluates it on that data (bounded like a run)."""

    permission_classes = [IsViewer]

    class InputSerializer(StrictSerializer):
        expression = serializers.CharField(allow_blank=True, trim_whitespace=False,
                                           max_length=100_000)
        template = serializers.BooleanField(required=False, default=False)
        variables = serializers.ListField(
            child=serializers.RegexField(r"^[A-Za-z_]\w{0,63}$"), required=False,
            default=list, max_length=20,
            help_text="Names the node adds beyond input, nodes, run and vars (e.g. item).")
        samples = serializers.DictField(
            required=False, help_text="Sample data by name (input, nodes, run, vars): its "
            "types are checked against, and the preview evaluates on it.")
        preview = serializers.BooleanField(required=False, default=False,
                                           help_text="Also evaluate it on `samples`.")

        def validate_samples(self, value):
            unknown = sorted(set(value) - {"input", "nodes", "run", "vars"})
            if unknown:
                raise serializers.ValidationError(f"Unknown name(s): {', '.join(unknown)}; "
                                                  "use input, nodes, run, vars.")
            return value

    class OutputSerializer(serializers.Serializer):
        valid = serializers.BooleanField()
        error = serializers.DictField(required=False)
        preview = serializers.DictField(required=False, help_text="{value} it gives on the "
                                        "samples, or {error} why it cannot give one.")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        samples = given.get("samples")
        error = expression_check(expression=given["expression"], template=given["template"],
                                 names=tuple(given["variables"]), samples=samples)
        if error is not None:
            return Response({"valid": False, "error": error.as_dict()})
        body = {"valid": True}
        if given["preview"] and samples is not None:
            body["preview"] = expression_preview(expression=given["expression"],
                                                 template=given["template"], samples=samples)
        return Response(body)
