"""Personal data is masked where it leaves a run (API, run page, inbox, logs, audit,
notifications, search) for users without the `personal-data` permission, never in the
stored run; an admin may erase a person's values, audited by a keyed hash only."""

import json

import pytest
from django.core import mail

from apps.approvals.models import Task, Team
from apps.approvals.notifications import task_notify
from apps.audit.models import AuditEvent
from apps.audit.personal import ERASED, PERSONAL_MASK, PersonalMasker, PersonalPolicy
from apps.audit.redaction import SecretLogFilter
from apps.privacy.models import PersonalDataGrant, PersonalDataPolicy
from apps.privacy.services import grant_set, policy_set
from apps.runs import services as runs
from apps.runs.models import MapItem, NodeRun
from tests.fixtures.approvals import approval_flow
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

CARD = "4111 1111 1111 1111"  # passes the Luhn check
INPUT = {"order": "A-77", "customer": {"name": "Ann Example", "email": "ann@example.com"},
         "note": f"call +1 415 555 2671, card {CARD}"}
ECHO = flow(("start", "trigger.manual"), ("set", "test.set", {"values": {"ok": True}}),
            edges=[("start", "set")])


def _policy(workflow, admin, **extra):
    policy_set(workflow=workflow, user=admin, paths=extra.get("paths", ["input.customer.name"]),
               detectors=extra.get("detectors", ["email", "phone", "card"]))


def test_detectors_find_emails_phones_and_luhn_valid_cards():
    masker = PersonalMasker(PersonalPolicy.build(detectors=["email", "phone", "card"]))
    text = masker.text(f"ann@example.com, +44 20 7946 0958, {CARD}, 1234 5678 9012 3456, A-77")
    assert text == f"{PERSONAL_MASK}, {PERSONAL_MASK}, {PERSONAL_MASK}, 1234 5678 9012 3456, A-77"
    # a value found at a path is masked wherever it reappears, even in a longer text
    policy = PersonalPolicy.build(paths=["input.customer.name", "nodes.fetch.output.*.id"])
    assert policy.node_paths("fetch") == [("*", "*", "id")]
    masker = PersonalMasker(policy, ["Ann Example"])
    assert masker.mask({"greeting": "Dear Ann Example,", "n": 3}) == {
        "greeting": f"Dear {PERSONAL_MASK},", "n": 3}


def test_a_viewer_without_the_permission_sees_masked_values(publish, create_user,
                                                            client_for, create_team):
    admin = create_user(roles=["admin"])
    workflow = publish(ECHO)
    _policy(workflow, admin)
    run = runs.run_start(workflow=workflow, input=INPUT)
    viewer = client_for("viewer")
    body = viewer.get(f"/api/runs/{run.pk}/").data
    assert body["input"]["order"] == "A-77"
    assert body["input"]["customer"] == {"name": PERSONAL_MASK, "email": PERSONAL_MASK}
    text = json.dumps(body)
    for value in ("Ann Example", "ann@example.com", "555 2671", CARD):
        assert value not in text
    assert body["node_runs"][1]["inputs"]["in"]["customer"]["name"] == PERSONAL_MASK
    run.refresh_from_db()
    assert run.input == INPUT  # never changed in storage
    # granted to the user: sees everything
    grant_set(granted=True, actor=admin, user=viewer.user)
    viewer.user.__dict__.pop("_weft_personal_data", None)
    assert client_for("viewer", user=viewer.user).get(
        f"/api/runs/{run.pk}/").data["input"] == INPUT
    # granted to a team: its members see everything
    member = client_for("viewer")
    create_team(name="Privacy", members=[member.user])
    assert member.get(f"/api/runs/{run.pk}/").data["input"]["customer"]["name"] == \
        PERSONAL_MASK
    grant_set(granted=True, actor=admin, team=Team.objects.get(name="Privacy"))
    assert client_for("viewer", user=member.user).get(
        f"/api/runs/{run.pk}/").data["input"] == INPUT


def test_the_run_page_masks_for_a_viewer(publish, create_user, browser_for):
    admin = create_user(roles=["admin"])
    workflow = publish(ECHO)
    _policy(workflow, admin)
    run = runs.run_start(workflow=workflow, input=INPUT)
    html = browser_for("viewer").get(f"/runs/{run.pk}/").content.decode()
    assert "A-77" in html
    assert PERSONAL_MASK in html
    assert "ann@example.com" not in html
    assert "Ann Example" not in html


def test_search_never_matches_masked_values_for_others(publish, create_user, client_for):
    admin = create_user(roles=["admin"])
    workflow = publish(ECHO)
    _policy(workflow, admin)
    run = runs.run_start(workflow=workflow, input=INPUT)
    viewer, trusted = client_for("viewer"), client_for("viewer")
    grant_set(granted=True, actor=admin, user=trusted.user)
    for q in ("ann@example.com", "Ann Example"):
        assert viewer.get("/api/runs/", {"q": q}).data["results"] == []
        assert [r["id"] for r in trusted.get("/api/runs/", {"q": q}).data["results"]] == [
            str(run.pk)]
    assert [r["id"] for r in viewer.get("/api/runs/", {"q": "a-77"}).data["results"]] == [
        str(run.pk)]
    run.refresh_from_db()
    assert not any("ann@example.com" in term for term in run.search_terms)


def test_logs_and_audit_payloads_never_hold_personal_data(publish, create_user, caplog):
    admin = create_user(roles=["admin"])
    graph = flow(("start", "trigger.manual"), ("log", "test.log"), edges=[("start", "log")])
    workflow = publish(graph)
    _policy(workflow, admin)
    caplog.handler.addFilter(SecretLogFilter())  # as on every configured handler
    run = runs.run_start(workflow=workflow, input=INPUT)
    runs.node_run_execute(node_run_id=NodeRun.objects.get(run=run, node_id="log").pk)
    assert "received" in caplog.text
    captured = caplog.text + json.dumps([r.__dict__.get("payload") for r in caplog.records])
    event = AuditEvent.objects.get(action="test.received")
    for value in ("Ann Example", "ann@example.com", "555 2671", CARD):
        assert value not in captured
        assert value not in json.dumps(event.data)
    assert event.data["received"]["order"] == "A-77"
    assert NodeRun.objects.get(run=run, node_id="log").outputs["out"] == INPUT  # stored


def test_inbox_context_and_notifications_are_masked(publish, create_user, client_for,
                                                    create_team,
                                                    django_capture_on_commit_callbacks):
    admin = create_user(roles=["admin"])
    reviewer = create_user(roles=["reviewer"], email="rev@weft.test")
    create_team(name="Billing", members=[reviewer])
    workflow = publish(approval_flow(
        title="Invoice for {{ input.customer.email }}",
        context=[{"label": "Customer", "expression": "input.customer.name"}]))
    _policy(workflow, admin)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.run_start(workflow=workflow, input=INPUT, user=admin)
    task = Task.objects.get(run=run)
    task_notify(task_id=task.pk, kind="assigned", recipients=[reviewer])
    assert mail.outbox
    assert all("ann@example.com" not in m.subject + m.body
                               for m in mail.outbox)
    client = client_for(user=reviewer)
    detail = client.get(f"/api/tasks/{task.pk}/").data
    assert detail["title"] == f"Invoice for {PERSONAL_MASK}"
    assert detail["context"][0]["value"] == PERSONAL_MASK
    listed = client.get("/api/tasks/", {"tab": "team"}).data["results"]
    assert listed
    assert "ann@example.com" not in json.dumps(listed)
    # inbox search does not find a task by the personal data it holds
    assert client.get("/api/tasks/", {"tab": "team", "search": "ann@example"}
                      ).data["results"] == []
    assert len(client.get("/api/tasks/", {"tab": "team", "search": "invoice for"}
                          ).data["results"]) == 1


def test_erase_replaces_a_persons_values_and_audits_a_hash(publish, create_user,
                                                          admin_client):
    workflow = publish(ECHO)
    run = runs.run_start(workflow=workflow, input=INPUT)
    other = runs.run_start(workflow=workflow, input={"customer": {"email": "bob@example.com"}})
    response = admin_client.post("/api/personal-data/erase/", {"value": "ann@example.com"},
                                 format="json")
    assert response.status_code == 200
    assert response.data["runs"] == 1
    run.refresh_from_db()
    other.refresh_from_db()
    assert run.input["customer"]["email"] == ERASED
    assert run.input["customer"]["name"] == "Ann Example"
    assert other.input["customer"]["email"] == "bob@example.com"
    assert "ann@example.com" not in json.dumps(list(NodeRun.objects.filter(
        run=run).values_list("inputs", "outputs")))
    event = AuditEvent.objects.get(action="personal_data.erase")
    assert "ann@example.com" not in json.dumps(event.data)
    assert len(event.data["value_hash"]) == 64
    assert admin_client.post("/api/personal-data/erase/", {"value": "a"},
                             format="json").status_code == 400


def test_policy_api_validates_paths_and_detectors(publish, admin_client):
    workflow = publish(ECHO)
    url = f"/api/workflows/{workflow.pk}/personal-data/"
    bad = admin_client.put(url, {"paths": ["customer.email"], "detectors": ["email"]},
                           format="json")
    assert bad.status_code == 400
    assert "paths[0]" in bad.data["errors"]
    bad = admin_client.put(url, {"paths": [], "detectors": ["dna"]}, format="json")
    assert bad.status_code == 400
    assert "detectors" in bad.data["errors"]
    ok = admin_client.put(url, {"paths": ["input.customer.email"], "detectors": ["card"]},
                          format="json")
    assert ok.status_code == 200
    assert admin_client.get(url).data == {"paths": ["input.customer.email"],
                                          "detectors": ["card"]}
    assert AuditEvent.objects.filter(action="personal_data.policy_set").exists()


def test_map_items_are_masked_for_a_viewer(run_map, create_user, client_for):
    run = run_map(3)
    policy_set(workflow=run.workflow, user=create_user(roles=["admin"]), paths=[],
               detectors=["email"])
    MapItem.objects.filter(node_run__run=run).update(output={"mail": "ann@example.com"})
    body = client_for("viewer").get(f"/api/runs/{run.pk}/nodes/map/items/").data
    assert body["results"]
    assert {json.dumps(item["output"]) for item in body["results"]} == {
        json.dumps({"mail": PERSONAL_MASK})}


def test_the_console_page_sets_paths_and_gives_the_permission(publish, browser_for,
                                                              create_user, create_team):
    workflow = publish(ECHO, name="Orders")
    ann = create_user(username="ann", roles=["viewer"])
    create_team(name="Privacy")
    admin = browser_for("admin")
    page = admin.get("/console/personal-data/")
    assert page.status_code == 200
    assert "Orders" in page.content.decode()
    response = admin.post("/console/personal-data/policy/", {
        "workflow": str(workflow.pk), "paths": "input.customer.email\ninput.phone",
        "detectors": ["email", "card"]})
    assert response.status_code == 302
    policy = PersonalDataPolicy.objects.get(workflow=workflow)
    assert (policy.paths, policy.detectors) == (["input.customer.email", "input.phone"],
                                                ["card", "email"])
    bad = admin.post("/console/personal-data/policy/", {"workflow": str(workflow.pk),
                                                        "paths": "customer.email"})
    assert bad.status_code == 400
    assert "paths[0]" in bad.content.decode()
    admin.post("/console/personal-data/grants/", {"granted": "1", "kind": "user",
                                                  "name": "ann"})
    admin.post("/console/personal-data/grants/", {"granted": "1", "kind": "team",
                                                  "name": "privacy"})
    assert PersonalDataGrant.objects.filter(user=ann).exists()
    assert PersonalDataGrant.objects.filter(team__name="Privacy").exists()
    admin.post("/console/personal-data/grants/", {"granted": "0", "kind": "user",
                                                  "name": "ann"})
    assert not PersonalDataGrant.objects.filter(user=ann).exists()


def test_debugging_a_run_gives_an_editor_without_the_permission_no_unmasked_copy(
        publish, create_user, editor_client):
    """Debug in editor (with pins) copies a production run's input into a test run and
    its nodes' outputs into pins: the editor's test data and pins stay masked for an
    editor without the permission, as the run itself is."""
    admin = create_user(roles=["admin"])
    workflow = publish(ECHO)
    _policy(workflow, admin)
    run = runs.run_start(workflow=workflow, input=INPUT)
    response = editor_client.post(f"/api/runs/{run.pk}/debug/", {"pin": True}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["pinned"] == ["set"]
    pinned = editor_client.get(f"/api/workflows/{workflow.pk}/pins/")
    assert pinned.status_code == 200
    test_data = editor_client.get(f"/api/workflows/{workflow.pk}/test-data/")
    assert test_data.status_code == 200
    for body in (pinned.data, test_data.data, response.data):
        text = json.dumps(body, default=str)
        for value in ("Ann Example", "ann@example.com", "555 2671", CARD):
            assert value not in text, (value, body)
    assert PERSONAL_MASK in json.dumps(pinned.data)
    # stored as it came, and whoever holds the permission sees it whole
    assert NodeRun.objects.filter(run_id=response.data["run"]["id"],
                                  node_id="set").get().outputs["out"]["customer"] == \
        INPUT["customer"]
    grant_set(granted=True, actor=admin, user=editor_client.user)
    editor_client.user.__dict__.pop("_weft_personal_data", None)
    assert "Ann Example" in json.dumps(editor_client.get(
        f"/api/workflows/{workflow.pk}/pins/").data)
