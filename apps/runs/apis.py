from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsAdmin, IsEditor, IsViewer
from apps.core.errors import Unprocessable
from apps.core.inbound import BodyRefused, read_body
from apps.core.pagination import keyset_next_link
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.privacy.selectors import draft_data_masked, map_items_masked, run_detail_masked
from apps.runs import (
    metrics,
    operations,
    replay,
    search,
    selectors,
    services,
    test_data,
    test_runs,
    test_webhooks,
    triggers,
)
from apps.runs.models import Run, RunMode, RunStatus
from apps.workflows.selectors import workflow_get


class RunOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workflow = serializers.UUIDField()
    version = serializers.IntegerField(
        allow_null=True, help_text="The published version it ran; null for a test run "
        "(it ran a test snapshot of the draft: GET /api/runs/<id>/graph/).")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    trigger = serializers.CharField()
    mode = serializers.ChoiceField(choices=RunMode.choices, help_text="production: a "
                                   "published version; test: a test run of the draft.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.JSONField(allow_null=True)


class NodeRunOutputSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    status = serializers.CharField()
    attempt = serializers.IntegerField()
    inputs = serializers.JSONField()
    outputs = serializers.JSONField(allow_null=True)
    error = serializers.JSONField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    items_url = serializers.CharField(
        allow_null=True, help_text="Where this node run's map items are read a page at a time "
        "(its output refers to them, or the map is still running, failed or was cancelled); "
        "null when there are none or they are in `outputs`.")
    items_count = serializers.IntegerField(
        allow_null=True, help_text="How many items `items_url` holds when `outputs` refers to "
        "them instead of listing them; null otherwise.")
    task_id = serializers.UUIDField(
        allow_null=True, help_text="The human task this node run waits on or waited on "
        "(open it at /inbox/<task_id>/); null for other nodes.")
    task_title = serializers.CharField(allow_null=True, help_text="That task's title.")


class RunDetailOutputSerializer(RunOutputSerializer):
    input = serializers.JSONField()
    trace_id = serializers.CharField()
    parent_run = serializers.UUIDField(allow_null=True)
    node_runs = NodeRunOutputSerializer(many=True)


def run_detail_seen_by(run_id, *, user) -> dict:
    """A run's detail as `user` may see it (personal data masked without the permission)."""
    run = selectors.run_get(run_id=run_id)
    return run_detail_masked(selectors.run_detail(run=run), run=run, user=user)


class WorkflowRunStartApi(APIView):
    """Start a run of the workflow's latest published version. With an Idempotency-Key
    header, the same key within 24 hours answers with the first run (201, the same body
    shape, `Idempotent-Replayed: true`) instead of starting another; the same key with
    a different input gets 422 naming it."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        input = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer,
                   responses={201: RunDetailOutputSerializer, **error_responses(423)},
                   parameters=[OpenApiParameter(
                       replay.IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER,
                       description="Up to 255 printable ASCII characters: a repeat of the "
                       "key within 24 hours answers with the run it started.")])
    def post(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run_id, run = triggers.run_start_keyed(
            workflow=workflow, input=data.validated_data["input"],
            key=request.headers.get(replay.IDEMPOTENCY_HEADER), user=request.user,
            token=getattr(request, "api_token", None),
            trace_id=triggers.trace_id_from(request.headers.get("traceparent", "")))
        headers = {"Idempotent-Replayed": "true"} if run is None else None
        return Response(run_detail_seen_by(run_id, user=request.user), status=status.HTTP_201_CREATED, headers=headers)


class RunFilterSerializer(serializers.Serializer):
    """The runs page's filters (also GET /api/runs/): each narrows the list."""

    workflow = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    trigger = serializers.CharField(required=False, max_length=20)
    version = serializers.IntegerField(required=False, min_value=1)
    started_by = serializers.CharField(
        required=False, max_length=160,
        help_text="A user name, or token:<name> for runs started with that API token.")
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    mode = serializers.ChoiceField(choices=RunMode.choices, required=False,
                                   help_text="test: test runs of drafts; production: the rest.")
    q = serializers.CharField(
        required=False, max_length=search.SEARCH_MAX, trim_whitespace=True,
        help_text="A value inside the run's input or result (an order id, an e-mail), "
                  "matched whole or as a word, ignoring case.")

    def validate(self, attrs):
        after, before = attrs.get("created_after"), attrs.get("created_before")
        if after and before and after >= before:
            raise serializers.ValidationError(
                {"created_before": ["Must be later than created_after."]})
        return attrs


class RunRowOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    short_id = serializers.CharField(help_text="The id's first 8 characters.")
    workflow = serializers.UUIDField()
    workflow_name = serializers.CharField()
    workflow_deleted = serializers.BooleanField(
        help_text="Its workflow was deleted: the run stays readable until retention deletes "
        "it, and may be cancelled, but not retried or debugged.")
    version = serializers.IntegerField(allow_null=True,
                                       help_text="The published version; null: a test run of "
                                                 "the draft.")
    mode = serializers.ChoiceField(choices=RunMode.choices)
    status = serializers.ChoiceField(choices=RunStatus.choices)
    trigger = serializers.CharField()
    started_by = serializers.CharField(help_text="Who or what started it: a user, a "
                                       "token, or the trigger.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.JSONField(allow_null=True)


class RunPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page.")
    next_cursor = serializers.CharField(allow_null=True, help_text="Its ?cursor=.")
    results = RunRowOutputSerializer(many=True)


class RunListApi(APIView):
    """Runs across workflows (not the child runs of sub-workflows and maps), newest
    first, in keyset pages: follow `next`, or pass `cursor`."""

    permission_classes = [IsViewer]

    class FilterSerializer(RunFilterSerializer):
        cursor = serializers.CharField(required=False, max_length=200)
        limit = serializers.IntegerField(required=False, min_value=1,
                                         max_value=search.PAGE_MAX, default=search.PAGE_SIZE)

    @extend_schema(operation_id="runs_list", parameters=[FilterSerializer],
                   responses=RunPageOutputSerializer)
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        cursor, limit = data.pop("cursor", None), data.pop("limit")
        try:
            page = search.run_page(search.run_filter(**data, user=request.user), cursor=cursor,
                                   limit=limit)
        except search.BadCursor as exc:
            raise Unprocessable(str(exc), errors={"cursor": [str(exc)]}) from None
        next_url = None
        if page.next_cursor:
            params = request.query_params.copy()
            params["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(request.path) + "?" + params.urlencode()
        return Response(RunPageOutputSerializer({
            "next": next_url, "next_cursor": page.next_cursor,
            "results": search.run_rows(page.rows, user=request.user)}).data)


class RunDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=RunDetailOutputSerializer)
    def get(self, request, run_id):
        return Response(run_detail_seen_by(run_id, user=request.user))


class MapItemOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's place in the map's list, from 0.")
    input = serializers.JSONField(allow_null=True)
    output = serializers.JSONField(allow_null=True, help_text="The item's result.")
    error = serializers.JSONField(allow_null=True, help_text="Why the item failed.")
    done = serializers.BooleanField()
    child_run = serializers.UUIDField(allow_null=True, help_text="The run of this item.")


class MapItemPageOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Items in all (failed ones with ?failed=true).")
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    next_after = serializers.IntegerField(
        allow_null=True, help_text="The cursor of the next page (its ?after=).")
    results = MapItemOutputSerializer(many=True)


class RunNodeItemsApi(APIView):
    """The items of a map node (its latest attempt) in index order, keyset-paginated:
    follow `next`, or pass `after` = the last index read."""

    permission_classes = [IsViewer]

    class FilterSerializer(serializers.Serializer):
        after = serializers.IntegerField(
            required=False, min_value=0, help_text="Items after this index (the cursor).")
        limit = serializers.IntegerField(
            required=False, min_value=1, max_value=selectors.MAP_ITEMS_MAX_LIMIT,
            default=selectors.MAP_ITEMS_LIMIT, help_text="Items per page.")
        failed = serializers.BooleanField(
            required=False, default=False, help_text="true: only the items that failed.")

    @extend_schema(operation_id="runs_nodes_items_list", parameters=[FilterSerializer],
                   responses=MapItemPageOutputSerializer)
    def get(self, request, run_id, node_id):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = selectors.map_item_page(run_id=run_id, node_id=node_id,
                                       **filters.validated_data)
        run = Run.objects.only("pk", "workflow_id", "input").get(pk=run_id)
        rows = map_items_masked(page.rows, run=run, user=request.user)
        return Response({"count": page.count, "next": keyset_next_link(request, page),
                         "next_after": page.next_after, "results": rows})


class RunCancelApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(request=None,
                   responses={200: RunDetailOutputSerializer, **error_responses(409)})
    def post(self, request, run_id):
        run = selectors.run_get(run_id=run_id)
        operations.run_operate(run=run, user=request.user,
                               operation=operations.RunOperation.CANCEL)
        return Response(run_detail_seen_by(run_id, user=request.user))


class RunRetryApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(request=None,
                   responses={200: RunDetailOutputSerializer, **error_responses(409, 423)})
    def post(self, request, run_id):
        run = selectors.run_get(run_id=run_id)
        operations.run_operate(run=run, user=request.user,
                               operation=operations.RunOperation.RETRY)
        return Response(run_detail_seen_by(run_id, user=request.user))


class WorkflowSwitchOutputSerializer(serializers.Serializer):
    workflow = serializers.UUIDField()
    reason = serializers.CharField(allow_blank=True)
    changed_at = serializers.DateTimeField()
    changed_by = serializers.CharField(allow_null=True)


class EngineSwitchOutputSerializer(serializers.Serializer):
    paused = serializers.BooleanField(help_text="Every workflow is paused.")
    reason = serializers.CharField(allow_blank=True)
    changed_at = serializers.DateTimeField(required=False, help_text="When all were paused.")
    changed_by = serializers.CharField(required=False, allow_null=True)
    workflows = WorkflowSwitchOutputSerializer(many=True, help_text="Workflows paused one "
                                               "by one.")


class EngineSwitchApi(APIView):
    """The kill switch (admins): pause every workflow or one; resume lets paused runs go on."""

    permission_classes = [IsAdmin]

    class InputSerializer(StrictSerializer):
        paused = serializers.BooleanField()
        workflow = serializers.UUIDField(required=False, allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=500)

    @extend_schema(responses=EngineSwitchOutputSerializer)
    def get(self, request):
        return Response(selectors.engine_switches())

    @extend_schema(request=InputSerializer,
                   responses={200: EngineSwitchOutputSerializer, **error_responses(404)})
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow_id = data.validated_data.get("workflow")
        workflow = workflow_get(workflow_id=workflow_id) if workflow_id else None
        if data.validated_data["paused"]:
            services.engine_pause(workflow=workflow, user=request.user,
                                  reason=data.validated_data["reason"])
        else:
            services.engine_resume(workflow=workflow, user=request.user)
        return Response(selectors.engine_switches())


class WorkflowRuntimeApi(APIView):
    """A workflow's engine settings: webhook address and signing key, whether the legacy
    (body-only, replayable) webhook signature is still accepted, concurrency limit, run
    timeout. Editors only: the address and key are secrets."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        max_concurrency = serializers.IntegerField(required=False, allow_null=True,
                                                   min_value=1, max_value=10000)
        run_timeout_s = serializers.IntegerField(required=False, allow_null=True,
                                                 min_value=1, max_value=30 * 86400)
        rotate_secrets = serializers.BooleanField(
            required=False, default=False, help_text="New webhook address and signing key.")
        rotate_signing_key = serializers.BooleanField(
            required=False, default=False, help_text="A new signing key; the address stays.")
        retention_days = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=36500,
            help_text="Days after which finished runs are deleted; null: the default.")
        failed_retention_days = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=36500,
            help_text="The same for failed runs (keep them longer); null: the default.")
        webhook_legacy_signature = serializers.BooleanField(
            required=False, help_text="Also accept the old signature of the body alone "
            "(replayable): on for workflows created before timestamped signatures.")

    @staticmethod
    def _body(request, runtime) -> dict:
        return {"webhook_url": request.build_absolute_uri(f"/hooks/{runtime.webhook_secret}/"),
                "test_webhook_url": request.build_absolute_uri(
                    f"/hooks-test/{runtime.webhook_secret}/"),
                "listening_until": runtime.test_listen_until,
                "test_run_id": str(runtime.test_run_id) if runtime.test_run_id else None,
                "signing_key": runtime.signing_key,
                "webhook_legacy_signature": runtime.workflow.webhook_legacy_signature,
                "max_concurrency": runtime.max_concurrency,
                "run_timeout_s": runtime.run_timeout_s,
                "retention_days": runtime.retention_days,
                "failed_retention_days": runtime.failed_retention_days}

    class OutputSerializer(serializers.Serializer):
        webhook_url = serializers.URLField(help_text="POST JSON here to start a run.")
        test_webhook_url = serializers.URLField(
            help_text="While the editor listens: POST here to start a test run of the draft.")
        listening_until = serializers.DateTimeField(
            allow_null=True, help_text="Until when the test URL takes one request.")
        test_run_id = serializers.UUIDField(
            allow_null=True, help_text="The test run the last request to the test URL started.")
        signing_key = serializers.CharField(help_text="The webhook's HMAC-SHA256 key.")
        max_concurrency = serializers.IntegerField(allow_null=True)
        run_timeout_s = serializers.IntegerField(allow_null=True)
        retention_days = serializers.IntegerField(allow_null=True)
        failed_retention_days = serializers.IntegerField(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        return Response(self._body(request, triggers.workflow_runtime_get(workflow=workflow)))

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def patch(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        runtime = triggers.workflow_runtime_update(workflow=workflow, user=request.user,
                                                   **data.validated_data)
        return Response(self._body(request, runtime))


# --- Test runs of the draft (apps.runs.test_runs) -----------------------------------------

class WorkflowTestRunApi(APIView):
    """Start a test run of the saved draft (not a published version): all of it, or with
    `node` only that node and the nodes before it ("Run this node": nodes that have data
    from an earlier test run, or a pin, give it instead of running; `rerun_upstream`:
    "Run up to here", they run again). Without `input`, the manual trigger's sample input.
    A draft the run would fail on gets 400 naming each problem."""

    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        input = serializers.DictField(required=False, help_text="The run's input; "
                                      "default: the manual trigger's sample input.")
        node = serializers.CharField(required=False, max_length=64,
                                     help_text="Run only this node and the nodes before it.")
        rerun_upstream = serializers.BooleanField(
            required=False, default=False, help_text="With `node`: run the nodes before it "
            "again instead of using their latest test data.")

    @extend_schema(request=InputSerializer,
                   responses={201: RunDetailOutputSerializer, **error_responses(423)})
    def post(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = test_runs.draft_run_start(
            workflow=workflow, user=request.user, input=data.validated_data.get("input"),
            node_id=data.validated_data.get("node"),
            rerun_upstream=data.validated_data["rerun_upstream"],
            trace_id=triggers.trace_id_from(request.headers.get("traceparent", "")))
        return Response(run_detail_seen_by(run.pk, user=request.user), status=status.HTTP_201_CREATED)


class NodeTestDataOutputSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    run_id = serializers.UUIDField(help_text="The test run it comes from.")
    finished_at = serializers.DateTimeField(allow_null=True)
    inputs = serializers.JSONField(help_text="What arrived, by input port.")
    outputs = serializers.JSONField(help_text="What it gave, by output port.")
    stale = serializers.BooleanField(help_text="The draft changed since, in this node or "
                                     "a node before it.")


class WorkflowTestDataApi(APIView):
    """What each node of the draft last gave in a test run (its latest success): the
    input and output panel and expression autocomplete read it."""

    permission_classes = [IsEditor]

    class OutputSerializer(serializers.Serializer):
        nodes = NodeTestDataOutputSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        found = test_data.latest_outputs(workflow=workflow).values()
        return Response({"nodes": draft_data_masked([
            {"node_id": d.node_id, "run_id": d.run_id, "finished_at": d.finished_at,
             "inputs": d.inputs, "outputs": d.outputs, "stale": d.stale}
            for d in found], workflow_id=workflow.pk, user=request.user,
            run_ids=[d.run_id for d in found])})


class RunGraphApi(APIView):
    """The graph a run ran: its published version's, or its test snapshot's (with the
    nodes that gave pinned data instead of running)."""

    permission_classes = [IsViewer]

    class OutputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=RunMode.choices)
        version = serializers.IntegerField(allow_null=True)
        graph = serializers.JSONField()
        pinned = serializers.ListField(child=serializers.CharField(),
                                       help_text="Nodes that gave pinned data.")

    @extend_schema(responses=OutputSerializer)
    def get(self, request, run_id):
        return Response(selectors.run_graph(run_id=run_id))


class WorkflowWebhookListenApi(APIView):
    """Listen on the webhook's test URL (POST: for 2 minutes and one request, which
    starts a test run of the draft as you) or stop listening (DELETE). Answers with the
    workflow's runtime body: poll it for `test_run_id`."""

    permission_classes = [IsEditor]

    @extend_schema(request=None, responses={200: WorkflowRuntimeApi.OutputSerializer})
    def post(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        runtime = test_webhooks.webhook_listen(workflow=workflow, user=request.user)
        return Response(WorkflowRuntimeApi._body(request, runtime))

    @extend_schema(request=None, responses={200: WorkflowRuntimeApi.OutputSerializer})
    def delete(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        runtime = test_webhooks.webhook_listen_stop(workflow=workflow)
        return Response(WorkflowRuntimeApi._body(request, runtime))


# --- Outside /api: the webhook receiver and the metrics endpoint -------------------------

def _error(status_code: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, **extra}, status=status_code)


def _webhook_view(request, handle) -> JsonResponse:
    """Read the body as the ASGI front does (apps.runs.webhook_front), then answer what
    `handle(body=, headers=)` says: status, JSON body, headers."""
    try:
        body = read_body(request.read, limit=settings.WEFT_WEBHOOK_MAX_BYTES,
                         declared=request.headers.get("Content-Length"))
    except BodyRefused as refused:
        return _error(refused.status, refused.code, refused.detail)
    status_code, payload, headers = handle(
        body=body, headers={k.lower(): v for k, v in request.headers.items()})
    response = JsonResponse(payload, status=status_code, safe=False)
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
@require_POST
def webhook(request, secret: str):
    """POST JSON to /hooks/<secret>/: 202 with the run id, or the respond node's answer."""
    return _webhook_view(request, functools.partial(triggers.webhook_handle, secret=secret))


@csrf_exempt
@require_POST
def webhook_test(request, secret: str):
    """POST JSON to /hooks-test/<secret>/ while the editor listens: a test run of the draft."""
    return _webhook_view(request, functools.partial(test_webhooks.webhook_test_handle,
                                                    secret=secret))


def metrics_view(request):
    refusal = metrics.access_refusal(request)
    if refusal is not None:
        return HttpResponse(status=refusal)
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
