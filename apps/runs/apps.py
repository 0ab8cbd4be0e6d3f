from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "apps.runs"
    label = "runs"

    def ready(self) -> None:
        # signals: Celery trace-id headers. io_executor: it registers how a respond-mode
        # webhook's network nodes are executed in the process that waits for them
        # (services.dispatch.in_process).
        from apps.runs import io_executor, signals  # noqa: F401
