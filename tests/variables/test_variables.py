"""Variables: the API (names checked, unique regardless of case, audited), `vars.NAME`
in expressions, and a run that keeps the values it started with."""

import pytest

from apps.runs.models import NodeRun
from apps.runs.services import run_start
from apps.variables.models import Variable
from apps.variables.selectors import variables_forget
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    variables_forget()
    yield
    variables_forget()


def test_an_editor_creates_changes_and_deletes_a_variable(editor_client, viewer_client,
                                                           audit_since):
    created = editor_client.post("/api/variables/", {"name": "region", "value": "eu-west"},
                                 format="json")
    assert created.status_code == 201, created.data
    assert viewer_client.get("/api/variables/region/").data["value"] == "eu-west"
    changed = editor_client.patch("/api/variables/region/", {"value": "us-east"},
                                  format="json")
    assert changed.data["value"] == "us-east"
    [update] = audit_since(action="variable.update")
    assert update.data["before"]["value"] == "eu-west"
    assert update.data["after"]["value"] == "us-east"
    assert editor_client.delete("/api/variables/region/").status_code == 204
    assert not Variable.objects.exists()
    assert viewer_client.post("/api/variables/", {"name": "x", "value": "1"},
                              format="json").status_code == 403


@pytest.mark.parametrize("name", ["my region", "1st", "vars.x", "a-b", "", "x" * 65, "régión"])
def test_a_name_expressions_cannot_read_is_refused_naming_the_field(editor_client, name):
    response = editor_client.post("/api/variables/", {"name": name, "value": "v"},
                                  format="json")
    assert response.status_code == 400
    assert "name" in response.data["errors"]
    assert not Variable.objects.exists()


def test_names_are_unique_regardless_of_case(editor_client):
    editor_client.post("/api/variables/", {"name": "Region", "value": "a"}, format="json")
    response = editor_client.post("/api/variables/", {"name": "region", "value": "b"},
                                  format="json")
    assert response.status_code == 409
    assert response.data["code"] == "duplicate_name"
    assert list(Variable.objects.values_list("value", flat=True)) == ["a"]


@pytest.mark.parametrize(("value", "field"), [("a\x00b", "body.value"), ("a\x07b", "value")])
def test_a_value_with_control_characters_is_refused(editor_client, value, field):
    response = editor_client.post("/api/variables/", {"name": "x", "value": value},
                                  format="json")
    assert response.status_code == 400
    assert field in response.data["errors"]
    assert not Variable.objects.exists()


READ_VARS = flow(("start", "trigger.manual"),
                 ("set", "data.set", {"fields": [{"name": "where",
                                                  "value": "vars.region + '/' + input.id"}]}),
                 edges=[("start", "set")])


def test_expressions_read_vars_and_a_run_keeps_the_values_it_saw(publish, editor_client):
    editor_client.post("/api/variables/", {"name": "region", "value": "eu-west"},
                       format="json")
    workflow = publish(READ_VARS)
    first = run_start(workflow=workflow, input={"id": "7"})
    assert NodeRun.objects.get(run=first, node_id="set").outputs["out"] == {
        "where": "eu-west/7"}
    editor_client.patch("/api/variables/region/", {"value": "us-east"}, format="json")
    second = run_start(workflow=workflow, input={"id": "8"})
    assert NodeRun.objects.get(run=second, node_id="set").outputs["out"] == {
        "where": "us-east/8"}
    first.refresh_from_db()
    assert first.vars == {"region": "eu-west"}  # what the first run saw, still
    assert second.vars == {"region": "us-east"}
