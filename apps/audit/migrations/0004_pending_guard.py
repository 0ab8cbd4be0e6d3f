"""Events waiting in audit_pending cannot be changed, nor removed except by the chaining
that moves them onto the chain: a DELETE is refused unless its session holds the chain's
lock (apps.audit.services.CHAIN_LOCK_KEY, taken by audit_pending_chain). TRUNCATE stays
allowed: the test runner's flush empties every managed table with it."""

from django.db import migrations

CHAIN_LOCK_KEY = 0x57EF7A0D17  # apps.audit.services.CHAIN_LOCK_KEY when this was written

CREATE = f"""
CREATE FUNCTION audit_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
            SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
              AND objsubid = 1
              AND ((classid::bigint << 32) | objid::bigint) = {CHAIN_LOCK_KEY}) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'pending audit events only move onto the chain: % on % is refused',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The audit log can only grow; record a new event instead.';
END;
$$;
CREATE TRIGGER audit_pending_guard BEFORE UPDATE OR DELETE ON audit_pending
    FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_pending_guard ON audit_pending;
DROP FUNCTION IF EXISTS audit_pending_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_pending")]

    operations = [migrations.RunSQL(CREATE, DROP)]
