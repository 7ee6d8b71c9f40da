"""Invoice PDFs rendered by worker processes for a big Hélios export (committed data:
the workers are other processes, on their own database connections)."""

import base64
import gzip

import pytest
import time_machine
from django.core.management import call_command
from lxml import etree

from tests.committed import throwaway_commune
from tests.treasury.helios_helpers import TODAY, XSD_DIR, make_overdue, needs_xsd
from treasury.helios.checks import schema_errors
from treasury.models import Invoice
from treasury.pdf_pool import invoice_pdfs

pytestmark = needs_xsd


@pytest.fixture
def committed(django_db_setup, django_db_blocker, settings, tmp_path):
    settings.HELIOS_XSD_DIR = XSD_DIR
    settings.HELIOS_DROP_DIR = str(tmp_path / "drop")
    with throwaway_commune(django_db_blocker, "impression") as commune:
        with django_db_blocker.unblock():
            with commune, time_machine.travel(TODAY, tick=False):
                invoices = make_overdue()
            yield commune, invoices


def test_workers_render_each_invoice_and_are_replaced_as_they_go(committed, django_db_blocker):
    commune, invoices = committed
    with django_db_blocker.unblock(), commune:
        pdfs = invoice_pdfs([invoice.pk for invoice in invoices], processes=2, per_process=1)
    assert set(pdfs) == {invoice.pk for invoice in invoices}
    assert all(pdf.startswith(b"%PDF") and len(pdf) > 1000 for pdf in pdfs.values())


def test_the_export_command_attaches_the_pdfs_rendered_by_workers(committed, django_db_blocker,
                                                                  tmp_path):
    commune, invoices = committed
    output = tmp_path / "ormc.xml"
    with django_db_blocker.unblock():
        call_command("export_helios", "--commune", commune.schema_name, "--output",
                     str(output), "--with-pdf", "--processes", "2")
        with commune:
            numbers = set(Invoice.objects.values_list("number", flat=True))
    content = output.read_bytes()
    assert schema_errors(content, xsd_dir=XSD_DIR) == []
    root = etree.fromstring(content)
    attachments = root.findall("PES_PJ/PJ")
    assert len(attachments) == len(invoices) == len(numbers)
    for attachment in attachments:
        pdf = gzip.decompress(base64.b64decode(attachment.find("Contenu/Fichier").text))
        assert pdf.startswith(b"%PDF")


def test_workers_read_the_callers_commune_only(committed, django_db_blocker):
    """Ids of one commune's invoices, asked from another commune: nothing is rendered."""
    _commune, invoices = committed
    with throwaway_commune(django_db_blocker, "ailleurs") as elsewhere:
        with django_db_blocker.unblock(), elsewhere:
            assert not Invoice.objects.exists()
            with pytest.raises(Exception, match="does not exist"):
                invoice_pdfs([invoice.pk for invoice in invoices], processes=1)
