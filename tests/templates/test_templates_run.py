"""Every template's sample input runs green through real workers (DECISIONS.md): the
template's graph becomes an ordinary draft through the API, as the "new workflow"
dialog makes it, and its "try it" test run finishes with every approval decided by the
builder who started it (a test run's tasks go to that builder)."""

from __future__ import annotations

import time

import pytest

from apps.approvals.models import Task, TaskStatus
from apps.approvals.services import task_decide
from apps.inference.client import auth_headers
from apps.runs.models import Run
from apps.templates import templates_load
from apps.variables.services import variable_create
from tests.fixtures.live import web_serving
from tests.fixtures.runs import _worker_running

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
def template_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker as `make run` starts it, allowed to post to the local receiver."""
    yield from _worker_running(tmp_path_factory.mktemp("template-worker"),
                               env={"WEFT_HTTP_ALLOW_HOSTS": "127.0.0.1/32"})


@pytest.fixture
def environment(triton, create_triton_server, create_user, create_team, receiver):
    """What `make run`'s demo data provides: the local Triton server, the teams the
    templates name, and the accounting endpoint (a local receiver)."""
    create_triton_server(name="local", url=f"127.0.0.1:{triton.http_port}", protocol="http",
                         secret_headers=auth_headers("http", triton.access_token),
                         model_names=list(triton.models))
    reviewer = create_user(roles=["reviewer"])
    for name in {team for template in templates_load() for team in template.teams}:
        create_team(name=name, members=[reviewer])
    # Through the service, as the variables page does: it drops this process's snapshot
    # of the variables, which a run started in the previous test may have taken within
    # its lifetime, holding that test's receiver (closed since).
    variable_create(user=create_user(roles=["admin"]), name="invoice_receiver_url",
                    value=receiver.url)
    return reviewer


def _finish(run_id, user, timeout: float = 90.0) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(pk=run_id)
        if run.status in TERMINAL:
            return run
        for task in Task.objects.filter(run_id=run_id, status=TaskStatus.OPEN):
            task_decide(task=task, user=user, decision="approved", comment="Looks right.",
                        form=task.form_values or None)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {Run.objects.get(pk=run_id).status}")


@pytest.mark.parametrize("template", templates_load(), ids=lambda t: t.slug)
def test_template_sample_runs_green(template, template_worker, environment, receiver,
                                    create_user, client_for, publish):
    # The deletion erases in every workflow's runs, which only an admin may ask for.
    erases = template.slug == "data_deletion_request"
    builder = create_user(roles=["admin" if erases else "editor"])
    client = client_for(user=builder)
    earlier = _earlier_run_of(template, publish) if erases else None
    created = client.post("/api/workflows/", {"name": template.name, "graph": template.graph,
                                              "description": template.description},
                          format="json")
    assert created.status_code == 201, created.data
    started = client.post(f"/api/workflows/{created.data['id']}/test-runs/",
                          {"input": template.sample_input}, format="json")
    assert started.status_code == 201, started.data
    run = _finish(started.data["id"], builder)  # a test run's tasks go to its builder
    detail = client.get(f"/api/runs/{run.pk}/").data
    failed = [(n["node_id"], n["error"]) for n in detail["node_runs"] if n["status"] == "failed"]
    assert run.status == "succeeded", (failed, run.error)
    # Each sample is one a person reviews: the template's approval ran and was decided.
    assert Task.objects.filter(run_id=run.pk, status=TaskStatus.APPROVED).count() == 1
    if template.slug == "invoice_review":  # booked once, idempotently
        assert list(receiver.keys().values()) == [1]
        _assert_reviewer_saw_the_explanation(run)
    if erases:
        _assert_deletion_recorded_and_requester_told(run, template, detail)
        _assert_erased_from_stored_runs(run, template, earlier)


def _assert_reviewer_saw_the_explanation(run: Run) -> None:
    """Billing's task carries the model's explanation, which the inbox draws as bars."""
    from models.invoice_risk import FEATURES

    context = Task.objects.get(run_id=run.pk).context
    shown = next(item for item in context if item["kind"] == "explanation")
    assert [bar["feature"] for bar in shown["value"]] == list(FEATURES)
    assert all(isinstance(bar["contribution"], int | float) for bar in shown["value"])


def _assert_deletion_recorded_and_requester_told(run: Run, template, detail) -> None:
    from apps.audit.models import AuditEvent

    account = template.sample_input["account"]
    event = AuditEvent.objects.get(action="business.deletion.completed", run_id=run.pk)
    assert event.target_label == template.sample_input["request_id"]
    recorded = str(event.data)
    assert all(account[field] not in recorded for field in ("customer_id", "email", "name"))
    assert len(event.data["email"]) == 32  # the pseudonym
    statuses = {n["node_id"]: n["status"] for n in detail["node_runs"]}
    assert statuses["unverified"] == "skipped"  # the identity check passed
    # The requester was written to after the erase (the run's own copy of the address
    # goes when it ends: tests/privacy/test_erase_node.py sees the e-mail's recipient).
    assert statuses["erase"] == statuses["done"] == "succeeded"


def _earlier_run_of(template, publish) -> Run:
    """A run of another workflow that holds the person's e-mail address."""
    from apps.runs import services as runs
    from tests.fixtures.runs import ITEM_FLOW

    email = template.sample_input["account"]["email"]
    return runs.run_start(workflow=publish(ITEM_FLOW, name="Support inbox"),
                          input={"ticket": "T-88", "from": email, "text": f"Write to {email}"})


def _stored(run: Run) -> str:
    import json

    from apps.runs.models import NodeRun

    run.refresh_from_db()
    rows = NodeRun.objects.filter(run=run).values_list("inputs", "outputs", "error")
    return json.dumps([run.input, run.response, run.search_terms, list(rows)])


def _assert_erased_from_stored_runs(run: Run, template, earlier: Run) -> None:
    """The earlier run no longer shows the address; the deletion's own run loses it once
    it ended (after it told the requester); the audit log keeps only keyed hashes."""
    import json

    from apps.audit.models import AuditEvent

    email = template.sample_input["account"]["email"]
    assert email not in _stored(earlier)
    assert earlier.input["from"] == "[erased]"
    assert earlier.input["ticket"] == "T-88"
    erased = AuditEvent.objects.filter(action="personal_data.erase",
                                       actor_id=f"workflow:{run.workflow_id}")
    deadline = time.monotonic() + 30
    while erased.count() < 2 * 4 and time.monotonic() < deadline:
        time.sleep(0.2)  # the run's own values go right after it ended
    # 4 values: each erased elsewhere, then in the run itself
    assert list(erased.values_list("data__scope", flat=True).order_by("seq")) == (
        ["everywhere"] * 4 + ["this run, when it ended"] * 4)
    assert email not in _stored(run)
    assert all(len(e.data["value_hash"]) == 64 for e in erased)
    account = template.sample_input["account"]
    recorded = json.dumps([e.data for e in AuditEvent.objects.all()])
    assert all(account[field] not in recorded
               for field in ("email", "name", "phone", "address"))


@pytest.fixture(scope="module")
def web_on_template_worker(template_worker, tmp_path_factory):
    """The web server on the template worker's Redis: webhooks it receives start runs
    that worker executes (as under `make run`)."""
    yield from web_serving(template_worker.env["REDIS_URL"],
                           tmp_path_factory.mktemp("web-templates"))


def test_invoice_review_books_the_invoice_at_the_demo_receiver(
        template_worker, web_on_template_worker, triton, create_triton_server, create_user,
        create_team, client_for):
    """What `make run`'s demo data sets up: the invoice is posted to the demo receiver
    workflow's webhook, whose run books it in the audit log, once."""
    from apps.audit.models import AuditEvent
    from apps.templates.services import template_demo_receiver_ensure

    create_triton_server(name="local", url=f"127.0.0.1:{triton.http_port}", protocol="http",
                         secret_headers=auth_headers("http", triton.access_token),
                         model_names=list(triton.models))
    admin = create_user(roles=["admin"])
    create_team(name="Billing", members=[admin])
    template_demo_receiver_ensure(user=admin, base_url=web_on_template_worker)
    template = next(t for t in templates_load() if t.slug == "invoice_review")
    client = client_for(user=admin)
    created = client.post("/api/workflows/", {"name": template.name, "graph": template.graph},
                          format="json")
    started = client.post(f"/api/workflows/{created.data['id']}/test-runs/",
                          {"input": template.sample_input}, format="json")
    assert started.status_code == 201, started.data
    assert _finish(started.data["id"], admin).status == "succeeded"
    deadline = time.monotonic() + 60
    while not AuditEvent.objects.filter(action="business.invoice.booked").exists():
        assert time.monotonic() < deadline, (
            list(Run.objects.values_list("workflow__name", "status", "error")),
            sorted(set(AuditEvent.objects.values_list("action", flat=True))))
        time.sleep(0.3)
    booked = AuditEvent.objects.get(action="business.invoice.booked")
    assert Run.objects.filter(workflow__name="Accounting (demo receiver)").count() == 1
    assert "INV-2026-0042" in f"{booked.target_label} {booked.target_id} {booked.data}"
