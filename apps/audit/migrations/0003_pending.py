from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_at_seq_index")]

    operations = [
        migrations.CreateModel(
            name="AuditPending",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("at", models.DateTimeField()),
                ("event", models.JSONField()),
            ],
            options={"db_table": "audit_pending", "ordering": ["id"]},
        ),
    ]
