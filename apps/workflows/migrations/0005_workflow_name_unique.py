"""Workflow names unique as people read them (apps.workflows.names): each workflow gets
its name's key; of workflows (not deleted) whose names read the same, all but the oldest
are renamed "<name> (2)", "<name> (3)"... before the unique index is made."""

from django.db import migrations, models


def fill_keys(apps, schema_editor):
    from apps.workflows.names import name_key

    Workflow = apps.get_model("workflows", "Workflow")
    taken: set[str] = set()
    for workflow in Workflow.objects.order_by("created_at", "id"):
        name, n = workflow.name, 1
        key = name_key(name) or "(unnamed)"
        if workflow.deleted_at is None:
            while key in taken:
                n += 1
                name = f"{workflow.name[:190]} ({n})"
                key = name_key(name)
            taken.add(key)
        Workflow.objects.filter(pk=workflow.pk).update(name=name, name_key=key)


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0004_test_snapshots_and_pins'),
    ]

    operations = [
        migrations.AddField(
            model_name='workflow',
            name='name_key',
            field=models.CharField(default='', editable=False, max_length=400),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='workflow',
            constraint=models.UniqueConstraint(condition=models.Q(('deleted_at__isnull', True)), fields=('name_key',), name='workflow_name_unique'),
        ),
    ]
