from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "apps.privacy"
    label = "privacy"
    verbose_name = "Personal data"

    def ready(self) -> None:
        from apps.privacy import engine  # noqa: F401  (registers the engine hook)
