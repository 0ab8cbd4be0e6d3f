"""WebSocket routes (Channels consumers); each app adds its own here."""

websocket_urlpatterns: list = []
