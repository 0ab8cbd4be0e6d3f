"""The inbox's live view: authenticate, join the groups of the user (their own, their
teams', the admins'), send a snapshot sequence number, then forward each task change
as the task's summary (read for this user: one they may no longer see is "removed")."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.roles import ADMIN, VIEWER, has_role
from apps.approvals import events, selectors
from apps.approvals.models import TaskEvent


@database_sync_to_async
def _groups(user) -> list[str] | None:
    if not has_role(user, VIEWER):
        return None
    groups = [events.user_group(user.pk)]
    groups += [events.team_group(pk) for pk in selectors.teams_of(user=user)]
    if has_role(user, ADMIN):
        groups.append(events.ADMINS_GROUP)
    return groups


@database_sync_to_async
def _snapshot_seq() -> int:
    last = TaskEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last or 0


@database_sync_to_async
def _summary(user, task_id) -> dict | None:
    from apps.approvals.apis import TaskSummarySerializer
    from apps.core.errors import NotFound

    try:
        task = selectors.task_get(user=user, task_id=task_id)
    except NotFound:
        return None
    return TaskSummarySerializer(task).data


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        self.groups_joined: list[str] = []
        groups = await _groups(user) if user and user.is_authenticated else None
        if groups is None:
            await self.close(code=4403)
            return
        # Join first, then read: no change committed after the snapshot can be missed.
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        self.seen: set[tuple[str, int]] = set()
        await self.accept()
        await self.send_json({"event": "snapshot", "seq": await _snapshot_seq()})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def task_changed(self, message):
        key = (message["task_id"], message["seq"])
        if key in self.seen:  # the same change reached us through several groups
            return
        self.seen.add(key)
        if len(self.seen) > 5000:
            self.seen.clear()
        summary = await _summary(self.scope["user"], message["task_id"])
        await self.send_json({"event": "task", "seq": message["seq"],
                              "change": "updated" if summary else "removed",
                              "task": summary or {"id": message["task_id"]}})
