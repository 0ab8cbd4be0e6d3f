"""Demo data for the templates: the teams they assign work to, and the endpoint the
Invoice review template posts to."""

from __future__ import annotations

from apps.approvals.models import Team
from apps.approvals.services import team_create
from apps.runs.triggers import workflow_runtime_get
from apps.templates.documents_load import templates_load
from apps.variables.models import Variable
from apps.variables.services import variable_create
from apps.workflows.models import Workflow
from apps.workflows.services import workflow_create, workflow_publish


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


RECEIVER_NAME = "Accounting (demo receiver)"
RECEIVER_VARIABLE = "invoice_receiver_url"
RECEIVER_GRAPH = {
    "nodes": [
        {"id": "received", "type": "trigger.webhook", "version": 1, "name": "Invoice posted",
         "config": {"mode": "async"}, "position": {"x": 0, "y": 0}},
        {"id": "book", "type": "audit.record", "version": 1, "name": "Book it",
         "config": {"action": "invoice.booked", "subject": "{{ run.input.number }}",
                    "data": {"vendor": "{{ run.input.vendor }}",
                             "total": "{{ run.input.total }}"}},
         "position": {"x": 260, "y": 0}},
    ],
    "edges": [{"id": "e1", "source": "received", "source_port": "out", "target": "book",
               "target_port": "in"}],
    "notes": [],
}


def template_demo_receiver_ensure(*, user, base_url: str) -> str | None:
    """The Invoice review template's accounting endpoint for the demo: a published
    workflow whose webhook books each posted invoice in the audit log (a repeated post
    with the same Idempotency-Key answers with the first run), and the variable
    `invoice_receiver_url` pointing at it. Returns the URL when it set the variable;
    an existing variable is left as it is."""
    if Variable.objects.filter(name=RECEIVER_VARIABLE).exists():
        return None
    workflow = Workflow.objects.filter(name=RECEIVER_NAME).first()
    if workflow is None:
        workflow = workflow_create(user=user, name=RECEIVER_NAME, graph=RECEIVER_GRAPH,
                                   description="Receives the invoices the Invoice review "
                                               "template posts, for the demo.")
        workflow_publish(workflow=workflow, user=user, note="Demo")
    secret = workflow_runtime_get(workflow=workflow).webhook_secret
    url = f"{base_url.rstrip('/')}/hooks/{secret}/"
    variable_create(user=user, name=RECEIVER_VARIABLE, value=url,
                    description="Where the Invoice review template posts approved invoices.")
    return url
