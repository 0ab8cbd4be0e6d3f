"""A shadow model's label is recorded through the masker of the run whose node called
the primary, as the primary's is: the shadow call runs out of band, in a task of its own,
where no run's masker is in flight unless it sets it."""

from __future__ import annotations

import pytest

from apps.audit.personal import PERSONAL_MASK
from apps.oversight.models import CallRole, ModelCall
from apps.oversight.recording import model_calls_discard, model_calls_flush
from apps.oversight.shadow import shadow_call_run
from apps.privacy.services import policy_set
from apps.runs import services
from tests.oversight.conftest import classify_flow

pytestmark = pytest.mark.django_db


def test_a_shadow_models_label_is_recorded_through_the_runs_masker(
        model_server, publish, create_user):
    workflow = publish(classify_flow(model_server.name))
    # A reporter's name that happens to be what the model answers: personal in this run.
    policy_set(workflow=workflow, user=create_user(roles=["admin"]), paths=["input.reporter"],
               detectors=[])
    run = services.run_start(workflow=workflow, input={"texts": ["Everything is down"],
                                                       "reporter": "critical"})
    model_calls_discard()
    values = {"text": ["Everything is down"]}
    assert shadow_call_run(server=model_server.name, model="ticket_urgency", version="",
                           values=values, run_id=str(run.pk), node_id="classify") == "ok"
    assert shadow_call_run(server=model_server.name, model="ticket_urgency", version="",
                           values=values, run_id="", node_id="classify") == "ok"
    model_calls_flush()
    labels = dict(ModelCall.objects.filter(role=CallRole.SHADOW).values_list("run_id", "label"))
    assert labels == {run.pk: PERSONAL_MASK, None: "critical"}
