"""The action journal is append-only: the database itself rejects UPDATE, DELETE and TRUNCATE.

The trigger function lives in the public schema (shared by every commune); each
schema's ``core_actionlog`` table gets its own triggers. Cloned communes inherit
the triggers from the template schema (a test checks it).
"""

from django.db import migrations

FORWARD = """
-- Schemas migrate in parallel processes: replacing the shared function in public at
-- the same time fails ("tuple concurrently updated"), so take turns.
SELECT pg_advisory_xact_lock(hashtext('parvis_reject_journal_change'));
CREATE OR REPLACE FUNCTION public.parvis_reject_journal_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the action journal is append-only (% refused on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER core_actionlog_no_update_delete
    BEFORE UPDATE OR DELETE ON core_actionlog
    FOR EACH ROW EXECUTE FUNCTION public.parvis_reject_journal_change();
CREATE TRIGGER core_actionlog_no_truncate
    BEFORE TRUNCATE ON core_actionlog
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_reject_journal_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS core_actionlog_no_update_delete ON core_actionlog;
DROP TRIGGER IF EXISTS core_actionlog_no_truncate ON core_actionlog;
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
