"""An invoice line's invoice is checked once per statement too, like its child, unit and
tariff (0005), instead of a deferred foreign key checked line by line at commit.

A month of drafts is about 160,000 lines: their invoice key cost PostgreSQL ≈ 0.7 s of
CPU in five commits (docs/benchmarks.md). ``treasury.services.drafts`` now writes each
batch's invoices before their lines, so the check can run when the lines' ``COPY`` ends:
every invoice named must exist, and is locked ``FOR KEY SHARE`` as a foreign key check
would; an invoice named by lines cannot be deleted (Django deletes the lines first) and
its id cannot change. Same error code as a foreign key (23503, ``IntegrityError``).
"""

from importlib import import_module

from django.db import migrations, models

references = import_module("treasury.migrations.0005_line_references_by_statement")

NAMED = references.NAMED + (("invoice_id", "treasury_invoice", "an invoice"),)

FORWARD = references.functions_sql(NAMED) + references.PER_TABLE.format(
    table="treasury_invoice")

BACKWARD = """
DROP TRIGGER IF EXISTS treasury_invoice_invoice_lines ON treasury_invoice;
DROP TRIGGER IF EXISTS treasury_invoice_id_fixed ON treasury_invoice;
""" + references.functions_sql(references.NAMED)


class Migration(migrations.Migration):
    dependencies = [("treasury", "0006_billed_days")]
    # The checks first: no moment without one between the two steps.
    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.AlterField(
            model_name="invoiceline", name="invoice",
            field=models.ForeignKey(db_constraint=False, on_delete=models.CASCADE,
                                    related_name="lines", to="treasury.invoice")),
    ]
