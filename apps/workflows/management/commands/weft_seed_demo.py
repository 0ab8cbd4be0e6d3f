"""Demo workflows for a first look; only created once, when none exist. The teams and
the accounting endpoint the workflow templates need are added when missing."""

import os

from django.core.management.base import BaseCommand

from apps.accounts.services import first_admin_ensure
from apps.core.errors import Unprocessable
from apps.templates.services import template_demo_receiver_ensure, template_teams_ensure
from apps.workflows.models import Workflow
from apps.workflows.services import workflow_create, workflow_publish

DEMOS = [
    {
        "name": "Hello, Weft",
        "description": "A manual trigger feeding a pass-through node. Run it from the editor.",
        "graph": {
            "nodes": [
                {"id": "start", "type": "trigger.manual", "version": 1, "name": "Start",
                 "config": {"sample_input": {"hello": "world"}},
                 "position": {"x": 0, "y": 0}},
                {"id": "pass", "type": "core.noop", "version": 1, "name": "Pass through",
                 "config": {}, "position": {"x": 260, "y": 0}},
            ],
            "edges": [{"id": "e1", "source": "start", "source_port": "out",
                       "target": "pass", "target_port": "in"}],
            "notes": [],
        },
    },
    {
        "name": "Ticket urgency",
        "description": "Classifies a support ticket with the ticket_urgency model on the local "
                       "Triton server; its label and confidence are in the node's output.",
        "graph": {
            "nodes": [
                {"id": "start", "type": "trigger.manual", "version": 1, "name": "New ticket",
                 "config": {"sample_input": {
                     "subject": "Production outage",
                     "body": "Nobody can log in, every page returns 500."}},
                 "position": {"x": 0, "y": 0}},
                {"id": "classify", "type": "inference.triton", "version": 2,
                 "name": "Urgency",
                 "config": {"server": "local", "model": "ticket_urgency",
                            "inputs": {"text": 'input.subject + ". " + input.body'}},
                 "position": {"x": 260, "y": 0}},
            ],
            "edges": [{"id": "e1", "source": "start", "source_port": "out",
                       "target": "classify", "target_port": "in"}],
            "notes": [],
        },
    },
]


class Command(BaseCommand):
    help = "Create the demo workflows when there are none."

    def handle(self, *args, **options):
        admin, _ = first_admin_ensure()
        teams = template_teams_ensure(user=admin)
        if teams:
            self.stdout.write(f"Demo data: teams {', '.join(teams)} created (lead: "
                              f"{admin.username}) for the workflow templates.")
        if Workflow.objects.exists():
            self.stdout.write("Demo data: workflows exist already, nothing added.")
        else:
            self._demos(admin)
        # The worker posts to the web server on this machine (make run allows loopback).
        base_url = f"http://127.0.0.1:{os.environ.get('WEFT_PORT', '8000')}"
        receiver = template_demo_receiver_ensure(user=admin, base_url=base_url)
        if receiver:
            self.stdout.write(f"Demo data: invoices of the Invoice review template go to "
                              f"{receiver}.")

    def _demos(self, admin):
        for demo in DEMOS:
            workflow = workflow_create(user=admin, **demo)
            try:
                workflow_publish(workflow=workflow, user=admin, note="Demo")
            except Unprocessable as exc:  # e.g. no Triton server "local": left as a draft
                self.stdout.write(f"Demo data: {demo['name']!r} left as a draft: {exc.detail}")
        self.stdout.write(f"Demo data: {len(DEMOS)} workflow(s) created.")
