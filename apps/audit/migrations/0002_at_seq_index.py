"""Event times never decrease along seq (services._now_after), so a time range
is a seq range: one probe of an (at, seq) index finds each bound."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS audit_event_at; "
            "CREATE INDEX audit_event_at_seq ON audit_event (at, seq);",
            "DROP INDEX IF EXISTS audit_event_at_seq; "
            "CREATE INDEX audit_event_at ON audit_event (at);",
        ),
    ]
