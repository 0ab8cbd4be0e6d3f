"""The live view of one run: authenticate, join the run's group, forward events."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.roles import VIEWER, has_role
from apps.privacy.selectors import run_detail_masked, run_events_masked
from apps.runs import events, selectors


@database_sync_to_async
def _snapshot(user, run_id):
    """The run as it is now, with the sequence number of the last event it shows."""
    if not has_role(user, VIEWER):
        return None
    snapshot = selectors.run_snapshot(run_id=run_id)
    if snapshot is None:
        return None
    detail, seq, stored = snapshot
    return run_detail_masked(detail, run=stored, user=user), seq


@database_sync_to_async
def _events_for(user, run_id, events):
    return run_events_masked(events, run_id=run_id, user=user)


class RunConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        run_id = self.scope["url_route"]["kwargs"]["run_id"]
        self.run_id = run_id
        self.group = events.run_group(str(run_id))
        # Join first, then read: no event committed after the snapshot can be missed.
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await _snapshot(user, run_id) if user and user.is_authenticated else None
        if snapshot is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=4403)
            return
        await self.accept()
        run, seq = snapshot
        await self.send_json({"event": "snapshot", "seq": seq, "run": run})

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def run_events(self, message):
        events = message["events"]
        if any(event.get("error") for event in events):  # may quote personal data
            events = await _events_for(self.scope.get("user"), self.run_id, events)
        for event in events:
            await self.send_json(event)


@database_sync_to_async
def _may_read_runs(user) -> bool:
    return has_role(user, VIEWER)


class RunListConsumer(AsyncJsonWebsocketConsumer):
    """The runs page's live feed: which run changed and to what status. The page reads
    the run through the API (what the user may see), so an event carries no payload."""

    async def connect(self):
        user = self.scope.get("user")
        if not (user and user.is_authenticated and await _may_read_runs(user)):
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(events.RUNS_GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(events.RUNS_GROUP, self.channel_name)

    async def runs_changed(self, message):
        await self.send_json({"event": "run", "run_id": message["run_id"],
                              "status": message["status"]})
