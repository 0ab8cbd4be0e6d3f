"""The runs page and its API: runs across workflows found by a value inside their input
or result, filters and keyset pages, several retried or cancelled at once, and bad
input named by its field."""

import pytest

from apps.runs.models import Run, RunStatus
from apps.runs.search import payload_terms
from apps.runs.services import run_start
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

ECHO = flow(("start", "trigger.manual"), ("set", "test.set", {"values": {"ok": True}}),
            edges=[("start", "set")])
FAIL = flow(("start", "trigger.manual"), ("boom", "test.fail"), edges=[("start", "boom")])


def test_payload_terms_take_values_whole_and_word_by_word():
    terms = payload_terms({"order": {"id": "A-1001"}, "note": "Call Ann@Example.com now",
                           "n": 42, "flag": True, "items": [{"sku": "X9"}]})
    assert {"a-1001", "call ann@example.com now", "ann@example.com", "42", "x9"} <= set(terms)
    assert "true" not in terms


def test_a_run_is_found_by_a_value_in_its_input_or_its_result(publish, viewer_client):
    workflow = publish(ECHO, name="Orders")
    wanted = run_start(workflow=workflow, input={"order": "A-1001", "email": "ann@example.com"})
    run_start(workflow=workflow, input={"order": "A-1002"})
    found = viewer_client.get("/api/runs/", {"q": "ANN@example.com"}).data["results"]
    assert [r["id"] for r in found] == [str(wanted.pk)]
    assert found[0]["workflow_name"] == "Orders"
    assert found[0]["short_id"] == str(wanted.pk)[:8]
    assert viewer_client.get("/api/runs/", {"q": "a-1001"}).data["results"][0]["id"] == \
        str(wanted.pk)
    # the result ("ok": true joins the input) is indexed once the run succeeded
    wanted.refresh_from_db()
    assert "a-1001" in wanted.search_terms
    assert viewer_client.get("/api/runs/", {"q": "nothing-like-it"}).data["results"] == []


def test_filters_and_keyset_pages(publish, editor_client):
    ok, bad = publish(ECHO, name="Good"), publish(FAIL, name="Bad")
    for i in range(5):
        run_start(workflow=ok, input={"i": i})
    failed = run_start(workflow=bad, input={})
    first = editor_client.get("/api/runs/", {"limit": 2}).data
    assert len(first["results"]) == 2
    assert first["next_cursor"]
    seen = [r["id"] for r in first["results"]]
    cursor = first["next_cursor"]
    while cursor:
        page = editor_client.get("/api/runs/", {"limit": 2, "cursor": cursor}).data
        seen += [r["id"] for r in page["results"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    only_failed = editor_client.get("/api/runs/", {"status": "failed"}).data["results"]
    assert [r["id"] for r in only_failed] == [str(failed.pk)]
    assert only_failed[0]["error"]["node_id"] == "boom"
    assert len(editor_client.get("/api/runs/", {"workflow": ok.pk}).data["results"]) == 5


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "x" * 10_000}, "q"), ({"cursor": "not-a-cursor"}, "cursor"),
    ({"status": "sleeping"}, "status"), ({"version": "-1"}, "version"),
    ({"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
     "created_before")])
def test_bad_filters_are_refused_naming_the_field(viewer_client, browser_for, params, field):
    response = viewer_client.get("/api/runs/", params)
    assert response.status_code == 400
    assert field in response.data["errors"]
    page = browser_for("viewer").get("/runs/", params)
    assert page.status_code == 400
    assert field in page.context["errors"]


def test_the_page_lists_runs_and_retries_and_cancels_several(publish, browser_for):
    bad = publish(FAIL, name="Bad")
    failed = [run_start(workflow=bad, input={"n": i}) for i in range(2)]
    done = run_start(workflow=publish(ECHO, name="Good"), input={})
    browser = browser_for("editor")
    page = browser.get("/runs/")
    assert page.status_code == 200
    assert {r["id"] for r in page.context["rows"]} == {str(r.pk) for r in (*failed, done)}
    response = browser.post("/runs/bulk/", {"action": "retry", "next": "/runs/?status=failed",
                                            "run": [str(r.pk) for r in (*failed, done)]},
                            follow=True)
    assert response.redirect_chain[-1][0] == "/runs/?status=failed"
    text = response.content.decode()
    assert "2 runs retried." in text
    assert f"{str(done.pk)[:8]}: Only a failed run can be retried" in text
    assert Run.objects.get(pk=failed[0].pk).node_runs.filter(attempt=2).exists()


def test_cancel_from_the_run_page_and_a_clear_refusal(publish, browser_for):
    waiting = publish(flow(("start", "trigger.manual"), ("wait", "test.sleep",
                                                         {"seconds": 3600}),
                           edges=[("start", "wait")]), name="Slow")
    run = run_start(workflow=waiting, input={})
    browser = browser_for("editor")
    page = browser.get(f"/runs/{run.pk}/")
    assert page.context["can_cancel"]
    assert b"Cancel run" in page.content
    browser.post(f"/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    again = browser.post(f"/runs/{run.pk}/cancel/", follow=True)
    assert b"Not cancelled: The run has already cancelled." in again.content
    viewer = browser_for("viewer")
    assert b"need the editor role" in viewer.get(f"/runs/{run.pk}/").content
    assert viewer.post(f"/runs/{run.pk}/retry/").status_code == 403


def test_pages_need_a_role(browser_for, client):
    assert browser_for().get("/runs/").status_code == 403
    assert client.get("/runs/").status_code == 302


def test_the_home_page_says_what_failed_and_what_runs(publish, browser_for, client):
    bad = publish(FAIL, name="Invoices")
    for _ in range(2):
        run_start(workflow=bad, input={})
    slow = publish(flow(("start", "trigger.manual"), ("wait", "test.sleep", {"seconds": 600}),
                        edges=[("start", "wait")]), name="Nightly")
    active = run_start(workflow=slow, input={})
    page = browser_for("viewer").get("/")
    attention = page.context["attention"]
    assert [(f["name"], f["count"]) for f in attention.failed] == [("Invoices", 2)]
    assert attention.failed[0]["error"] == "this node always fails"
    assert attention.failed[0]["node_id"] == "boom"
    assert [r.pk for r in attention.active] == [active.pk]
    text = page.content.decode()
    assert "Failed in the last 24 hours: 2" in text
    assert "this node always fails" in text


def test_a_new_editor_is_told_what_to_do_first(browser_for):
    text = browser_for("editor").get("/").content.decode()
    assert "No run failed." in text
    assert "Create your first workflow" in text
    assert "no role yet" in browser_for().get("/").content.decode()


def test_a_test_run_of_the_draft_is_named_so_on_the_runs_page(publish, browser_for,
                                                               create_user):
    from apps.runs.test_runs import draft_run_start

    workflow = publish(ECHO, name="Drafty")
    run = draft_run_start(workflow=workflow, user=create_user(roles=["editor"]), input={})
    browser = browser_for("editor")
    rows = browser.get("/runs/").content.decode()
    assert "test of the draft" in rows
    assert "vNone" not in rows
    detail = browser.get(f"/runs/{run.pk}/").content.decode()
    assert "a test run of the draft" in detail
    assert "version None" not in detail


def test_the_home_page_counts_every_failed_run_not_only_the_workflows_listed(
        publish, browser_for):
    for i in range(12):
        workflow = publish(FAIL, name=f"Failing {i}")
        run_start(workflow=workflow, input={})
        if i == 0:
            run_start(workflow=workflow, input={})  # two failures for the first one
    page = browser_for("viewer").get("/")
    attention = page.context["attention"]
    assert len(attention.failed) == 10
    assert attention.failed_total == 13
    text = page.content.decode()
    assert "Failed in the last 24 hours: 13" in text
    assert "12 workflows; the 10 most recent are listed" in text


def _queries(browser, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert browser.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/", "/runs/"])
def test_the_pages_queries_do_not_grow_with_the_workflows_that_failed(publish, browser_for,
                                                                      path):
    browser = browser_for("editor")
    run_start(workflow=publish(FAIL, name="Failing 0"), input={})
    browser.get(path)  # sessions and caches warmed
    with_one = _queries(browser, path)
    for i in range(1, 6):
        run_start(workflow=publish(FAIL, name=f"Failing {i}"), input={})
    assert _queries(browser, path) == with_one
