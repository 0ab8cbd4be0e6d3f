from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class NodesConfig(AppConfig):
    name = "apps.nodes"
    label = "nodes"

    def ready(self) -> None:
        from apps.nodes.registry import registry

        if registry.frozen:
            return
        for module in settings.WEFT_NODE_MODULES:
            import_module(module)
        registry.freeze()
