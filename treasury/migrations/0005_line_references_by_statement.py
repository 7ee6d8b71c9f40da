"""An invoice line's child, unit and tariff are checked once per statement, not per line.

A month of drafts is a ``COPY`` of about 160,000 lines; with four deferred foreign keys
PostgreSQL ran 640,000 checks one by one at commit (≈ 2.9 s of a 6.2 s run,
docs/benchmarks.md). The line -> invoice key stays a real foreign key; the other three
become statement-level triggers that keep the same guarantees:

* ``treasury_invoiceline`` INSERT or UPDATE: every child, unit and tariff named by the
  new lines must exist, and is locked ``FOR KEY SHARE`` (as a foreign key check locks
  it), so that a concurrent transaction cannot delete it before this one commits.
  Refused with SQLSTATE 23503 (foreign_key_violation), which Django raises as
  ``IntegrityError``, like a foreign key.
* ``portal_child``, ``portal_unit``, ``treasury_tariff`` DELETE: refused if a line names
  one of the deleted rows (the lines are read with a fresh snapshot: under READ
  COMMITTED, Django's default, a delete that waited for a concurrent inserter sees its
  lines). Their ``id`` cannot change either.

Django still applies ``on_delete=PROTECT`` before any delete. As with the other
triggers (0004), the table owner can switch them off; TRUNCATE is not checked.
"""

from django.db import migrations, models

# What a line names: (column of treasury_invoiceline, table it names, word in messages).
NAMED = (("child_id", "portal_child", "a child"), ("unit_id", "portal_unit", "a unit"),
         ("tariff_id", "treasury_tariff", "a tariff"))

CHECK = """
    SELECT count(DISTINCT {column}) INTO wanted FROM new_lines;
    IF wanted > 0 THEN
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM {table}
            WHERE id IN (SELECT {column} FROM new_lines) FOR KEY SHARE) found;
        IF locked < wanted THEN
            RAISE EXCEPTION 'an invoice line names {word} that does not exist'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;"""

DELETED = """
    {keyword} TG_TABLE_NAME = '{table}' THEN
        SELECT l.{column} INTO named FROM treasury_invoiceline l
        WHERE l.{column} IN (SELECT id FROM old_rows) LIMIT 1;"""

PER_TABLE = """
CREATE TRIGGER {table}_invoice_lines
    AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_invoice_line_target_deleted();
CREATE TRIGGER {table}_id_fixed
    BEFORE UPDATE OF id ON {table} FOR EACH ROW WHEN (OLD.id <> NEW.id)
    EXECUTE FUNCTION public.parvis_refuse_id_change();"""

def functions_sql(named) -> str:
    """The three trigger functions, for lines naming the (column, table, word) of ``named``
    (migration 0007 re-creates them with the line's invoice added)."""
    return """
SELECT pg_advisory_xact_lock(hashtext('parvis_invoice_line_references'));
CREATE OR REPLACE FUNCTION public.parvis_invoice_line_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    locked bigint;
BEGIN""" + "".join(CHECK.format(column=column, table=table, word=word)
                   for column, table, word in named) + """
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.parvis_invoice_line_target_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    named bigint;
BEGIN""" + "".join(DELETED.format(keyword="IF" if index == 0 else "ELSIF", column=column,
                                  table=table)
                   for index, (column, table, _word) in enumerate(named)) + """
    END IF;
    IF named IS NOT NULL THEN
        RAISE EXCEPTION '% % is named by invoice lines and cannot be deleted',
            TG_TABLE_NAME, named USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.parvis_refuse_id_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the id of % % cannot change', TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'foreign_key_violation';
END
$$;
"""


FORWARD = functions_sql(NAMED) + """
CREATE TRIGGER treasury_invoiceline_references_insert
    AFTER INSERT ON treasury_invoiceline REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_invoice_line_references();
CREATE TRIGGER treasury_invoiceline_references_update
    AFTER UPDATE ON treasury_invoiceline REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION public.parvis_invoice_line_references();
""" + "".join(PER_TABLE.format(table=table) for _column, table, _word in NAMED)

BACKWARD = """
DROP TRIGGER IF EXISTS treasury_invoiceline_references_insert ON treasury_invoiceline;
DROP TRIGGER IF EXISTS treasury_invoiceline_references_update ON treasury_invoiceline;
""" + "".join(f"DROP TRIGGER IF EXISTS {table}_invoice_lines ON {table};\n"
              f"DROP TRIGGER IF EXISTS {table}_id_fixed ON {table};\n"
              for _column, table, _word in NAMED)


def line_key(name: str, target: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name="invoiceline", name=name,
        field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                on_delete=models.PROTECT, related_name="+", to=target))


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_authorisedpickup_note"),
        ("treasury", "0004_issued_invoices_frozen"),
    ]
    # The triggers first: no moment without a check between the two steps.
    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        line_key("child", "portal.child"),
        line_key("tariff", "treasury.tariff"),
        line_key("unit", "portal.unit"),
    ]
