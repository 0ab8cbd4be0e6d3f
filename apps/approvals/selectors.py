"""What reviewers read: the inbox's tabs, with their counts, and one task.

Visibility is one rule: the task's named users, the members of its teams, and admins;
everyone else is told the task does not exist. The tab queries start from the
assignment tables' user and team indexes (`id IN (...)`, no joins that need DISTINCT),
so a reviewer's first page reads their few thousand tasks, not every open one
(bench/inbox.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Now

from apps.accounts.roles import ADMIN, has_role
from apps.approvals.models import Task, TaskStatus, Team, Vote
from apps.core.errors import NotFound

TABS = ("mine", "team", "overdue", "done", "all")
ORDERINGS = {
    "due_at": [F("due_at").asc(nulls_last=True), "created_at", "id"],
    "-due_at": [F("due_at").desc(nulls_last=True), "-created_at", "id"],
    "created_at": ["created_at", "id"],
    "-created_at": ["-created_at", "id"],
}


def _named(user):
    """Ids of the tasks that name `user` (the assignment table's user index)."""
    return Task.assignee_users.through.objects.filter(user_id=user.pk).values("task_id")


def _via_team(user):
    """Ids of the tasks assigned to a team of `user`."""
    return Task.assignee_teams.through.objects.filter(
        team_id__in=Team.members.through.objects.filter(user_id=user.pk).values("team_id")
    ).values("task_id")


def visible_tasks(*, user) -> QuerySet[Task]:
    if has_role(user, ADMIN):
        return Task.objects.all()
    return Task.objects.filter(pk__in=_named(user).union(_via_team(user)))


def _tab(qs: QuerySet[Task], tab: str, user) -> QuerySet[Task]:
    open_ = qs.filter(status=TaskStatus.OPEN)
    if tab == "mine":  # (claims are only ever taken by those who may see the task)
        claimed = Task.objects.filter(claimed_by=user).values("pk")
        return Task.objects.filter(status=TaskStatus.OPEN,
                                   pk__in=_named(user).union(claimed)).filter(
            Q(claimed_by=user) | Q(claimed_by__isnull=True))
    if tab == "team":
        return Task.objects.filter(status=TaskStatus.OPEN, claimed_by__isnull=True,
                                   pk__in=_via_team(user))
    if tab == "overdue":
        return open_.filter(Q(due_at__lt=Now()) | Q(follow_up_at__lt=Now()))
    if tab == "done":
        voted = Vote.objects.filter(user_id=user.pk).values("task_id")
        return qs.exclude(status=TaskStatus.OPEN).filter(Q(decided_by=user) | Q(pk__in=voted))
    return qs


def task_list(*, user, tab: str = "mine", workflow: str | None = None,
              team: str | None = None, search: str = "", ordering: str = "due_at"
              ) -> QuerySet[Task]:
    qs = _tab(visible_tasks(user=user), tab, user)
    if workflow:
        qs = qs.filter(workflow_id=workflow)
    if team:
        qs = qs.filter(pk__in=Task.assignee_teams.through.objects.filter(
            team_id=team).values("task_id"))
    if search:
        qs = qs.filter(search_text__contains=search.lower())
    return (qs.order_by(*ORDERINGS.get(ordering, ORDERINGS["due_at"]))
            .select_related("workflow", "claimed_by")
            .prefetch_related("assignee_users", "assignee_teams"))


def tab_counts(*, user) -> dict[str, int]:
    """The open tabs' counts in one pass over the user's open tasks."""
    mine = Q(claimed_by=user) | Q(claimed_by__isnull=True, pk__in=_named(user))
    team = Q(claimed_by__isnull=True, pk__in=_via_team(user))
    overdue = Q(due_at__lt=Now()) | Q(follow_up_at__lt=Now())
    return visible_tasks(user=user).filter(status=TaskStatus.OPEN).aggregate(
        mine=Count("pk", filter=mine), team=Count("pk", filter=team),
        overdue=Count("pk", filter=overdue))


def task_get(*, user, task_id) -> Task:
    task = (visible_tasks(user=user).filter(pk=task_id)
            .select_related("workflow", "claimed_by", "decided_by", "run")
            .prefetch_related("assignee_users", "assignee_teams", "votes__user",
                              "history__actor").first())
    if task is None:
        raise NotFound("No such task, or it is not yours to see.", task=str(task_id))
    return task


def task_permissions(*, task: Task, user) -> dict[str, bool]:
    from apps.approvals.services import is_lead

    is_open = task.status == TaskStatus.OPEN
    voted = any(v.user_id == user.pk for v in task.votes.all())
    self_blocked = task.forbid_self_approval and not task.is_test and \
        task.started_by_id == user.pk
    return {
        "claim": is_open and task.claimed_by_id is None,
        "release": is_open and task.claimed_by_id is not None and (
            task.claimed_by_id == user.pk or is_lead(task=task, user=user)),
        "assign": is_open and is_lead(task=task, user=user),
        "decide": is_open and not voted and not self_blocked,
    }


def team_list() -> QuerySet[Team]:
    return Team.objects.select_related("lead").prefetch_related("members").order_by("name")


def team_get(*, team_id) -> Team:
    team = team_list().filter(pk=team_id).first()
    if team is None:
        raise NotFound("No such team.", team=str(team_id))
    return team


def teams_of(*, user) -> list[Any]:
    return list(user.review_teams.values_list("pk", flat=True))


def assignee_problems(*, users: list[str], teams: list[str], overdue=()) -> list[tuple[str, str]]:
    """(field, message) for each reviewer or team an approval node names that does not
    exist, or a team without members."""
    from django.contrib.auth import get_user_model

    problems = []
    known = set(get_user_model().objects.filter(username__in=users, is_active=True)
                .values_list("username", flat=True))
    for name in users:
        if name not in known:
            problems.append(("config.assignee_users",
                             f"there is no active user {name!r} to review"))
    named = list(teams) + [step.team for step in overdue if step.action == "escalate"]
    found = {t.name: t for t in Team.objects.filter(name__in=named)}
    for name in dict.fromkeys(named):
        field = "config.assignee_teams" if name in teams else "config.when_overdue"
        if name not in found:
            problems.append((field, f"there is no team {name!r}"))
        elif not found[name].members.exists():
            problems.append((field, f"team {name!r} has no members yet"))
    return problems
