"""GET /api/templates/: the gallery of the "new workflow" dialog. Creating from a
template is an ordinary POST /api/workflows/ with its graph; "try it" then starts a
test run of that draft with the sample input (POST .../test-runs/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsViewer
from apps.templates.selectors import template_gallery


class TemplateOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    free_name = serializers.CharField(
        help_text="The name a draft from it takes: its name, or \"Name (copy)\", "
                  "\"Name (copy 2)\"... when a workflow has that name already.")
    description = serializers.CharField()
    teams = serializers.ListField(child=serializers.CharField(),
                                  help_text="Teams its approvals assign work to.")
    missing_teams = serializers.ListField(
        child=serializers.CharField(),
        help_text="Of those, the teams that do not exist or have no members: publishing "
                  "and test runs refuse the draft until an admin creates them.")
    sample_input = serializers.DictField()
    graph = serializers.DictField()


class TemplateListApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=TemplateOutputSerializer(many=True))
    def get(self, request):
        return Response(template_gallery())
