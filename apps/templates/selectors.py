"""What the template gallery shows a user: each template with the teams it needs that
do not exist yet (publishing, and a test run, refuse the draft until an admin creates
them with at least one member; `make run`'s demo data creates them)."""

from __future__ import annotations

from typing import Any

from apps.approvals.models import Team
from apps.templates.documents_load import Template, templates_load
from apps.workflows.selectors import workflow_name_free


def _ready_teams(names: set[str]) -> set[str]:
    return set(Team.objects.filter(name__in=names, members__isnull=False)
               .values_list("name", flat=True).distinct())


def template_gallery() -> list[dict[str, Any]]:
    templates: tuple[Template, ...] = templates_load()
    ready = _ready_teams({team for template in templates for team in template.teams})
    return [{"slug": t.slug, "name": t.name, "free_name": workflow_name_free(name=t.name),
             "description": t.description,
             "teams": list(t.teams), "missing_teams": [n for n in t.teams if n not in ready],
             "sample_input": t.sample_input, "graph": t.graph} for t in templates]
