from pydantic import BaseModel

from apps.expressions.fields import CelField, TemplateField, expression_problems
from apps.nodes.registry import registry


def test_check_api(client_for, api_client):
    client = client_for("viewer")
    ok = client.post("/api/expressions/check/", {"expression": "input.a > 1"}, format="json")
    assert ok.status_code == 200
    assert ok.data == {"valid": True}
    bad = client.post("/api/expressions/check/", {"expression": "input.a >"}, format="json")
    assert bad.data["valid"] is False
    assert bad.data["error"]["position"] == 9
    assert bad.data["error"]["message"]
    template = client.post("/api/expressions/check/",
                           {"expression": "Hi {{ item.name }}", "template": True,
                            "variables": ["item"]}, format="json")
    assert template.data == {"valid": True}
    unknown = client.post("/api/expressions/check/", {"expression": "x", "nope": 1},
                          format="json")
    assert unknown.status_code == 400
    assert api_client.post("/api/expressions/check/", {"expression": "1"},
                           format="json").status_code in (401, 403)


def test_fields_carry_the_widget_marker_and_are_checked_by_name():
    class Inner(BaseModel):
        when: str = CelField(names=("item",))

    class Config(BaseModel):
        url: str = TemplateField("")
        cases: list[Inner] = []

    schema = Config.model_json_schema()
    assert schema["properties"]["url"]["x-weft-widget"] == "template"
    assert schema["$defs"]["Inner"]["properties"]["when"]["x-weft-widget"] == "cel"
    assert schema["$defs"]["Inner"]["properties"]["when"]["x-weft-variables"] == ["item"]
    config = Config(url="https://x/{{ input.id + }}", cases=[Inner(when="item.a"),
                                                             Inner(when="item.a >")])
    problems = expression_problems(config)
    assert len(problems) == 2
    assert problems[0].startswith("field 'url'")
    assert problems[1].startswith("field 'cases[1].when'")


def test_graph_validation_reports_invalid_cel_on_publish(db):
    from apps.workflows.graph import validate_graph

    graph = {"nodes": [
        {"id": "start", "type": "trigger.manual", "version": 1, "config": {},
         "position": {"x": 0, "y": 0}},
        {"id": "check", "type": "control.if", "version": 1,
         "config": {"condition": "input.total >"}, "position": {"x": 1, "y": 0}},
    ], "edges": [{"id": "e1", "source": "start", "source_port": "out", "target": "check",
                  "target_port": "in"}]}
    problems = [p for p in validate_graph(graph, registry) if p.code == "invalid_config"]
    assert len(problems) == 1
    assert problems[0].node_id == "check"
    assert "'condition'" in problems[0].message
