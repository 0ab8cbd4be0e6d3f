"""The audit table, its indexes and the triggers that make it append-only.

Created in SQL (the model is unmanaged) so the table is never flushed or
truncated by Django. The triggers are statement-level: UPDATE, DELETE and
TRUNCATE are refused even when they would touch no row."""

from django.db import migrations, models

CREATE = r"""
CREATE TABLE audit_event (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    at           timestamptz NOT NULL,
    actor_type   varchar(16) NOT NULL,
    actor_id     varchar(128) NOT NULL DEFAULT '',
    actor_label  varchar(200) NOT NULL DEFAULT '',
    user_id      bigint NULL,
    action       varchar(100) NOT NULL,
    target_type  varchar(64) NOT NULL DEFAULT '',
    target_id    varchar(128) NOT NULL DEFAULT '',
    target_label varchar(300) NOT NULL DEFAULT '',
    request_id   varchar(64) NOT NULL DEFAULT '',
    run_id       varchar(64) NOT NULL DEFAULT '',
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash    char(64) NOT NULL,
    hash         char(64) NOT NULL
);
CREATE INDEX audit_event_action_seq ON audit_event (action, seq);
CREATE INDEX audit_event_user_seq ON audit_event (user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX audit_event_actor_label_seq ON audit_event (actor_label, seq);
CREATE INDEX audit_event_target_seq ON audit_event (target_type, target_id, seq);
CREATE INDEX audit_event_at ON audit_event (at);
CREATE INDEX audit_event_request ON audit_event (request_id) WHERE request_id <> '';
CREATE INDEX audit_event_run_seq ON audit_event (run_id, seq) WHERE run_id <> '';
-- Free-text search over the payload's strings and numbers (see selectors.SEARCH_SQL).
CREATE INDEX audit_event_data_search ON audit_event
    USING gin (jsonb_to_tsvector('simple'::regconfig, data, '["string", "numeric"]'::jsonb));

CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The audit log can only grow; record a new event instead.';
END;
$$;
CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"""

DROP = r"""
DROP TABLE IF EXISTS audit_event;
DROP FUNCTION IF EXISTS audit_event_refuse_change();
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="AuditEvent",
                fields=[
                    ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                    ("at", models.DateTimeField()),
                    ("actor_type", models.CharField(max_length=16)),
                    ("actor_id", models.CharField(blank=True, default="", max_length=128)),
                    ("actor_label", models.CharField(blank=True, default="", max_length=200)),
                    ("user_id", models.BigIntegerField(blank=True, null=True)),
                    ("action", models.CharField(max_length=100)),
                    ("target_type", models.CharField(blank=True, default="", max_length=64)),
                    ("target_id", models.CharField(blank=True, default="", max_length=128)),
                    ("target_label", models.CharField(blank=True, default="", max_length=300)),
                    ("request_id", models.CharField(blank=True, default="", max_length=64)),
                    ("run_id", models.CharField(blank=True, default="", max_length=64)),
                    ("data", models.JSONField(default=dict)),
                    ("prev_hash", models.CharField(max_length=64)),
                    ("hash", models.CharField(max_length=64)),
                ],
                options={"db_table": "audit_event", "ordering": ["-seq"], "managed": False},
            ),
        ]),
    ]
