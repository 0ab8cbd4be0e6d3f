"""Every template document is a graph the validator accepts, with the teams it names
listed, and a sample input the trigger takes."""

from __future__ import annotations

import pytest

from apps.templates import templates_load
from apps.workflows.services import graph_validate

EXPECTED = {"Support ticket escalation", "Invoice review", "Insurance claim triage",
            "Data-deletion request",
            "Order fraud sweep"}


def test_the_gallery_has_the_templates():
    assert {template.name for template in templates_load()} >= EXPECTED


@pytest.mark.parametrize("template", templates_load(), ids=lambda t: t.slug)
def test_template_graph_is_valid(template):
    assert [p.as_dict() for p in graph_validate(graph=template.graph)] == []
    assert template.description.strip()
    assert isinstance(template.sample_input, dict)
    assert template.sample_input


@pytest.mark.parametrize("template", templates_load(), ids=lambda t: t.slug)
def test_template_lists_every_team_it_names(template):
    named = set()
    for node in template.graph["nodes"]:
        if node["type"] == "human.approval":
            named |= set(node["config"].get("assignee_teams", []))
            named |= {step["team"] for step in node["config"].get("when_overdue", [])
                      if step.get("team")}
    assert named == set(template.teams)
