"""The treasury demo: months over are invoiced, some paid, some overdue; loaded once."""

import time_machine

from core.journal import Actor
from portal.demo import portal_demo_load
from treasury.demo import treasury_demo_load
from treasury.models import Invoice, InvoiceKind, InvoiceStatus, Payment, Tariff
from treasury.selectors import unpaid_invoices


def test_the_demo_town_has_paid_and_overdue_invoices_once(commune_a):
    actor = Actor.system("demo")
    with commune_a, time_machine.travel("2026-12-04 09:00 +01:00", tick=False):
        portal_demo_load(commune=commune_a, size="tiny", actor=actor)
        report = treasury_demo_load(commune=commune_a, size="tiny", actor=actor)
        assert report and Tariff.objects.exists()
        invoices = Invoice.objects.filter(kind=InvoiceKind.INVOICE)
        assert set(invoices.values_list("period__month", flat=True)) == {9, 10, 11}
        assert set(invoices.values_list("status", flat=True)) == {InvoiceStatus.ISSUED}
        numbers = sorted(invoices.values_list("sequence", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
        assert Payment.objects.exists()
        assert unpaid_invoices().filter(period__month=9).exists()  # due 2 November
        assert treasury_demo_load(commune=commune_a, size="tiny", actor=actor) is None
