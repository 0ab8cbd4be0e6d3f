from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "apps.oversight"
    label = "oversight"
    verbose_name = "Model oversight"
