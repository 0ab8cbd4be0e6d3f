"""The reviewer inbox's API: tasks (tabs, one task, claim, release, assign, decide) and
teams. Views validate input, call one selector or service and shape the output."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsAdmin, IsViewer
from apps.accounts.roles import ADMIN, has_role
from apps.approvals import selectors, services
from apps.approvals.models import Decision
from apps.core.errors import NotFound
from apps.core.pagination import Pagination
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.privacy.selectors import task_masked, tasks_masked
from apps.runs import refs

User = get_user_model()


class ReviewerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TeamRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class WorkflowRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AssigneesSerializer(serializers.Serializer):
    users = ReviewerRefSerializer(many=True)
    teams = TeamRefSerializer(many=True)


class TaskSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    workflow = WorkflowRefSerializer()
    run_id = serializers.UUIDField()
    node_id = serializers.CharField()
    status = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    claimed_by = ReviewerRefSerializer(allow_null=True)
    assignees = serializers.SerializerMethodField()
    is_test = serializers.BooleanField()

    def get_overdue(self, task) -> bool:
        from django.utils import timezone

        return bool(task.status == "open" and task.due_at and task.due_at < timezone.now())

    @extend_schema_field(AssigneesSerializer)
    def get_assignees(self, task) -> dict:
        return {"users": [{"id": u.pk, "username": u.username}
                          for u in task.assignee_users.all()],
                "teams": [{"id": str(t.pk), "name": t.name} for t in task.assignee_teams.all()]}


class VoteSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username")
    decision = serializers.CharField()
    comment = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")


class HistorySerializer(serializers.Serializer):
    kind = serializers.CharField()
    actor = serializers.SerializerMethodField()
    data = serializers.JSONField()
    at = serializers.DateTimeField()

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor else None


class RunDataField(serializers.JSONField):
    """Data taken from a run, as the reviewer reads it (apps.runs.refs: unescaped)."""

    def to_representation(self, value):
        return super().to_representation(refs.unescape(value))


class TaskDetailSerializer(TaskSummarySerializer):
    instructions = serializers.CharField()
    context = RunDataField()
    form_schema = serializers.JSONField(allow_null=True)
    form_values = RunDataField()
    mode = serializers.CharField()
    quorum_n = serializers.IntegerField()
    votes = VoteSerializer(many=True)
    decision = serializers.CharField()
    decided_by = ReviewerRefSerializer(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()
    follow_up_at = serializers.DateTimeField(allow_null=True)
    can = serializers.SerializerMethodField()
    history = HistorySerializer(many=True)
    run_url = serializers.SerializerMethodField()

    def get_can(self, task) -> dict[str, bool]:
        return selectors.task_permissions(task=task, user=self.context["user"])

    def get_run_url(self, task) -> str:
        return f"/editor/{task.workflow_id}/?run={task.run_id}"


def _detail(request, task_id) -> dict:
    task = selectors.task_get(user=request.user, task_id=task_id)
    return task_masked(TaskDetailSerializer(task, context={"user": request.user}).data,
                       task=task, user=request.user)


class TaskListApi(APIView):
    permission_classes = [IsViewer]
    pagination_class = Pagination

    class FilterSerializer(StrictSerializer):
        tab = serializers.ChoiceField(choices=selectors.TABS, default="mine")
        workflow = serializers.UUIDField(required=False)
        team = serializers.UUIDField(required=False)
        search = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                       default="")
        ordering = serializers.ChoiceField(choices=list(selectors.ORDERINGS),
                                           default="due_at")
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema(
        operation_id="tasks_list",
        parameters=[OpenApiParameter(name, str) for name in
                    ("tab", "workflow", "team", "search", "ordering")]
        + [OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: inline_serializer("TaskPage", {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": TaskSummarySerializer(many=True),
            "counts": serializers.DictField(child=serializers.IntegerField()),
        }), **error_responses(404)})  # a page past the last
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data.pop("page", None)
        data.pop("page_size", None)
        if data["tab"] == "all" and not has_role(request.user, ADMIN):
            data["tab"] = "mine"  # "all" is the admins' tab
        qs = selectors.task_list(user=request.user, **data)
        counts = selectors.tab_counts(user=request.user)
        unfiltered = not (data.get("workflow") or data.get("team") or data["search"])
        paginator = Pagination()
        page = paginator.paginate_queryset(
            qs, request, view=self, count=counts.get(data["tab"]) if unfiltered else None)
        response = paginator.get_paginated_response(tasks_masked(
            TaskSummarySerializer(page, many=True).data, tasks=list(page), user=request.user))
        response.data["counts"] = counts
        return response


class TaskDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=TaskDetailSerializer)
    def get(self, request, task_id):
        return Response(_detail(request, task_id))


class _TaskActionApi(APIView):
    permission_classes = [IsViewer]

    def _task(self, request, task_id):
        return selectors.task_get(user=request.user, task_id=task_id)


class TaskClaimApi(_TaskActionApi):
    @extend_schema(request=None, responses={200: TaskDetailSerializer, **error_responses(409)})
    def post(self, request, task_id):
        services.task_claim(task=self._task(request, task_id), user=request.user)
        return Response(_detail(request, task_id))


class TaskReleaseApi(_TaskActionApi):
    @extend_schema(request=None, responses={200: TaskDetailSerializer, **error_responses(409)})
    def post(self, request, task_id):
        services.task_release(task=self._task(request, task_id), user=request.user)
        return Response(_detail(request, task_id))


class TaskAssignApi(_TaskActionApi):
    class InputSerializer(StrictSerializer):
        users = serializers.ListField(child=serializers.IntegerField(), required=False,
                                      default=list, max_length=100)
        teams = serializers.ListField(child=serializers.UUIDField(), required=False,
                                      default=list, max_length=20)

    @extend_schema(request=InputSerializer,
                   responses={200: TaskDetailSerializer, **error_responses(403, 409)})
    def post(self, request, task_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_assign(task=self._task(request, task_id), user=request.user,
                             **data.validated_data)
        return Response(_detail(request, task_id))


class TaskDecideApi(_TaskActionApi):
    class InputSerializer(StrictSerializer):
        decision = serializers.ChoiceField(choices=Decision.values)
        comment = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=5000)
        form = serializers.DictField(required=False, default=dict)

        def validate(self, attrs):
            if attrs["decision"] == Decision.REJECTED and not attrs["comment"].strip():
                raise serializers.ValidationError(
                    {"comment": ["A rejection needs a comment."]})
            return attrs

    @extend_schema(request=InputSerializer,
                   responses={200: TaskDetailSerializer, **error_responses(403, 409)})
    def post(self, request, task_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_decide(task=self._task(request, task_id), user=request.user,
                             **data.validated_data)
        return Response(_detail(request, task_id))


# --- Teams ---------------------------------------------------------------------------------

class TeamSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    lead = ReviewerRefSerializer(allow_null=True)
    members = ReviewerRefSerializer(many=True)
    webhook_url = serializers.CharField()
    created_at = serializers.DateTimeField()


def _users(ids, field: str) -> list:
    found = list(User.objects.filter(pk__in=ids, is_active=True))
    missing = sorted(set(ids) - {u.pk for u in found})
    if missing:
        raise serializers.ValidationError({field: [f"Unknown or inactive users: {missing}."]})
    return found


class TeamInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    lead = serializers.IntegerField(required=False, allow_null=True)
    members = serializers.ListField(child=serializers.IntegerField(), required=False,
                                    max_length=5000)
    webhook_url = serializers.URLField(required=False, allow_blank=True, max_length=2000)

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A team needs a name.")
        return value

    def validate_webhook_url(self, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise serializers.ValidationError("Use an http(s) URL.")
        return value

    def validate(self, attrs):
        if attrs.get("lead") is not None:
            attrs["lead"] = _users([attrs["lead"]], "lead")[0]
        if "members" in attrs:
            attrs["members"] = _users(attrs["members"], "members")
        return attrs


class TeamListApi(APIView):
    pagination_class = Pagination
    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "POST" else [IsViewer()]

    @extend_schema(responses=TeamSerializer(many=True))
    def get(self, request):
        from apps.core.pagination import paginated_response

        return paginated_response(request=request, view=self, queryset=selectors.team_list(),
                                  serializer_class=TeamSerializer)

    @extend_schema(request=TeamInputSerializer,
                   responses={201: TeamSerializer, **error_responses(409)})
    def post(self, request):
        data = TeamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(user=request.user, **data.validated_data)
        return Response(TeamSerializer(selectors.team_get(team_id=team.pk)).data,
                        status=status.HTTP_201_CREATED)


class TeamDetailApi(APIView):
    def get_permissions(self):
        return [IsViewer()] if self.request.method == "GET" else [IsAdmin()]

    @extend_schema(responses=TeamSerializer)
    def get(self, request, team_id):
        return Response(TeamSerializer(selectors.team_get(team_id=team_id)).data)

    @extend_schema(request=TeamInputSerializer(partial=True),
                   responses={200: TeamSerializer, **error_responses(409)})
    def patch(self, request, team_id):
        team = selectors.team_get(team_id=team_id)
        data = TeamInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.team_update(team=team, user=request.user, **data.validated_data)
        return Response(TeamSerializer(selectors.team_get(team_id=team_id)).data)

    @extend_schema(responses={204: None, **error_responses(409)})
    def delete(self, request, team_id):
        services.team_delete(team=selectors.team_get(team_id=team_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMemberListApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(StrictSerializer):
        user = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: TeamSerializer})
    def post(self, request, team_id):
        team = selectors.team_get(team_id=team_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = _users([data.validated_data["user"]], "user")[0]
        services.team_member_add(team=team, user=request.user, member=member)
        return Response(TeamSerializer(selectors.team_get(team_id=team_id)).data,
                        status=status.HTTP_201_CREATED)


class TeamMemberDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: TeamSerializer, **error_responses(409)})
    def delete(self, request, team_id, user_id: int):
        team = selectors.team_get(team_id=team_id)
        member = team.members.filter(pk=user_id).first()
        if member is None:
            raise NotFound(f"User {user_id} is not a member of {team.name}.", user=user_id)
        services.team_member_remove(team=team, user=request.user, member=member)
        return Response(TeamSerializer(selectors.team_get(team_id=team_id)).data)


class NotificationSettingsApi(APIView):
    """The signed-in user's own notification settings."""

    permission_classes = [IsViewer]

    class NotificationSettingsSerializer(StrictSerializer):
        email_enabled = serializers.BooleanField()

    @extend_schema(responses=NotificationSettingsSerializer)
    def get(self, request):
        found = getattr(request.user, "notification_settings", None)
        return Response({"email_enabled": found.email_enabled if found else True})

    @extend_schema(request=NotificationSettingsSerializer, responses=NotificationSettingsSerializer)
    def put(self, request):
        data = self.NotificationSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = services.notification_settings_set(user=request.user, **data.validated_data)
        return Response({"email_enabled": found.email_enabled})

