"""Demo data of the treasury: tariffs for every unit, the months of the school year
already over invoiced (issued on the 3rd of the next month) and a realistic share of
them paid at the desk, so that the demo town has paid, partly paid and overdue invoices
(the Hélios export needs unpaid invoices past their deadline). Idempotent."""

import random
from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from core.journal import journal_record
from portal.models import Service, ServiceKind, Unit
from treasury.models import Channel, Invoice, InvoiceKind, Tariff
from treasury.services.payments import payment_record
from treasury.services.runs import invoicing_run_compute, invoicing_run_issue, invoicing_run_start
from treasury.services.tariffs import tariff_set

TARIFF_START = date(2026, 1, 1)
# Price of one unit-day per bracket of the standard grid (7 brackets), in cents.
PRICES = {
    ServiceKind.CANTEEN: [90, 150, 250, 320, 380, 430, 480],
    ServiceKind.MORNING_CARE: [50, 80, 120, 150, 180, 200, 220],
    ServiceKind.EVENING_CARE: [80, 120, 180, 230, 270, 300, 330],
    ServiceKind.WEDNESDAY_LEISURE: [400, 600, 900, 1200, 1500, 1700, 1900],
    ServiceKind.HOLIDAY_LEISURE: [500, 750, 1100, 1400, 1700, 1900, 2100],
}
DEFAULT_PRICES = [300, 450, 650, 850, 1050, 1200, 1350]
# Share of each month's invoices paid at the desk, by how many months ago it was billed.
PAID_SHARE = {0: 0.1, 1: 0.55, 2: 0.8}
DESK = [Channel.CHEQUE, Channel.CASH, Channel.CESU, Channel.DESK_CARD, Channel.TRANSFER]


def _tariffs(actor) -> None:
    for unit in Unit.objects.select_related("service").exclude(tariffs__isnull=False):
        prices = PRICES.get(unit.service.kind, DEFAULT_PRICES)
        canteen = unit.service.kind == ServiceKind.CANTEEN
        tariff_set(unit=unit, valid_from=TARIFF_START, resident_cents=prices,
                   non_resident_cents=[price + price // 3 for price in prices],
                   sibling_discount_2_pct=Decimal(10) if canteen else Decimal(0),
                   sibling_discount_3_pct=Decimal(20) if canteen else Decimal(0),
                   late_booking_surcharge_cents=100 if canteen else 0,
                   no_booking_surcharge_cents=200, actor=actor)


def _months_over(today: date) -> list[date]:
    months, month = [], date(2026, 9, 1)
    while month < today.replace(day=1):
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _pay_some(rng, invoices, share, paid_on, actor) -> int:
    paid = 0
    for invoice in invoices:
        if rng.random() >= share:
            continue
        channel = rng.choice(DESK)
        amount = invoice.total_cents if rng.random() < 0.85 else max(1, invoice.total_cents // 2)
        cheque = {"cheque_number": f"{rng.randrange(10**6, 10**7)}", "bank": "Banque Postale"} \
            if channel == Channel.CHEQUE else {}
        payment_record(family=invoice.family, channel=channel, amount_cents=amount,
                       received_on=paid_on, invoices=[invoice], actor=actor, **cheque)
        paid += 1
    return paid


# Local product codes (CodProdLoc) of the demo, per kind of service.
PRODUCT_CODES = {ServiceKind.CANTEEN: "CANT", ServiceKind.MORNING_CARE: "GARM",
                 ServiceKind.EVENING_CARE: "GARS", ServiceKind.WEDNESDAY_LEISURE: "ALSM",
                 ServiceKind.HOLIDAY_LEISURE: "ALSV", ServiceKind.STAY: "SEJ",
                 ServiceKind.DAY_CARE: "CREC"}
DEMO_SIRET = "21380474100014"


def _helios_settings(commune) -> None:
    """Fictitious but well-formed Hélios identifiers, so that the demo town can export
    its unpaid invoices (``export_helios``); blanks only, never overwrites."""
    from tenants.validators import luhn_valid
    from treasury.models import HeliosSettings

    helios = HeliosSettings.get()
    siret = getattr(commune, "siret", "") or ""
    insee = getattr(commune, "insee_code", "") or ""
    helios.id_post = helios.id_post or "038001"
    helios.id_coll = helios.id_coll or (siret if len(siret) == 14 and siret.isdigit()
                                        and luhn_valid(siret) else DEMO_SIRET)
    helios.cod_col = helios.cod_col or (insee[-3:] if insee[-3:].isdigit() else "001")
    helios.cod_bud = helios.cod_bud or "00"
    helios.regie_id = helios.regie_id or "REGPERI"
    helios.budget_label = helios.budget_label or commune.name[:38]
    codes = dict(helios.product_codes or {})
    for service in Service.objects.all():
        codes.setdefault(str(service.pk), PRODUCT_CODES.get(service.kind, "DIV"))
    helios.product_codes = codes
    helios.save()


def treasury_demo_load(*, commune, size: str, actor) -> str | None:
    _helios_settings(commune)
    if Tariff.objects.exists() and Invoice.objects.exists():
        return None
    rng = random.Random(f"parvis-demo-treasury-{commune.schema_name}")
    _tariffs(actor)
    today = timezone.localdate()
    months = _months_over(today)
    counts = []
    for index, month in enumerate(months):
        run = invoicing_run_start(period=month, actor=actor)
        invoicing_run_compute(run_id=run.pk)
        issued_on = date(month.year + month.month // 12, month.month % 12 + 1, 3)
        invoicing_run_issue(run_id=run.pk, actor=actor, issue_date=min(issued_on, today))
        invoices = list(Invoice.objects.filter(run=run, kind=InvoiceKind.INVOICE)
                        .select_related("family"))
        age = len(months) - 1 - index
        paid_on = min(date(issued_on.year, issued_on.month, 20), today)
        counts.append((len(invoices), _pay_some(rng, invoices, PAID_SHARE.get(age, 0.9),
                                                paid_on, actor)))
    summary = _("Treasury demo: %(months)d months invoiced, %(invoices)d invoices, "
                "%(paid)d paid at the desk") % {
        "months": len(months), "invoices": sum(c[0] for c in counts),
        "paid": sum(c[1] for c in counts)}
    journal_record(actor=actor, action="demo.treasury_loaded", summary=summary)
    return summary
