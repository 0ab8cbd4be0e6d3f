"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.core.websocket import SameOriginValidator  # noqa: E402
from apps.runs import webhook_front  # noqa: E402
from config.ws_urls import websocket_urlpatterns  # noqa: E402


async def http_app(scope, receive, send):
    """Webhooks take their own fast front (apps.runs.webhook_front); the rest is Django."""
    if webhook_front.matches(scope):
        return await webhook_front.webhook_app(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter({
    "http": http_app,
    "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
