import pytest

from apps.audit.tasks import audit_verify_chain
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
