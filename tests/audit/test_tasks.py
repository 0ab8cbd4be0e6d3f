import pytest

from apps.audit.models import AuditPending
from apps.audit.services import audit_record_later
from apps.audit.tasks import audit_chain_pending, audit_verify_chain
from celery_worker.app import app

pytestmark = pytest.mark.django_db


def test_beat_verifies_the_chain_on_the_maintenance_queue():
    entry = app.conf.beat_schedule["audit-verify-chain"]
    assert entry["task"] == audit_verify_chain.name
    assert entry["options"]["queue"] == "maintenance"
    assert app.amqp.router.route({}, audit_verify_chain.name)["queue"].name == "maintenance"


def test_the_task_records_its_result(record_event, audit_since):
    record_event()
    assert audit_verify_chain.run() is True
    (event,) = audit_since(action="audit.verify")
    assert (event.actor_type, event.actor_label, event.data["ok"]) == ("system", "scheduler",
                                                                       True)


def test_beat_chains_the_events_a_dead_process_left_pending(audit_since):
    """A process that died between its commit and its chainer thread's turn leaves its
    events pending: the scheduled task chains them."""
    entry = app.conf.beat_schedule["audit-chain-pending"]
    assert entry["task"] == audit_chain_pending.name
    assert app.amqp.router.route({}, audit_chain_pending.name)["queue"].name == "maintenance"
    audit_record_later(action="thing.left")  # in the test's transaction: no commit chains it
    assert AuditPending.objects.count() == 1
    assert audit_chain_pending.run() == 1
    assert [e.action for e in audit_since()] == ["thing.left"]
    assert not AuditPending.objects.exists()
