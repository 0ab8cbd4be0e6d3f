import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.actors import Actor, Target
from apps.audit.models import AuditEvent
from apps.audit.services import EventSpec, audit_record_many

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def mixed_events(create_user):
    """60 events: invoice and order actions by a person and a model, oldest first."""
    alice = create_user(username="alice")
    specs = []
    for i in range(60):
        kind = "invoice" if i % 2 == 0 else "order"
        specs.append(EventSpec(
            action=f"{kind}.approve", actor=alice if i % 3 else Actor.model("scorer", 2),
            target=Target(kind, str(i), f"{kind.title()} {i}"),
            data={"amount": i * 10, "note": f"customer {'acme' if i < 30 else 'globex'}"}))
    audit_record_many(specs)
    seqs = list(AuditEvent.objects.filter(action__in=["invoice.approve", "order.approve"])
                .order_by("seq").values_list("seq", flat=True))
    return {"alice": alice, "seqs": seqs}


def _seqs_on(page) -> list[int]:
    return [e.seq for e in page.context["page"].events]


def test_keyset_pages_walk_the_filtered_log(admin_browser, mixed_events):
    first = admin_browser.get("/console/audit/", {"action": "invoice.approve"})
    assert first.status_code == 200
    invoices = [s for i, s in enumerate(mixed_events["seqs"]) if i % 2 == 0]
    assert _seqs_on(first) == sorted(invoices, reverse=True)
    assert first.context["page"].older is None  # 30 invoices fit on one page
    everything = admin_browser.get("/console/audit/", {"action": "order."})  # prefix
    assert len(_seqs_on(everything)) == 30
    all_pages, query = [], {"target_type": "order"}
    page = admin_browser.get("/console/audit/", query)
    while True:
        all_pages.extend(_seqs_on(page))
        older = page.context["page"].older
        if older is None:
            break
        page = admin_browser.get("/console/audit/", {**query, "before": older})
    assert all_pages == sorted([s for i, s in enumerate(mixed_events["seqs"]) if i % 2],
                               reverse=True)


def test_newer_and_older_links_on_the_whole_log(admin_browser, mixed_events):
    first = admin_browser.get("/console/audit/")
    older = first.context["page"].older
    assert older is not None
    assert first.context["page"].newer is None
    second = admin_browser.get("/console/audit/", {"before": older})
    assert max(_seqs_on(second)) < min(_seqs_on(first))
    back = admin_browser.get("/console/audit/", {"after": second.context["page"].newer})
    assert _seqs_on(back) == _seqs_on(first)
    assert f"before={older}".encode() in first.content


def test_filters_by_actor_payload_words_and_time(admin_browser, mixed_events, audit_since):
    by_alice = _seqs_on(admin_browser.get("/console/audit/", {"actor": "alice",
                                                              "target_type": "invoice"}))
    assert len(by_alice) == 20  # i even and not divisible by 3... of 30 invoices
    by_model = _seqs_on(admin_browser.get("/console/audit/", {"actor_type": "model"}))
    assert len(by_model) == 20
    acme = _seqs_on(admin_browser.get("/console/audit/", {"q": "acme", "action": "order."}))
    assert len(acme) == 15
    amount = _seqs_on(admin_browser.get("/console/audit/", {"q": "590"}))
    assert amount == [mixed_events["seqs"][59]]
    now = timezone.now()
    future = admin_browser.get("/console/audit/", {
        "since": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    assert _seqs_on(future) == []
    bad = admin_browser.get("/console/audit/", {"since": "yesterday"})
    assert "since" in bad.context["filters"].errors


def test_csv_and_jsonl_exports_match_the_filter(admin_browser, mixed_events, audit_since):
    query = {"action": "invoice.approve", "q": "globex"}
    expected = list(AuditEvent.objects.filter(action="invoice.approve", data__note="customer globex")
                    .order_by("seq").values_list("seq", flat=True))
    assert len(expected) == 15
    response = admin_browser.get("/console/audit/export.csv", query)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [int(r["seq"]) for r in rows] == expected
    assert {r["action"] for r in rows} == {"invoice.approve"}
    assert json.loads(rows[0]["data"])["note"] == "customer globex"
    lines = _body(admin_browser.get("/console/audit/export.jsonl", query)).splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == expected
    first = AuditEvent.objects.get(seq=expected[0])
    assert events[0]["hash"] == first.hash
    assert events[0]["data"] == first.data
    exports = audit_since(action="audit.export")
    assert [e.data["format"] for e in exports] == ["csv", "jsonl"]
    assert exports[0].data["filters"] == query
    assert exports[0].user_id == admin_browser.user.pk


def test_csv_cells_that_look_like_formulas_stay_text(admin_browser, record_event):
    record_event(action="thing.do", target=Target("thing", "1", "=HYPERLINK(\"x\")"))
    rows = list(csv.DictReader(io.StringIO(_body(admin_browser.get(
        "/console/audit/export.csv", {"target_type": "thing"})))))
    assert rows[0]["target_label"].startswith("'=")


def test_event_detail_shows_payload_and_checks_hashes(admin_browser, record_event):
    event = record_event(action="thing.do", data={"token": "abc", "colour": "teal"})
    page = admin_browser.get(f"/console/audit/{event.seq}/")
    assert page.status_code == 200
    assert page.context["hash_ok"]
    assert page.context["link_ok"]
    assert b"teal" in page.content
    assert b"[redacted]" in page.content
    assert event.hash.encode() in page.content
    assert event.prev_hash.encode() in page.content
    assert admin_browser.get("/console/audit/999999999/").status_code == 404


def test_verify_button_runs_and_records_the_verification(admin_browser, audit_since):
    response = admin_browser.post("/console/audit/verify/", follow=True)
    assert response.status_code == 200
    assert "Chain valid" in " ".join(str(m) for m in response.context["messages"])
    (event,) = audit_since(action="audit.verify")
    assert event.data["ok"] is True
    assert event.user_id == admin_browser.user.pk
    assert response.context["last_verification"].seq == event.seq
    assert b"Chain verified" in response.content
