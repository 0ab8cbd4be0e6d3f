"""Both demo workflows pass their first test run untouched: no input typed (the manual
trigger's sample input is the default), the draft as seeded, the model on the local
Triton server."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.inference.client import auth_headers
from apps.runs.models import Run
from apps.workflows.models import Workflow
from tests.fixtures.runs import node_execute

pytestmark = pytest.mark.django_db


def test_both_demo_workflows_pass_a_first_test_run_untouched(
        triton, create_triton_server, editor_client, django_capture_on_commit_callbacks):
    create_triton_server(name="local", url=f"127.0.0.1:{triton.http_port}", protocol="http",
                         secret_headers=auth_headers("http", triton.access_token),
                         model_names=list(triton.models))
    call_command("weft_seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    demos = {w.name: w for w in Workflow.objects.all()}
    assert set(demos) == {"Hello, Weft", "Ticket urgency", "Accounting (demo receiver)"}

    hello = editor_client.post(f"/api/workflows/{demos['Hello, Weft'].pk}/test-runs/", {},
                               format="json")
    assert hello.status_code == 201, hello.data
    assert hello.data["status"] == "succeeded"
    assert hello.data["node_runs"][-1]["outputs"] == {"out": {"hello": "world"}}

    ticket = editor_client.post(f"/api/workflows/{demos['Ticket urgency'].pk}/test-runs/", {},
                                format="json")
    assert ticket.status_code == 201, ticket.data
    run = Run.objects.get(pk=ticket.data["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert node_execute(run, "classify") == "succeeded"
    run.refresh_from_db()
    assert run.status == "succeeded"
    result = editor_client.get(f"/api/runs/{run.pk}/").data["node_runs"][-1]["outputs"]["out"]
    # "Production outage ... every page returns 500": an urgent ticket.
    assert result["label"] in {"high", "critical"}
    assert 0 <= result["confidence"] <= 1
