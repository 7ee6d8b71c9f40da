"""Issued documents are never edited: the database itself refuses it.

* ``treasury_invoice``: once a document is no longer a draft, an UPDATE may change only
  its status (issued -> cancelled; never back to draft, never out of cancelled),
  ``reminded_at`` and ``sent_to_treasury_at``: total, family, number, sequence, year,
  kind, dates, debtor, period, run, credited invoice and reason are frozen. It cannot
  be deleted either. Drafts are free (the run numbers them by one UPDATE from ``draft``
  to ``issued``, and discards them).
* ``treasury_invoiceline``: no line of a non-draft document is inserted, updated or
  deleted. One exception, for the credit notes ``treasury.services.payments`` issues
  directly (created issued, then given their line): a credit note without any line may
  receive exactly one line whose amount is its total. These checks are statement-level
  (transition tables): the drafts' ``COPY`` of a million lines costs one join, not one
  function call per line.

The functions live in the public schema (shared by every commune, like the journal's
``parvis_reject_journal_change``) and read the tables of the schema in use; each
schema's tables get their own triggers, and cloned communes inherit them. A table owner
can still ``ALTER TABLE … DISABLE TRIGGER USER`` (the benchmark's reset does, in one
transaction): this guards against the application, not against the database owner.
"""


from django.db import migrations

FORWARD = """
-- Schemas migrate in parallel processes: replacing the shared function in public at
-- the same time fails ("tuple concurrently updated"), so take turns.
SELECT pg_advisory_xact_lock(hashtext('parvis_invoice_frozen'));
CREATE OR REPLACE FUNCTION public.parvis_invoice_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'issued document % cannot be deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.status = 'draft'
       OR (OLD.status = 'cancelled' AND NEW.status <> 'cancelled')
       OR (NEW.kind, NEW.family_id, NEW.run_id, NEW.period, NEW.year, NEW.sequence,
           NEW.number, NEW.issue_date, NEW.issued_at, NEW.due_date, NEW.total_cents,
           NEW.credited_invoice_id, NEW.reason, NEW.debtor_name, NEW.debtor_address1,
           NEW.debtor_address2, NEW.debtor_postcode, NEW.debtor_city, NEW.created_at)
          IS DISTINCT FROM
          (OLD.kind, OLD.family_id, OLD.run_id, OLD.period, OLD.year, OLD.sequence,
           OLD.number, OLD.issue_date, OLD.issued_at, OLD.due_date, OLD.total_cents,
           OLD.credited_invoice_id, OLD.reason, OLD.debtor_name, OLD.debtor_address1,
           OLD.debtor_address2, OLD.debtor_postcode, OLD.debtor_city, OLD.created_at)
    THEN
        RAISE EXCEPTION 'issued document % (%) cannot be edited: issue a credit note',
            OLD.number, OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION public.parvis_invoice_lines_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    refused bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A credit note issued directly: no line before, exactly one for its total.
        SELECT i.id INTO refused
        FROM treasury_invoice i
        JOIN (SELECT invoice_id, count(*) AS lines, sum(amount_cents) AS amount
              FROM new_lines GROUP BY invoice_id) n ON n.invoice_id = i.id
        WHERE i.status <> 'draft'
          AND NOT (i.kind = 'credit_note' AND n.lines = 1 AND n.amount = i.total_cents
                   AND NOT EXISTS (SELECT 1 FROM treasury_invoiceline l
                                   WHERE l.invoice_id = i.id
                                     AND l.id NOT IN (SELECT id FROM new_lines)))
        LIMIT 1;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT i.id INTO refused
        FROM treasury_invoice i
        WHERE i.status <> 'draft'
          AND i.id IN (SELECT invoice_id FROM old_lines UNION SELECT invoice_id FROM new_lines)
        LIMIT 1;
    ELSE
        SELECT i.id INTO refused
        FROM treasury_invoice i
        WHERE i.status <> 'draft' AND i.id IN (SELECT invoice_id FROM old_lines)
        LIMIT 1;
    END IF;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'the lines of issued document % cannot be changed (% refused)',
            refused, TG_OP USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER treasury_invoice_frozen_update
    BEFORE UPDATE ON treasury_invoice
    FOR EACH ROW WHEN (OLD.status <> 'draft')
    EXECUTE FUNCTION public.parvis_invoice_frozen();
CREATE TRIGGER treasury_invoice_frozen_delete
    BEFORE DELETE ON treasury_invoice
    FOR EACH ROW WHEN (OLD.status <> 'draft')
    EXECUTE FUNCTION public.parvis_invoice_frozen();
CREATE TRIGGER treasury_invoiceline_frozen_insert
    AFTER INSERT ON treasury_invoiceline REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_invoice_lines_frozen();
CREATE TRIGGER treasury_invoiceline_frozen_update
    AFTER UPDATE ON treasury_invoiceline REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_invoice_lines_frozen();
CREATE TRIGGER treasury_invoiceline_frozen_delete
    AFTER DELETE ON treasury_invoiceline REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_invoice_lines_frozen();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS treasury_invoice_frozen_update ON treasury_invoice;
DROP TRIGGER IF EXISTS treasury_invoice_frozen_delete ON treasury_invoice;
DROP TRIGGER IF EXISTS treasury_invoiceline_frozen_insert ON treasury_invoiceline;
DROP TRIGGER IF EXISTS treasury_invoiceline_frozen_update ON treasury_invoiceline;
DROP TRIGGER IF EXISTS treasury_invoiceline_frozen_delete ON treasury_invoiceline;
"""


class Migration(migrations.Migration):
    dependencies = [("treasury", "0003_helios")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
