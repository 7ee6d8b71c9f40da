"""PDF documents: invoices and credit notes, payment receipts, the childcare tax
certificate (its amounts are checked to the cent)."""

import io
import re
from datetime import date, time
from unittest import mock

import pypdf
import pytest
import time_machine

from portal.models import Facility, Service, ServiceKind, Unit
from tests.portal.factories import make_child
from tests.treasury.factories import SYSTEM, book, make_household, make_priced_unit, weekdays
from treasury.models import Channel, Invoice, InvoiceStatus, TreasuryProfile
from treasury.pdf import invoice_pdf, receipt_pdf, tax_certificate_pdf
from treasury.selectors_tax import tax_certificate_amounts
from treasury.services.payments import invoice_credit, payment_record
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start
from treasury.services.tariffs import tariff_set

MARCH = date(2026, 3, 1)
NOW = "2026-04-03 10:00 +02:00"
EVENING_PRICES = [100, 150, 200, 250, 300, 350, 400]  # bracket 3 (QF 700): 2,00 €


def text_of(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # format_cents separates with (narrow) no-break spaces: compare on plain spaces.
    return text.replace("\u202f", " ").replace("\xa0", " ")


def euros(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def make_evening_care(name="Accueil du soir"):
    facility, _ = Facility.objects.get_or_create(name="Groupe scolaire Vercors",
                                                 defaults={"kind": "school_group"})
    service = Service.objects.create(name=f"Périscolaire {name}", kind=ServiceKind.EVENING_CARE)
    unit = Unit.objects.create(service=service, facility=facility, name=name,
                               start_time=time(16, 30), end_time=time(18, 30), capacity=10,
                               weekdays="1,2,3,4,5", period="all_year")
    tariff_set(unit=unit, valid_from=date(2024, 1, 1), resident_cents=EVENING_PRICES,
               actor=SYSTEM)
    return unit


def issue_month(period=MARCH):
    run = invoicing_run_start(period=period, actor=SYSTEM)
    invoicing_run_compute(run_id=run.pk)
    return invoicing_run_issue(run_id=run.pk, actor=SYSTEM)


@pytest.fixture
def in_a(commune_a):
    with commune_a, time_machine.travel(NOW, tick=False):
        profile = TreasuryProfile.get()
        profile.regie_name = "Régie du périscolaire d'Alpha"
        profile.regie_address = "Mairie, 1 place de la République\n38360 Alpha-sur-Isère"
        profile.save()
        yield commune_a


@pytest.fixture
def household(in_a):
    """Léa (born 2017, over 6) and Léo (born 2022, under 6) of the Martin family, with
    evening care (childcare) and the canteen (meals) in March 2026. QF 700: bracket 3,
    evening care 2,00 €, canteen 3,20 € a day. The invoice: 4 000 cents in all, of which
    Léo's evening care is 1 000."""
    canteen = make_priced_unit()
    evening = make_evening_care()
    family, (lea,) = make_household(quotient=700)
    leo = make_child("Léo", "Martin", birth_date=date(2022, 5, 10), family=family)
    days = weekdays(date(2026, 3, 2), 7)
    book(leo, evening, days[:5])   # 5 × 2,00 € = 10,00 € (eligible)
    book(leo, canteen, days[:5])   # 5 × 3,20 € = 16,00 € (meals: not eligible)
    book(lea, evening, days)       # 7 × 2,00 € = 14,00 € (Léa is over 6)
    return family, lea, leo


def test_an_invoice_prints_its_number_debtor_lines_total_due_date_and_regie(
        household, max_sql_queries):
    family, lea, leo = household
    issue_month()
    invoice = Invoice.objects.get(family=family)
    assert invoice.total_cents == 4000
    with max_sql_queries(5):  # domain, régie, invoice with its state, lines
        data = invoice_pdf(invoice)
    text = text_of(data)
    assert invoice.number in text
    assert "Camille Martin" in text and "Sassenage" in text
    assert "Léo Martin" in text and "Léa Martin" in text
    assert euros(invoice.lines.filter(child=leo).first().label) in text
    assert "40,00 €" in text and "16,00 €" in text and "3,20 €" in text
    assert "03/05/2026" in text  # due date, 30 days after issue
    assert "Régie du périscolaire d'Alpha" in text
    assert "Alpha-sur-Isère" in text
    assert family.reference in text
    assert "http://alpha.parvis.test:8000/factures/" in text


def test_a_credit_note_names_the_invoice_it_credits_and_why(household):
    family, *_ = household
    issue_month()
    invoice = Invoice.objects.get(family=family)
    note = invoice_credit(invoice=invoice, amount_cents=640, reason="Sortie annulée",
                          actor=SYSTEM)
    text = text_of(invoice_pdf(note))
    assert note.number in text and invoice.number in text
    assert "Sortie annulée" in text
    assert "6,40 €" in text


def test_a_draft_is_refused(household):
    family, *_ = household
    run = invoicing_run_start(period=MARCH, actor=SYSTEM)
    invoicing_run_compute(run_id=run.pk)
    draft = Invoice.objects.get(family=family)
    assert draft.status == InvoiceStatus.DRAFT
    with pytest.raises(ValueError, match="draft"):
        invoice_pdf(draft)


def test_a_commune_without_a_host_prints_no_portal_link(household, in_a):
    family, *_ = household
    issue_month()
    invoice = Invoice.objects.get(family=family)
    with mock.patch.object(type(in_a), "get_primary_domain", return_value=None):
        text = text_of(invoice_pdf(invoice))
    assert invoice.number in text and "http" not in text


def test_a_receipt_lists_what_the_payment_settled_and_the_credit_left(household):
    family, *_ = household
    issue_month()
    invoice = Invoice.objects.get(family=family)
    outcome = payment_record(family=family, channel=Channel.CHEQUE, amount_cents=4500,
                             received_on=date(2026, 4, 2), actor=SYSTEM,
                             cheque_number="1234567", bank="Banque de Savoie")
    text = text_of(receipt_pdf(outcome.payment))
    assert outcome.payment.receipt_number in text
    assert "02/04/2026" in text
    assert "1234567" in text and "Banque de Savoie" in text
    assert invoice.number in text and "40,00 €" in text  # the allocation
    assert "45,00 €" in text                             # received
    assert re.search(r"(?<![0-9])5,00 €", text)          # left as the family's credit
    assert "Régie du périscolaire d'Alpha" in text


def test_the_tax_certificate_counts_childcare_paid_in_the_year_pro_rata(household):
    family, lea, leo = household
    # 10,00 € received in December 2025: the family's credit, used on the March invoice.
    payment_record(family=family, channel=Channel.CASH, amount_cents=1000,
                   received_on=date(2025, 12, 15), actor=SYSTEM)
    issue_month()
    # 20,02 € paid in 2026 out of 40,00 €; Léo's evening care is 1 000 / 4 000 of it:
    # 2 002 × 1 000 / 4 000 = 500,5 cents, rounded half up to 501 (not 500).
    payment_record(family=family, channel=Channel.CASH, amount_cents=2002,
                   received_on=date(2026, 4, 3), actor=SYSTEM)
    assert tax_certificate_amounts(family.pk, 2026) == [
        {"child": leo, "birth_date": date(2022, 5, 10), "amount_cents": 501}]
    # the money received in 2025: 1 000 × 1 000 / 4 000 = 250
    assert tax_certificate_amounts(family.pk, 2025) == [
        {"child": leo, "birth_date": date(2022, 5, 10), "amount_cents": 250}]
    text = text_of(tax_certificate_pdf(family, 2026))
    assert "2026" in text and "Léo Martin" in text and "10/05/2022" in text
    assert "5,01 €" in text
    assert "Léa Martin" not in text  # over 6
    assert "Alpha-sur-Isère" in text and "Régie du périscolaire d'Alpha" in text
    assert "03/04/2026" in text  # signed today


def test_the_tax_certificate_says_when_nobody_qualifies(household):
    family, *_ = household
    issue_month()
    payment_record(family=family, channel=Channel.CASH, amount_cents=4000,
                   received_on=date(2026, 4, 3), actor=SYSTEM)
    assert tax_certificate_amounts(family.pk, 2025) == []  # nothing paid in 2025
    text = text_of(tax_certificate_pdf(family, 2025))
    assert "2025" in text and family.reference in text
    assert "Léo Martin" not in text and "€" not in text


def test_under_6_means_born_after_1_january_six_years_before(in_a):
    evening = make_evening_care()
    canteen = make_priced_unit()
    family, (lea,) = make_household(quotient=700)
    six = make_child("Zoé", "Martin", birth_date=date(2020, 1, 1), family=family)
    five = make_child("Noé", "Martin", birth_date=date(2020, 1, 2), family=family)
    day = weekdays(date(2026, 3, 2), 1)
    for child in (lea, six, five):
        book(child, evening, day)
    book(five, canteen, day)
    issue_month()
    payment_record(family=family, channel=Channel.CASH, amount_cents=3 * 200 + 320,
                   received_on=date(2026, 4, 3), actor=SYSTEM)
    # paid in full: Noé's evening care only (Zoé is 6 on 1 January 2026, Léa older,
    # Noé's lunch is a meal)
    assert tax_certificate_amounts(family.pk, 2026) == [
        {"child": five, "birth_date": date(2020, 1, 2), "amount_cents": 200}]
