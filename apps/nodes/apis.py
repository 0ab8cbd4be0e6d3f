from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsViewer
from apps.nodes.registry import registry


class PortOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()
    multiple = serializers.BooleanField()


class NodeTypeOutputSerializer(serializers.Serializer):
    """A palette entry (`NodeType.describe()`)."""

    type = serializers.CharField()
    version = serializers.IntegerField()
    category = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    icon = serializers.CharField()
    is_trigger = serializers.BooleanField()
    inputs = PortOutputSerializer(many=True)
    outputs = PortOutputSerializer(many=True)
    config_schema = serializers.DictField(help_text="The config's JSON Schema (drives forms).")


class NodeTypeListApi(APIView):
    """The palette: every registered node type with its ports and config JSON Schema."""

    permission_classes = [IsViewer]

    @extend_schema(responses=NodeTypeOutputSerializer(many=True))
    def get(self, request):
        return Response([node_type.describe() for node_type in registry])
