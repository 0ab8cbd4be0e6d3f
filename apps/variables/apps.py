from django.apps import AppConfig


class VariablesConfig(AppConfig):
    name = "apps.variables"
    label = "variables"
    default_auto_field = "django.db.models.BigAutoField"
