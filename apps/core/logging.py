import logging

from apps.core.context import request_id_var, run_id_var, trace_id_var


class ContextFilter(logging.Filter):
    """Adds the current request, trace and run ids to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        trace_id = trace_id_var.get()
        if trace_id:
            record.trace_id = trace_id
        run_id = run_id_var.get()
        if run_id:
            record.run_id = run_id
        return True
