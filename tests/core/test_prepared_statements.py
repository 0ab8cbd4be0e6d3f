"""The engine's own statements are bound on the server and prepared on their connection
(WEFT_DB_PREPARE, on by default): PostgreSQL plans a run's statements once per
connection instead of on every run. The pages' queries are not: a plan kept for one
filter's values made a runs page filter three times slower (bench/RESULTS.md)."""

import json

import pytest
from django.db import connection

from apps.runs import search, triggers
from apps.runs.models import Run
from tests.runs.test_hooks import WEBHOOK

pytestmark = pytest.mark.django_db(transaction=True)


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_webhooks_run_statement_is_planned_once_per_connection(publish):
    workflow = publish(WEBHOOK)
    secret = triggers.workflow_runtime_get(workflow=workflow).webhook_secret
    body = json.dumps({"n": 1}).encode()
    assert not [s for s in _prepared() if "INSERT INTO runs_run" in s]
    for _ in range(3):
        status, payload, _headers = triggers.webhook_handle(secret=secret, body=body,
                                                             headers={})
        assert (status, payload["n"]) == (201, 1)
    inserts = [s for s in _prepared() if "INSERT INTO runs_run" in s]
    assert len(inserts) == 1, inserts  # one plan, used by all three runs
    assert "$1" in inserts[0]  # the values were bound, not written into the text
    assert Run.objects.filter(workflow=workflow, status="succeeded").count() == 3


def test_the_runs_pages_queries_are_planned_for_their_own_values(publish):
    workflow = publish(WEBHOOK)
    for status in ("failed", "succeeded", "failed"):
        page = search.run_page(search.run_filter(workflow=workflow.pk, status=status))
        assert page.rows == []
    assert not [s for s in _prepared() if "runs_run" in s], _prepared()
