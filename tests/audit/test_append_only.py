"""The database itself refuses to change or remove audit events, and the
verifier names the first event that was tampered with behind its back."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditPending
from apps.audit.services import (
    CHAIN_LOCK_KEY,
    audit_pending_chain,
    audit_record,
    audit_record_later,
)
from apps.audit.verification import GAP, HASH, LINK, chain_verify

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET action = 'x.y' WHERE seq = %s",
    "DELETE FROM audit_event WHERE seq = %s",
    "UPDATE audit_event SET data = '{}' WHERE seq = -%s",  # refused even when nothing matches
    "TRUNCATE audit_event",
])
def test_the_database_refuses_changes(statement):
    event = audit_record(action="thing.do", data={"a": 1})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(statement, [event.seq] if "%s" in statement else None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT action, data::text FROM audit_event WHERE seq = %s", [event.seq])
        assert cursor.fetchone() == ("thing.do", '{"a": 1}')


@pytest.mark.parametrize("statement", [
    "UPDATE audit_pending SET event = '{}'",
    "DELETE FROM audit_pending",
    "DELETE FROM audit_pending WHERE id < 0",  # refused even when nothing matches
])
def test_events_waiting_to_be_chained_can_only_move_onto_the_chain(statement):
    """A node's model-call event waits in audit_pending until it is chained; meanwhile
    nobody changes or removes it, except the chaining that holds the chain's lock."""
    audit_record_later(action="inference.call", data={"model": "m"})
    with pytest.raises(DatabaseError, match="only move onto the chain"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert [p.event["data"] for p in AuditPending.objects.all()] == [{"model": "m"}]
    with transaction.atomic(), connection.cursor() as cursor:  # another lock is not it
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY + 1])
        with pytest.raises(DatabaseError, match="only move onto the chain"), \
                transaction.atomic():
            cursor.execute("DELETE FROM audit_pending")
    assert audit_pending_chain() == 1
    assert not AuditPending.objects.exists()
    assert chain_verify().ok


def _behind_the_triggers_back(sql, params):
    """What a superuser could do: switch the triggers off, change the table."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")


def _three():
    return [audit_record(action="thing.do", data={"n": n}) for n in range(3)]


def test_an_edited_payload_is_named_by_audit_verify():
    _, victim, _ = _three()
    _behind_the_triggers_back("UPDATE audit_event SET data = '{\"n\": 99}' WHERE seq = %s",
                              [victim.seq])
    result = chain_verify()
    assert not result.ok
    assert (result.failure.seq, result.failure.kind) == (victim.seq, HASH)
    with pytest.raises(CommandError, match=f"#{victim.seq} \\(hash\\)") as raised:
        call_command("audit_verify")
    assert raised.value.returncode == 1


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    _, victim, after = _three()
    _behind_the_triggers_back("UPDATE audit_event SET hash = repeat('a', 64) WHERE seq = %s",
                              [victim.seq])
    result = chain_verify()
    # the victim's own hash no longer matches its content, which is reported first
    assert (result.failure.seq, result.failure.kind) == (victim.seq, HASH)
    _behind_the_triggers_back("UPDATE audit_event SET prev_hash = repeat('b', 64) "
                              "WHERE seq = %s", [after.seq])
    _behind_the_triggers_back("UPDATE audit_event SET hash = %s WHERE seq = %s",
                              [victim.hash, victim.seq])
    result = chain_verify()
    assert (result.failure.seq, result.failure.kind) == (after.seq, LINK)


def test_a_deleted_event_is_a_gap():
    _, victim, _ = _three()
    _behind_the_triggers_back("DELETE FROM audit_event WHERE seq = %s", [victim.seq])
    result = chain_verify(batch_size=2)
    assert (result.failure.seq, result.failure.kind) == (victim.seq, GAP)
    assert f"#{victim.seq} missing" in result.failure.detail


def test_audit_verify_passes_on_an_intact_chain(capsys):
    _three()
    call_command("audit_verify", "--batch-size", "2")
    assert "Chain valid" in capsys.readouterr().out


def test_verification_is_recorded(audit_since):
    _three()
    call_command("audit_verify", "--record")
    (event,) = audit_since(action="audit.verify")
    assert event.data["ok"] is True
    assert event.data["count"] == event.seq - 1
    assert event.actor_type == "system"
