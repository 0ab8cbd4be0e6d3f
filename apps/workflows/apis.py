from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsEditor, IsViewer, ReadViewerWriteEditor
from apps.core.pagination import Pagination, paginated_response
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.nodes.registry import registry
from apps.privacy.selectors import draft_data_masked
from apps.workflows import pins, selectors, services
from apps.workflows.graph import ERROR


class GraphField(serializers.JSONField):
    """A graph document; its content is checked by the graph validator."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("The graph must be a JSON object with "
                                              "'nodes' and 'edges'.")
        return super().to_internal_value(data)


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class WorkflowOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    revision = serializers.IntegerField()
    latest_version = serializers.IntegerField(allow_null=True)
    owner = UserRefSerializer()
    updated_by = UserRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class UpgradedGraphField(serializers.JSONField):
    """A stored graph as the editor draws it: nodes of older type versions upgraded."""

    def to_representation(self, value):
        return super().to_representation(registry.upgrade_graph(value))


class WorkflowDetailOutputSerializer(WorkflowOutputSerializer):
    graph = UpgradedGraphField()


class VersionOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()


class VersionDetailOutputSerializer(VersionOutputSerializer):
    graph = UpgradedGraphField()


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    node_id = serializers.CharField(required=False)
    edge_id = serializers.CharField(required=False)
    field = serializers.CharField(required=False)


def _detail(workflow) -> dict:
    workflow = selectors.workflow_get(workflow_id=workflow.pk)  # with latest_version
    return WorkflowDetailOutputSerializer(workflow).data


class WorkflowListApi(APIView):
    permission_classes = [ReadViewerWriteEditor]
    pagination_class = Pagination  # the page shape in the schema

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="",
                                            max_length=5000)
        graph = GraphField(required=False)

    @extend_schema(parameters=[OpenApiParameter("search", str)],
                   responses=WorkflowOutputSerializer(many=True))
    def get(self, request):
        qs = selectors.workflow_list(search=request.query_params.get("search", "").strip())
        return paginated_response(request=request, view=self, queryset=qs,
                                  serializer_class=WorkflowOutputSerializer)

    @extend_schema(request=InputSerializer,
                   responses={201: WorkflowDetailOutputSerializer, **error_responses(409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_create(user=request.user, **data.validated_data)
        return Response(_detail(workflow), status=status.HTTP_201_CREATED)


class WorkflowDetailApi(APIView):
    permission_classes = [ReadViewerWriteEditor]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
        graph = GraphField(required=False)
        revision = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(responses=WorkflowDetailOutputSerializer)
    def get(self, request, workflow_id):
        return Response(_detail(selectors.workflow_get(workflow_id=workflow_id)))

    @extend_schema(request=InputSerializer,
                   responses={200: WorkflowDetailOutputSerializer, **error_responses(409)})
    def patch(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_update(workflow=workflow, user=request.user,
                                            **data.validated_data)
        return Response(_detail(workflow))

    @extend_schema(responses={204: None})
    def delete(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        services.workflow_delete(workflow=workflow, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowValidateApi(APIView):
    """Check the draft (or a graph sent in the body) without saving anything (editors)."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        graph = GraphField(required=False)

    class OutputSerializer(serializers.Serializer):
        valid = serializers.BooleanField()
        problems = ProblemSerializer(many=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        problems = services.graph_check(workflow=workflow,
                                        graph=data.validated_data.get("graph", workflow.graph))
        return Response({"valid": not any(p.severity == ERROR for p in problems),
                         "problems": [p.as_dict() for p in problems]})


class WorkflowPublishApi(APIView):
    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=500)

    @extend_schema(request=InputSerializer, responses={201: VersionOutputSerializer})
    def post(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.workflow_publish(workflow=workflow, user=request.user,
                                            note=data.validated_data["note"])
        return Response(VersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class WorkflowVersionListApi(APIView):
    permission_classes = [IsViewer]
    pagination_class = Pagination  # the page shape in the schema

    @extend_schema(responses=VersionOutputSerializer(many=True))
    def get(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        versions = selectors.workflow_version_list(workflow=workflow)
        return paginated_response(request=request, view=self, queryset=versions,
                                  serializer_class=VersionOutputSerializer)


class WorkflowVersionDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=VersionDetailOutputSerializer)
    def get(self, request, workflow_id, number: int):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        version = selectors.workflow_version_get(workflow=workflow, number=number)
        return Response(VersionDetailOutputSerializer(version).data)


class WorkflowVersionRestoreApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(request=None, responses=WorkflowDetailOutputSerializer)
    def post(self, request, workflow_id, number: int):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        version = selectors.workflow_version_get(workflow=workflow, number=number)
        workflow = services.workflow_version_restore(workflow=workflow, version=version,
                                                     user=request.user)
        return Response(_detail(workflow))


class ExportDocumentSerializer(StrictSerializer):
    weft_export = serializers.IntegerField(min_value=1, max_value=services.EXPORT_FORMAT)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=5000)
    graph = GraphField()


class WorkflowExportApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=ExportDocumentSerializer)
    def get(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        response = Response(services.workflow_export(workflow=workflow))
        response["Content-Disposition"] = f'attachment; filename="workflow-{workflow.pk}.json"'
        return response


class WorkflowImportApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(request=ExportDocumentSerializer,
                   responses={201: WorkflowDetailOutputSerializer})
    def post(self, request):
        data = ExportDocumentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_import(user=request.user, document=data.validated_data)
        return Response(_detail(workflow), status=status.HTTP_201_CREATED)


# --- Pinned data of the draft (apps.workflows.pins) ---------------------------------------

class PinOutputSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    outputs = serializers.JSONField(help_text="The pinned output, by output port.")
    source_run = serializers.UUIDField(allow_null=True, help_text="The run it was taken "
                                       "from; null when pasted.")
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True,
                                       default=None)
    updated_at = serializers.DateTimeField()


class WorkflowPinListApi(APIView):
    """The draft's pinned nodes: test runs of the draft use their pins instead of running
    them; published versions never do."""

    permission_classes = [IsEditor]

    @extend_schema(responses=PinOutputSerializer(many=True))
    def get(self, request, workflow_id):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        found = pins.pin_list(workflow=workflow)
        return Response(draft_data_masked(
            PinOutputSerializer(found, many=True).data, workflow_id=workflow.pk,
            user=request.user, run_ids=[p.source_run for p in found]))


class WorkflowPinDetailApi(APIView):
    """Pin a node of the draft (its data pasted as JSON, or its output in a past run),
    or unpin it."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        output = serializers.JSONField(required=False, help_text="The value of the node's "
                                       "first output port.")
        outputs = serializers.DictField(required=False, help_text="Values by output port.")
        run = serializers.UUIDField(required=False, help_text="Take the node's output in "
                                    "this run of the workflow.")

        def validate(self, attrs):
            given = [name for name in ("output", "outputs", "run") if name in attrs]
            if len(given) != 1:
                raise serializers.ValidationError(
                    {"output": ["Give exactly one of output, outputs, run."]})
            return attrs

    @extend_schema(request=InputSerializer, responses=PinOutputSerializer)
    def put(self, request, workflow_id, node_id: str):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        pin = pins.pin_set(workflow=workflow, user=request.user, node_id=node_id,
                           outputs=given.get("outputs"), output=given.get("output"),
                           has_output="output" in given, run_id=given.get("run"))
        (body,) = draft_data_masked([PinOutputSerializer(pin).data], workflow_id=workflow.pk,
                                    user=request.user, run_ids=[pin.source_run])
        return Response(body)

    @extend_schema(responses={204: None})
    def delete(self, request, workflow_id, node_id: str):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        pins.pin_delete(workflow=workflow, user=request.user, node_id=node_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
