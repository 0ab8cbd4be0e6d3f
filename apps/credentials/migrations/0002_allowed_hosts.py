"""Credentials carry the hosts they may be sent to.

Existing credentials get the hosts of the static URLs of the HTTP nodes that use them,
in every published version and every draft, so that no workflow that ran before stops
working. Where that cannot be known (a node whose host is an expression, or a credential
that no node uses), the credential gets "*" (any host), which the API flags until an
admin replaces it with real hosts. New credentials must name their hosts.
"""

from urllib.parse import urlsplit

import django.contrib.postgres.fields
from django.db import migrations, models


def _static_host(url):
    """The host (with its port when one is written) of a URL whose authority has no
    expression in it; None when the host is dynamic."""
    if not isinstance(url, str):
        return None
    literal, templated, _ = url.partition("{{")
    if templated:
        scheme, sep, rest = literal.partition("://")
        if not sep or not any(c in rest for c in "/?#"):
            return None
    try:
        parts = urlsplit(literal if templated else url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def _uses(graph):
    for node in (graph or {}).get("nodes", []) if isinstance(graph, dict) else []:
        if not isinstance(node, dict) or node.get("type") != "http.request":
            continue
        config = node.get("config") or {}
        if isinstance(config, dict) and config.get("credential"):
            yield str(config["credential"]), config.get("url")


def fill_allowed_hosts(apps, schema_editor):
    Credential = apps.get_model("credentials", "Credential")
    Workflow = apps.get_model("workflows", "Workflow")
    WorkflowVersion = apps.get_model("workflows", "WorkflowVersion")
    found: dict[str, set] = {}
    graphs = [*WorkflowVersion.objects.values_list("graph", flat=True).iterator(),
              *Workflow.objects.values_list("graph", flat=True).iterator()]
    for graph in graphs:
        for credential_id, url in _uses(graph):
            found.setdefault(credential_id, set()).add(_static_host(url) or "*")
    for credential in Credential.objects.filter(allowed_hosts=[]):
        hosts = found.get(str(credential.pk)) or {"*"}
        credential.allowed_hosts = ["*"] if "*" in hosts else sorted(hosts)
        credential.save(update_fields=["allowed_hosts"])


class Migration(migrations.Migration):

    dependencies = [
        ('credentials', '0001_initial'),
        ('workflows', '0002_ordering'),
    ]

    operations = [
        migrations.AddField(
            model_name='credential',
            name='allowed_hosts',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=300), blank=True, default=list, size=None),
        ),
        migrations.AlterField(
            model_name='credential',
            name='kind',
            field=models.CharField(choices=[('bearer', 'Bearer token'), ('basic', 'Basic auth'), ('api_key', 'API key (header or query parameter)'), ('secret', 'Generic secret')], max_length=20),
        ),
        migrations.RunPython(fill_allowed_hosts, migrations.RunPython.noop),
    ]
