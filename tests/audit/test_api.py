import pytest
from django.db import connection

from apps.audit.actors import Target
from apps.audit.services import EventSpec, audit_record_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def forty_events():
    audit_record_many(EventSpec(action="doc.sign" if i % 4 else "doc.reject",
                                target=Target("doc", str(i), f"Doc {i}"),
                                data={"signer": f"person{i}", "words": "blue sky"})
                      for i in range(40))


def test_list_follows_next_links_through_keyset_pages(admin_client, forty_events):
    seen, url = [], "/api/audit/events/?action=doc.sign&page_size=7"
    while url:
        body = admin_client.get(url).json()
        seen.extend(e["seq"] for e in body["results"])
        url = body["next"]
        if url:
            assert "before=" in url
            assert "action=doc.sign" in url
            assert "page_size=7" in url
    assert len(seen) == 30
    assert seen == sorted(seen, reverse=True)


def test_before_and_after_cursors(admin_client, forty_events):
    first = admin_client.get("/api/audit/events/", {"target_type": "doc", "page_size": 10})
    page = first.json()
    assert page["previous"] is None
    assert len(page["results"]) == 10
    before = page["results"][-1]["seq"]
    second = admin_client.get("/api/audit/events/", {"target_type": "doc", "page_size": 10,
                                                     "before": before}).json()
    assert all(e["seq"] < before for e in second["results"])
    assert second["previous"] is not None
    back = admin_client.get(second["previous"]).json()
    assert [e["seq"] for e in back["results"]] == [e["seq"] for e in page["results"]]


def test_search_and_bad_filters(admin_client, forty_events):
    found = admin_client.get("/api/audit/events/", {"q": "person13"}).json()["results"]
    assert [e["target_id"] for e in found] == ["13"]
    assert admin_client.get("/api/audit/events/", {"q": "\"blue sky\"", "action": "doc.reject"}
                            ).json()["results"][0]["action"] == "doc.reject"
    bad = admin_client.get("/api/audit/events/", {"until": "soon"})
    assert bad.status_code == 400
    assert "until" in bad.json()["errors"]
    assert admin_client.get("/api/audit/events/", {"before": "x"}).status_code == 400


def test_detail(admin_client, record_event):
    event = record_event(action="thing.do", data={"k": "v"})
    body = admin_client.get(f"/api/audit/events/{event.seq}/").json()
    assert (body["action"], body["data"], body["hash"]) == ("thing.do", {"k": "v"}, event.hash)
    assert admin_client.get("/api/audit/events/999999999/").status_code == 404


def test_verify_reports_and_records(admin_client, record_event, audit_since):
    record_event()
    ok = admin_client.post("/api/audit/verify/").json()
    assert ok["ok"] is True
    assert ok["failure"] is None
    victim = record_event(data={"n": 1})
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_event SET actor_label = 'someone else' WHERE seq = %s",
                       [victim.seq])
        cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")
    broken = admin_client.post("/api/audit/verify/").json()
    assert broken["ok"] is False
    assert broken["failure"]["seq"] == victim.seq
    assert broken["failure"]["kind"] == "hash"
    recorded = audit_since(action="audit.verify")
    assert [e.data["ok"] for e in recorded] == [True, False]
    assert recorded[1].data["failure"]["seq"] == victim.seq


def test_time_ranges(admin_client, record_event, monkeypatch):
    first, second, third = (record_event(action="clock.tick") for _ in range(3))
    found = admin_client.get("/api/audit/events/", {
        "action": "clock.tick", "since": second.at.isoformat(),
        "until": third.at.isoformat()}).json()["results"]
    assert [e["seq"] for e in found] == [second.seq]
    assert admin_client.get("/api/audit/events/", {
        "action": "clock.tick", "until": first.at.isoformat()}).json()["results"] == []


def test_event_times_never_go_backwards(record_event, monkeypatch):
    from datetime import timedelta

    from apps.audit import services

    first = record_event()
    earlier = first.at - timedelta(minutes=5)
    monkeypatch.setattr(services.timezone, "now", lambda: earlier)  # the clock jumps back
    second = record_event()
    assert second.at == first.at
