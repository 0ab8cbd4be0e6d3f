"""Acting on runs through the API: retry or cancel several at once, and debug a past run
in the editor (a test run of the draft with its input). The pages call the same services
(apps.runs.operations, apps.runs.debug)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsEditor
from apps.core.errors import Unprocessable
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.runs import debug, operations, selectors
from apps.runs.apis import RunDetailOutputSerializer, run_detail_seen_by
from apps.runs.models import Run


class RunRefusedOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    detail = serializers.CharField(help_text="Why this run was left as it is.")


class RunBulkApi(APIView):
    """Retry or cancel several runs at once, each on its own, oldest first: the answer
    lists the runs done and those refused, each with the reason (only a failed run is
    retried, only an active one cancelled; a run of a deleted workflow is not retried; a
    test run of the draft is retried or cancelled only by the builder who started it or
    an admin). Ids that are no run's are refused (400 naming `runs`) before anything
    changes."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        action = serializers.ChoiceField(choices=operations.RunOperation.choices)
        runs = serializers.ListField(
            child=serializers.UUIDField(), min_length=1, max_length=operations.BULK_MAX,
            help_text=f"The runs' ids, at most {operations.BULK_MAX}.")

    class OutputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=operations.RunOperation.choices)
        done = serializers.ListField(child=serializers.UUIDField(),
                                     help_text="The runs retried or cancelled.")
        refused = serializers.ListField(help_text="The runs left as they were, with why.",
                                        child=RunRefusedOutputSerializer())

    @extend_schema(operation_id="runs_bulk_create", request=InputSerializer,
                   responses=OutputSerializer)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(data.validated_data["runs"]))
        known = set(Run.objects.filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [str(pk) for pk in ids if pk not in known]
        if unknown:
            message = f"No run has the id {unknown[0]}" + (
                f" (nor {len(unknown) - 1} more of them)." if len(unknown) > 1 else ".")
            raise Unprocessable(message, code="run_not_found", errors={"runs": [message]})
        result = operations.runs_operate(
            run_ids=ids, user=request.user,
            operation=operations.RunOperation(data.validated_data["action"]))
        return Response({"action": result.operation.value, "done": result.done,
                         "refused": [{"id": pk, "detail": why}
                                     for pk, why in result.refused.items()]})


class RunDebugApi(APIView):
    """Debug this run in the editor: start a test run of its workflow's current draft with
    the run's trigger input; with `pin`, first pin each node's output in this run in the
    draft (nodes that cannot be pinned are listed in `not_pinned`, with why). A run of a
    deleted workflow is refused (409); a draft the run would fail on gets 400 naming each
    problem. Open the result at /editor/<workflow>/?run=<run.id>."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        pin = serializers.BooleanField(required=False, default=False,
                                       help_text="Pin each node's output in this run first.")

    class OutputSerializer(serializers.Serializer):
        run = RunDetailOutputSerializer(help_text="The test run it started.")
        editor_url = serializers.CharField(help_text="The editor, showing that test run.")
        pinned = serializers.ListField(child=serializers.CharField(),
                                       help_text="Nodes whose output in this run was pinned.")
        not_pinned = serializers.DictField(child=serializers.CharField(),
                                           help_text="Node id -> why it was not pinned.")

    @extend_schema(request=InputSerializer,
                   responses={201: OutputSerializer, **error_responses(409, 423)})
    def post(self, request, run_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = selectors.run_get(run_id=run_id)
        started = debug.run_debug_start(run=run, user=request.user,
                                        pin_outputs=data.validated_data["pin"])
        return Response({
            "run": run_detail_seen_by(started.run.pk, user=request.user),  # masked as any run is
            "editor_url": f"/editor/{run.workflow_id}/?run={started.run.pk}",
            "pinned": started.pinned, "not_pinned": started.not_pinned,
        }, status=status.HTTP_201_CREATED)
