"""WebSocket routes (Channels consumers); each app adds its own here."""

from django.urls import path

from apps.approvals.consumers import InboxConsumer
from apps.runs.consumers import RunConsumer, RunListConsumer

websocket_urlpatterns: list = [
    path("ws/runs/", RunListConsumer.as_asgi()),
    path("ws/runs/<uuid:run_id>/", RunConsumer.as_asgi()),
    path("ws/inbox/", InboxConsumer.as_asgi()),
]
