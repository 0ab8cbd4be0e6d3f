from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The admin console: audit log, users and roles, API tokens, operations.
    Server-rendered pages over the other apps' services and selectors."""

    name = "apps.console"
    label = "console"
