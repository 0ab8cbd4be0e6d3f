"""Live inbox events: a task that appears, changes or leaves is sent, after commit, to
the Channels groups of everyone who may see it (its users, its teams' members, the
admins). Each event carries `seq`, the id of the task event that caused it, so a client
drops events older than its snapshot."""

from __future__ import annotations

from typing import Any

from apps.runs.events import publish_group

ADMINS_GROUP = "inbox.all"


def user_group(user_id: int) -> str:
    return f"inbox.user.{user_id}"


def team_group(team_id: Any) -> str:
    return f"inbox.team.{team_id}"


def task_groups(task) -> set[str]:
    groups = {ADMINS_GROUP}
    groups |= {user_group(pk) for pk in task.assignee_users.values_list("pk", flat=True)}
    groups |= {team_group(pk) for pk in task.assignee_teams.values_list("pk", flat=True)}
    if task.claimed_by_id:
        groups.add(user_group(task.claimed_by_id))
    if task.decided_by_id:
        groups.add(user_group(task.decided_by_id))
    return groups


def task_changed(*, task_id, seq: int, groups: set[str]) -> None:
    """Tell every group the task changed; each consumer reads what its user may see."""
    message = {"type": "task.changed", "task_id": str(task_id), "seq": seq}
    for group in sorted(groups):
        publish_group(group, message)
