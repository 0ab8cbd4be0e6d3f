from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsViewer
from apps.nodes.registry import registry


class NodeTypeListApi(APIView):
    """The palette: every registered node type with its ports and config JSON Schema."""

    permission_classes = [IsViewer]

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response([node_type.describe() for node_type in registry])
