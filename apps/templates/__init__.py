"""Workflow templates: ready workflows kept as JSON documents (`documents/*.json`),
not code. Each has a name, a description, the teams it assigns work to, a sample
input and a graph document; creating a workflow from one makes an ordinary draft.
`tests/templates` validates every graph and runs every sample through real workers.
No Django here: `selectors` adds what the API serves."""

from apps.templates.documents_load import Template, template_get, templates_load

__all__ = ["Template", "template_get", "templates_load"]
