"""Demo data for the templates: the teams they assign work to."""

from __future__ import annotations

from apps.approvals.models import Team
from apps.approvals.services import team_create
from apps.templates.documents_load import templates_load


def template_teams_ensure(*, user) -> list[str]:
    """Create each team a template names that does not exist, with `user` as its lead
    (and so a member), so that the templates can be tried and published at once.
    Returns the names created; existing teams are left as they are."""
    created = []
    for name in dict.fromkeys(team for t in templates_load() for team in t.teams):
        if not Team.objects.filter(name__iexact=name).exists():
            team_create(user=user, name=name, lead=user,
                        description="Created with the demo data for the workflow templates.")
            created.append(name)
    return created
