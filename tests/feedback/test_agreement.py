"""Reviewer agreement from real decisions on a real model's answers (PyTriton): the
approval node names the inference node it reviews and the form field of the corrected
label; each decision becomes a feedback row that outlives its run; agreement per model
version, over time and as a confusion matrix; the export streams and redacts."""

import csv
import io
import json

import pytest

from apps.approvals.models import Task
from apps.audit.models import AuditEvent
from apps.audit.personal import PERSONAL_MASK
from apps.feedback.models import Feedback
from apps.nodes.registry import registry
from apps.privacy.services import grant_set, policy_set
from apps.runs import services as runs
from apps.runs.models import NodeRun, Run
from apps.workflows.graph import validate_graph
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

RISKY = [5.5, 2, 0.2, 3, 1, 1, 1, 0]
SAFE = [2.5, 60, 12, 0, 0, 0, 0, 1]
FORM = {"type": "object", "properties": {"label": {"type": "string", "enum": ["ok", "risky"]}}}


def review_flow(server: str, **review) -> dict:
    config = {"title": "Invoice {{ run.input.number }}", "assignee_teams": ["Billing"],
              "reviews_node": "classify", "label_field": "label", "form_schema": FORM,
              "form_values": {"label": "nodes.classify.output.label"},
              "context": [{"label": "Confidence", "expression":
                           "nodes.classify.output.confidence", "kind": "confidence"}],
              **review}
    return flow(("start", "trigger.manual"),
                ("classify", "inference.triton", {"server": server, "model": "invoice_risk",
                                                  "inputs": {"features": "input.features"}}),
                ("review", "human.approval", config),
                ("ok", "core.noop"), ("no", "core.noop"),
                edges=[("start", "classify"), ("classify", "review"),
                       ("review", "approved", "ok", "in"), ("review", "rejected", "no", "in")])


@pytest.fixture
def reviewer(create_user, create_team, client_for):
    user = create_user(username="rita", roles=["reviewer"])
    create_team(name="Billing", members=[user])
    return client_for(user=user)


def _task(workflow, features, number, django_capture_on_commit_callbacks, **extra):
    run = runs.run_start(workflow=workflow, input={"number": number, "features": features,
                                                   **extra})
    row = NodeRun.objects.get(run=run, node_id="classify")
    with django_capture_on_commit_callbacks(execute=True):
        assert runs.node_run_execute(node_run_id=row.pk, worker="test") == "succeeded"
    assert Task.objects.filter(run=run).exists(), list(NodeRun.objects.filter(run=run).values_list("node_id", "status", "error"))
    return Task.objects.get(run=run)


def test_agreement_is_computed_from_real_decisions(registered_server, publish, reviewer,
                                                   browser_for, client_for,
                                                   django_capture_on_commit_callbacks):
    workflow = publish(review_flow(registered_server.name))
    decisions = [(RISKY, "risky", "approved"), (SAFE, "ok", "approved"),
                 (RISKY, "ok", "rejected"), (SAFE, "ok", "approved")]
    tasks = []
    for i, (features, label, decision) in enumerate(decisions):
        task = _task(workflow, features, f"INV-{i}", django_capture_on_commit_callbacks)
        tasks.append(task)
        body = reviewer.get(f"/api/tasks/{task.pk}/").data
        # the reviewer sees why the model said what it said
        why = [c for c in body["context"] if c["kind"] == "explanation"]
        assert why
        assert {item["feature"] for item in why[0]["value"]} >= {"po_match", "prior_disputes"}
        assert body["form_values"]["label"] in ("ok", "risky")
        response = reviewer.post(f"/api/tasks/{task.pk}/decide/", {
            "decision": decision, "comment": "checked", "form": {"label": label}},
            format="json")
        assert response.status_code == 200, response.data
    rows = list(Feedback.objects.order_by("decided_at"))
    assert [r.model_label for r in rows] == ["risky", "ok", "risky", "ok"]
    assert [r.reviewer_label for r in rows] == ["risky", "ok", "ok", "ok"]
    assert [r.kept for r in rows] == [True, True, False, True]
    assert rows[2].corrected == {"label": {"from": "risky", "to": "ok"}}
    assert rows[0].inputs["features"] == RISKY
    assert rows[0].output["explanation"]
    assert (rows[0].server, rows[0].model, rows[0].reviewer) == (
        registered_server.name, "invoice_risk", "rita")
    editor = client_for("editor")
    body = editor.get("/api/feedback/agreement/", {"model": "invoice_risk",
                                                   "version": rows[0].model_version}).data
    assert (body["decisions"], body["compared"], body["kept"], body["share"]) == (4, 4, 3, 0.75)
    assert body["confusion"] == {"labels": ["ok", "risky"], "counts": [[2, 0], [1, 1]]}
    assert len(body["over_time"]) == 1
    assert body["over_time"][0]["share"] == 0.75
    listed = editor.get("/api/feedback/models/").data
    assert [(m["model"], m["share"]) for m in listed] == [("invoice_risk", 0.75)]
    assert editor.get("/api/feedback/agreement/", {"model": "invoice_risk", "bucket": "year"}
                      ).status_code == 400
    # The runs may go (retention): the labelled data stays.
    Run.objects.filter(pk__in=[t.run_id for t in tasks]).delete()
    assert Feedback.objects.count() == 4
    page = browser_for("editor").get("/console/models/agreement/", {"model": "invoice_risk"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "75 %" in html
    assert 'class="bar-low"' in html  # one day at 75 %: below the 80 % line


def test_the_export_streams_and_redacts_unless_asked(registered_server, publish, reviewer,
                                                     admin_client, create_user,
                                                     django_capture_on_commit_callbacks):
    workflow = publish(review_flow(registered_server.name))
    policy_set(workflow=workflow, user=create_user(roles=["admin"]),
               paths=["input.customer"], detectors=["email"])
    task = _task(workflow, RISKY, "INV-9", django_capture_on_commit_callbacks,
                 customer="Ann Example", note="mail ann@example.com")
    assert reviewer.post(f"/api/tasks/{task.pk}/decide/", {
        "decision": "approved", "form": {"label": "risky"}}, format="json").status_code == 200
    response = admin_client.get("/api/feedback/export/", {"model": "invoice_risk"})
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    (line,) = [json.loads(x) for x in text.splitlines()]
    assert line["inputs"]["customer"] == PERSONAL_MASK
    assert line["inputs"]["note"] == f"mail {PERSONAL_MASK}"
    assert line["inputs"]["features"] == RISKY
    assert (line["model_label"], line["reviewer_label"], line["kept"]) == ("risky", "risky", True)
    assert "Ann Example" not in text
    unmasked = {"model": "invoice_risk", "file_type": "csv", "personal_data": "true"}
    # Without the personal-data permission, an admin too is refused the unmasked export.
    refused = admin_client.get("/api/feedback/export/", unmasked)
    assert refused.status_code == 403, refused.content
    assert "personal_data" in refused.json()["errors"]
    grant_set(granted=True, actor=admin_client.user, user=admin_client.user)
    response = admin_client.get("/api/feedback/export/", unmasked)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert json.loads(rows[0]["inputs"])["customer"] == "Ann Example"
    events = list(AuditEvent.objects.filter(action="feedback.export").order_by("seq"))
    assert [e.data["personal_data"] for e in events] == [False, True]
    assert admin_client.get("/api/feedback/export/", {"model": "invoice_risk",
                                                      "file_type": "xml"}).status_code == 400


@pytest.mark.parametrize(("reviews", "code"), [("nowhere", "unknown_reference"),
                                                ("start", "wrong_reference")])
def test_the_reviewed_node_must_be_an_upstream_inference_node(reviews, code):
    graph = review_flow("local", reviews_node=reviews)
    problems = validate_graph(graph, registry)
    assert [p.code for p in problems if p.node_id == "review"] == [code]
    assert problems[0].field == "config.reviews_node"


def test_a_downstream_inference_node_is_refused():
    graph = review_flow("local")
    graph["edges"] = [e for e in graph["edges"] if e["target"] != "review"
                      and e["source"] != "start"]
    graph["edges"] += [{"id": "x1", "source": "start", "source_port": "out",
                        "target": "review", "target_port": "in"},
                       {"id": "x2", "source": "review", "source_port": "approved",
                        "target": "classify", "target_port": "in"}]
    problems = validate_graph(graph, registry)
    assert "reference_not_upstream" in [p.code for p in problems]
