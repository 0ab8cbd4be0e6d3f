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


@pytest.mark.parametrize("template", templates_load(), ids=lambda t: t.slug)
def test_a_draft_from_a_template_tests_with_its_sample(template):
    """The trigger of a template carries its sample (when its type takes one), so the
    test dialog of a draft made from it is filled in with the sample."""
    from apps.runs.test_runs import sample_input

    (trigger,) = [n for n in template.graph["nodes"] if n["type"].startswith("trigger.")]
    if trigger["type"] == "trigger.schedule":
        assert "sample_input" not in trigger["config"]  # the type takes none
    else:
        assert sample_input(template.graph) == template.sample_input
