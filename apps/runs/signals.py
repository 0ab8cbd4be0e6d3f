"""Carry the trace id through every Celery task: put it in the message headers when
a task is sent, and into the logging context when a task starts."""

from __future__ import annotations

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import reset_queries

from apps.core.context import run_id_var, trace_id_var

HEADER = "weft_trace_id"


@before_task_publish.connect
def _add_trace_header(headers=None, **kwargs):
    if headers is not None and not headers.get(HEADER):
        trace_id = trace_id_var.get()
        if trace_id:
            headers[HEADER] = trace_id


@task_prerun.connect
def _bind_trace(task=None, **kwargs):
    request = getattr(task, "request", None)
    trace_id = getattr(request, HEADER, None) or ((getattr(request, "headers", None) or {})
                                                  .get(HEADER)) if request else None
    trace_id_var.set(trace_id or "")
    run_id_var.set("")


@task_postrun.connect
def _unbind_trace(**kwargs):
    trace_id_var.set("")
    run_id_var.set("")
    # A task is like a request: with DEBUG on, Django logs every query until a request
    # starts, which never happens in a worker; drop the log so workers stay flat.
    reset_queries()
