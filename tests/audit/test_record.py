import threading

import pytest
from django.db import connection, transaction

from apps.audit import chain
from apps.audit.actors import Actor, Target
from apps.audit.models import AuditEvent, AuditPending
from apps.audit.services import (
    EventSpec,
    audit_pending_chain,
    audit_record,
    audit_record_later,
    audit_record_many,
)
from apps.audit.verification import chain_verify
from apps.core.context import request_id_var, run_id_var

pytestmark = pytest.mark.django_db


def test_an_event_carries_who_what_on_which_and_links_to_the_previous(create_user,
                                                                      audit_since):
    user = create_user(username="ada")
    first = audit_record(action="thing.do", actor=user, target=Target("thing", "7", "Thing 7"),
                         data={"n": 1})
    second = audit_record(action="thing.undo", actor=Actor.model("classifier", 3),
                          target=user, run_id="run-1", request_id="req-1")
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert (first.actor_type, first.actor_id, first.actor_label, first.user_id) == (
        "user", str(user.pk), "ada", user.pk)
    assert (first.target_type, first.target_id, first.target_label) == ("thing", "7", "Thing 7")
    assert (second.actor_type, second.actor_id, second.actor_label) == (
        "model", "classifier:3", "classifier v3")
    assert (second.target_type, second.target_id, second.target_label) == (
        "user", str(user.pk), "ada")
    assert (second.run_id, second.request_id) == ("run-1", "req-1")
    stored = AuditEvent.objects.get(seq=first.seq)
    assert stored.hash == chain.event_hash(stored.prev_hash, chain.content_of(stored.content()))
    assert chain_verify().ok


def test_the_actor_copy_survives_a_rename(create_user):
    user = create_user(username="before")
    event = audit_record(action="thing.do", actor=user)
    user.username = "after"
    user.save()
    assert AuditEvent.objects.get(seq=event.seq).actor_label == "before"


def test_request_and_run_ids_come_from_the_context():
    rid, runid = request_id_var.set("req-ctx"), run_id_var.set("run-ctx")
    try:
        event = audit_record(action="thing.do")
    finally:
        request_id_var.reset(rid)
        run_id_var.reset(runid)
    assert (event.request_id, event.run_id) == ("req-ctx", "run-ctx")
    assert (event.actor_type, event.actor_id) == ("system", "weft")


def test_a_rolled_back_transaction_leaves_no_gap(audit_since):
    def fails_after_recording():
        with transaction.atomic():
            audit_record(action="thing.rolled_back")
            raise RuntimeError

    audit_record(action="thing.kept")
    with pytest.raises(RuntimeError):
        fails_after_recording()
    audit_record(action="thing.kept")
    events = audit_since()
    assert [e.action for e in events] == ["thing.kept", "thing.kept"]
    assert events[1].seq == events[0].seq + 1
    assert chain_verify().ok


def test_bad_actions_actors_and_targets_are_refused():
    with pytest.raises(ValueError, match="dotted name"):
        audit_record(action="has space")
    with pytest.raises(TypeError, match="actor"):
        audit_record(action="a.b", actor="someone")
    with pytest.raises(TypeError, match="target"):
        audit_record(action="a.b", target=42)
    with pytest.raises(ValueError, match="actor type"):
        Actor("robot")


def test_the_bulk_path_continues_the_same_chain(audit_since):
    audit_record(action="thing.before")
    count = audit_record_many(EventSpec(action="bulk.item", data={"i": i, "password": "x"})
                              for i in range(25))
    audit_record(action="thing.after")
    events = audit_since()
    assert count == 25
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 27))
    assert events[5].data == {"i": 4, "password": "[redacted]"}
    assert chain_verify().ok


def test_payload_values_are_stored_exactly_as_hashed(audit_since):
    import datetime
    import decimal
    import uuid

    audit_record(action="thing.types", data={
        "big": 1e20, "small": 1.5e-10, "half": 0.5, "int": 10**20, "nan": float("nan"),
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "dec": decimal.Decimal("1.10"), "id": uuid.UUID(int=1), "set": {"b", "a"},
        "nested": {"list": [1, "two", None, True]}, "unicode": "naïve ✓",
    })
    assert chain_verify().ok


def _in_threads(count, work):
    """work(n) on `count` threads at once, each with its own connection; their errors."""
    errors = []

    def run(n):
        try:
            work(n)
        except Exception as exc:  # returned to the test
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_a_gapless_valid_chain(audit_since):
    threads, per_thread = 6, 15

    def work(n):
        for i in range(per_thread):
            audit_record(action="thing.concurrent", data={"thread": n, "i": i})

    assert _in_threads(threads, work) == []
    events = audit_since(action="thing.concurrent")
    seqs = [e.seq for e in events]
    assert len(seqs) == threads * per_thread
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    result = chain_verify()
    assert result.ok, result.summary()


def test_events_recorded_later_join_the_chain_in_order_once_chained(audit_since):
    """audit_record_later (a node's model call) takes no lock: its events wait, committed,
    until audit_pending_chain moves them onto the chain, oldest first. One recorded
    after them directly is on the chain first, and the chain's times still never go
    backwards."""
    for n in range(3):
        audit_record_later(action="thing.later", data={"n": n}, run_id=f"run-{n}",
                           actor=Actor.model("classifier", 3))
    assert AuditPending.objects.count() == 3
    direct = audit_record(action="thing.now")
    assert [e.action for e in AuditEvent.objects.filter(seq__gte=direct.seq)] == ["thing.now"]
    assert audit_pending_chain() == 3
    assert audit_pending_chain() == 0
    later = audit_since(action="thing.later")
    assert [(e.data["n"], e.run_id) for e in later] == [(0, "run-0"), (1, "run-1"), (2, "run-2")]
    assert [e.seq for e in later] == [direct.seq + 1, direct.seq + 2, direct.seq + 3]
    assert all(e.at >= direct.at for e in later)  # recorded before it, chained after it
    assert (later[0].actor_type, later[0].actor_label) == ("model", "classifier v3")
    assert not AuditPending.objects.exists()
    assert chain_verify().ok


def test_an_event_recorded_later_rolls_back_with_its_transaction(audit_since):
    def fails_after_recording():
        with transaction.atomic():
            audit_record_later(action="thing.later")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fails_after_recording()
    assert not AuditPending.objects.exists()
    assert audit_pending_chain() == 0
    assert audit_since() == []


def test_chaining_moves_at_most_a_batch_per_lock_and_all_of_them(audit_since):
    for n in range(7):
        audit_record_later(action="thing.later", data={"n": n})
    assert audit_pending_chain(batch_size=3) == 7
    assert [e.data["n"] for e in audit_since(action="thing.later")] == list(range(7))
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_later_records_and_chainers_keep_every_event_once(audit_since, settings):
    """Threads record events later and directly and chain at the same time (as many
    processes' chainer threads do): every event ends on the chain once, gapless."""
    threads, per_thread = 4, 12

    def work(n):
        for i in range(per_thread):
            with transaction.atomic():
                audit_record_later(action="thing.later", data={"thread": n, "i": i})
            if i % 4 == 0:
                audit_record(action="thing.now", data={"thread": n, "i": i})
            audit_pending_chain()

    assert _in_threads(threads, work) == []
    audit_pending_chain()
    later = audit_since(action="thing.later")
    assert sorted((e.data["thread"], e.data["i"]) for e in later) == [
        (n, i) for n in range(threads) for i in range(per_thread)]
    seqs = [e.seq for e in audit_since()]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert chain_verify().ok
