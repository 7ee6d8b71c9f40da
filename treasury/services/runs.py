"""The monthly invoicing run: start, compute drafts (a Celery task), review, issue.

* ``invoicing_run_start`` records the run and queues ``invoicing_run_compute_task``.
* ``invoicing_run_compute`` reads the month's facts in set-based SQL
  (``treasury.facts``), prices every family in memory (``treasury.pricing``) and writes
  the drafts in batches, each batch its own transaction so that the page's progress bar
  moves; on any error the run's drafts are removed and the run is marked failed.
* Re-running a month that was already issued bills only the difference: every priced
  line is compared with what the issued invoices (and regularisation credit notes) of
  that month already billed, and the differences become regularisation lines; an
  unchanged month gives no draft at all, a family billed too much gets a credit note.
* ``invoicing_run_issue`` numbers every draft in one transaction (gap-free series per
  year), sets the dates, uses the families' credit, journals each invoice and e-mails
  the families after commit.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_entry_build, journal_record
from core.models import ActionLog, ActorKind
from portal.models import Family
from treasury.facts import Debtor, month_facts, pricing_rules
from treasury.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingRun,
    LineKind,
    NumberSeries,
    RunStatus,
    TreasuryProfile,
)
from treasury.pricing import PricedLine, format_cents, price_family
from treasury.services.numbering import numbers_reserve

ERROR_RUN_ACTIVE = gettext_lazy(
    "An invoicing run for %(month)s is already under way: issue or discard it first.")
ERROR_FUTURE_MONTH = gettext_lazy("A month can be invoiced only once it has begun.")
ERROR_RUN_STATE = gettext_lazy("This invoicing run cannot do that now (it is %(status)s).")

BATCH_FAMILIES = 2_000
DAY_KINDS = {LineKind.USAGE, LineKind.SURCHARGE, LineKind.ABSENCE, LineKind.LATE_CANCELLATION}
MAX_LISTED_ANOMALIES = 500


def month_label(period: date) -> str:
    return formats.date_format(period, "F Y")


def _is_person(actor: Actor) -> bool:
    return actor.kind in (ActorKind.AGENT, ActorKind.PARENT)


def invoicing_run_start(*, period: date, actor: Actor) -> InvoicingRun:
    """Record a run for the month of ``period`` and queue its computation."""
    period = period.replace(day=1)
    if period > timezone.localdate().replace(day=1):
        raise ValidationError(ERROR_FUTURE_MONTH)
    try:
        with transaction.atomic():
            run = InvoicingRun.objects.create(
                period=period, started_by=actor.user if _is_person(actor) else None)
            journal_record(actor=actor, action="treasury.run_start", target=run,
                           summary=_("Invoicing of %(month)s started") % {
                               "month": month_label(period)})
            from treasury.tasks import invoicing_run_compute_task

            invoicing_run_compute_task.delay_on_commit(run.pk)
    except IntegrityError:
        raise ValidationError(ERROR_RUN_ACTIVE % {"month": month_label(period)}) from None
    return run


# --- Computing the drafts ---------------------------------------------------------------

LineKey = tuple  # (child, unit, tariff, base kind, bracket, day price or None)


@dataclass
class _Billed:
    quantity: int = 0
    amount: int = 0
    label: str = ""


def _key(*, child_id, unit_id, tariff_id, kind: str, bracket, unit_price: int) -> LineKey:
    price = unit_price if kind in DAY_KINDS else None
    return (child_id, unit_id, tariff_id, str(kind), bracket, price)


_BILLED_SQL = """
SELECT i.family_id, l.child_id, l.unit_id, l.tariff_id,
       CASE WHEN l.kind = 'regularisation' THEN l.base_kind ELSE l.kind END,
       l.bracket, l.unit_price_cents,
       CASE WHEN i.kind = 'credit_note' THEN -1 ELSE 1 END, l.quantity, l.amount_cents, l.label
FROM treasury_invoiceline l JOIN treasury_invoice i ON i.id = l.invoice_id
WHERE l.period = %s AND i.status = 'issued' AND l.kind <> 'credit'
ORDER BY l.id
"""


def billed_lines(period: date) -> dict[int, dict[LineKey, _Billed]]:
    """What the issued invoices already billed for the month, per family and line key
    (one statement). Cancelled invoices count as not billed."""
    billed: dict[int, dict[LineKey, _Billed]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(_BILLED_SQL, [period])
        for (family_id, child_id, unit_id, tariff_id, kind, bracket, unit_price, sign,
             quantity, amount, label) in cursor.fetchall():
            key = _key(child_id=child_id, unit_id=unit_id, tariff_id=tariff_id, kind=kind,
                       bracket=bracket, unit_price=unit_price)
            entry = billed[family_id].setdefault(key, _Billed())
            if kind in DAY_KINDS:
                entry.quantity += sign * quantity
            entry.amount += sign * amount
            if kind != LineKind.REGULARISATION or not entry.label:
                entry.label = label
    return billed


def _line(priced: PricedLine, period: date, position: int) -> InvoiceLine:
    return InvoiceLine(position=position, child_id=priced.child_id, unit_id=priced.unit_id,
                       tariff_id=priced.tariff_id, kind=str(priced.kind), period=period,
                       bracket=priced.bracket, quantity=priced.quantity,
                       unit_price_cents=priced.unit_price_cents,
                       amount_cents=priced.amount_cents, label=priced.label[:255])


def draft_lines(priced: list[PricedLine], billed: dict[LineKey, _Billed],
                period: date) -> list[InvoiceLine]:
    """The lines to bill now: all of them the first time, else the differences."""
    if not billed:
        return [_line(line, period, position) for position, line in enumerate(priced)]
    expected: dict[LineKey, tuple[int, int, PricedLine]] = {}
    for line in priced:
        key = _key(child_id=line.child_id, unit_id=line.unit_id, tariff_id=line.tariff_id,
                   kind=line.kind, bracket=line.bracket, unit_price=line.unit_price_cents)
        quantity, amount, _first = expected.get(key, (0, 0, line))
        expected[key] = (quantity + line.quantity, amount + line.amount_cents, line)
    lines = []
    month = month_label(period)
    for key in list(expected) + [key for key in billed if key not in expected]:
        due_quantity, due_amount, model = expected.get(key, (0, 0, None))
        done = billed.get(key, _Billed())
        delta_amount = due_amount - done.amount
        if not delta_amount:
            continue
        child_id, unit_id, tariff_id, kind, bracket, price = key
        delta_quantity = due_quantity - done.quantity if kind in DAY_KINDS else 0
        if price is not None and delta_quantity * price == delta_amount:
            quantity, unit_price = delta_quantity, price
        else:
            quantity, unit_price = 1, delta_amount
        base_label = model.label if model is not None else done.label
        if kind in DAY_KINDS:
            label = _("Adjustment for %(month)s: %(label)s (%(due)s due, %(billed)s billed)") % {
                "month": month, "label": base_label, "due": due_quantity,
                "billed": done.quantity}
        else:
            label = _("Adjustment for %(month)s: %(label)s") % {"month": month,
                                                                "label": base_label}
        lines.append(InvoiceLine(
            position=len(lines), child_id=child_id, unit_id=unit_id, tariff_id=tariff_id,
            kind=LineKind.REGULARISATION, base_kind=kind, period=period, bracket=bracket,
            quantity=quantity, unit_price_cents=unit_price, amount_cents=delta_amount,
            label=label[:255]))
    return lines


class _Summary:
    """Totals by service and bracket, counts and anomalies, for the review page."""

    def __init__(self):
        self.services: dict[str, dict] = {}
        self.invoices = self.credit_notes = self.total = self.credit_total = 0
        self.anomalies: list[dict] = []
        self.anomaly_count = 0

    def add_lines(self, lines: list[InvoiceLine], tariff_labels: dict[int, str], sign: int):
        for line in lines:
            name = tariff_labels.get(line.tariff_id, "—")
            service = self.services.setdefault(name, {"total": 0, "brackets": {}})
            service["total"] += sign * line.amount_cents
            if line.kind == LineKind.USAGE:
                bracket = service["brackets"].setdefault(str(line.bracket),
                                                         {"days": 0, "amount": 0})
                bracket["days"] += line.quantity
                bracket["amount"] += line.amount_cents

    def add_anomaly(self, family_id: int, name: str, reasons: list[str]):
        self.anomaly_count += 1
        if len(self.anomalies) < MAX_LISTED_ANOMALIES:
            self.anomalies.append({"family_id": family_id, "name": name, "reasons": reasons})

    def as_dict(self, untariffed: dict[str, int]) -> dict:
        return {"services": dict(sorted(self.services.items())), "invoices": self.invoices,
                "credit_notes": self.credit_notes, "total_cents": self.total,
                "credit_total_cents": self.credit_total, "anomalies": self.anomalies,
                "anomaly_count": self.anomaly_count, "untariffed_days": untariffed}


def _debtors(ids: list[int]) -> dict[int, Debtor]:
    """Debtors of families that had nothing billed this month but must be corrected."""
    result = {}
    for family in Family.objects.filter(pk__in=ids).prefetch_related("guardians"):
        guardians = sorted(family.guardians.all(), key=lambda g: (not g.is_payer, g.pk))
        name = f"{guardians[0].first_name} {guardians[0].last_name}" if guardians else family.name
        result[family.pk] = Debtor(name=name, address1=family.address_line1,
                                   address2=family.address_line2, postcode=family.postcode,
                                   city=family.city)
    return result


def _family_anomalies(facts, debtor: Debtor) -> list[str]:
    reasons = []
    if facts is not None and any(count.quotient is None for count in facts.counts):
        reasons.append(_("no family quotient: the commune's rule applies"))
    if not debtor.is_complete:
        reasons.append(_("incomplete address"))
    return reasons


def invoicing_run_compute(*, run_id: int) -> InvoicingRun:
    """Compute the drafts of a queued run (idempotent: a run already claimed is left)."""
    if not InvoicingRun.objects.filter(pk=run_id, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING):
        return InvoicingRun.objects.get(pk=run_id)
    run = InvoicingRun.objects.get(pk=run_id)
    try:
        with translation.override(settings.LANGUAGE_CODE):
            _compute(run)
    except Exception as error:
        with transaction.atomic():
            InvoiceLine.objects.filter(invoice__run=run).delete()
            Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT).delete()
            InvoicingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED,
                                                          error=repr(error)[:2000])
            journal_record(actor=Actor.system(), action="treasury.run_failed", target=run,
                           summary=_("Invoicing of %(month)s failed") % {
                               "month": month_label(run.period)})
        raise
    run.refresh_from_db()
    return run


def _compute(run: InvoicingRun) -> None:
    facts = month_facts(run.period)
    tariffs, grids = pricing_rules()
    missing = TreasuryProfile.get().missing_quotient_rule
    billed = billed_lines(run.period)
    family_ids = sorted(set(facts.families) | set(billed))
    debtors = {**_debtors([fid for fid in family_ids if fid not in facts.debtors]),
               **facts.debtors}
    InvoicingRun.objects.filter(pk=run.pk).update(progress_total=len(family_ids))
    tariff_labels = {pk: rule.label for pk, rule in tariffs.items()}
    summary = _Summary()
    for start in range(0, len(family_ids), BATCH_FAMILIES):
        batch = family_ids[start:start + BATCH_FAMILIES]
        drafts: list[tuple[Invoice, list[InvoiceLine]]] = []
        for family_id in batch:
            family_facts = facts.families.get(family_id)
            priced = (price_family(family_facts, tariffs=tariffs, grids=grids, missing=missing)
                      if family_facts else [])
            lines = draft_lines(priced, billed.get(family_id, {}), run.period)
            if not lines:
                continue
            debtor = debtors[family_id]
            total = sum(line.amount_cents for line in lines)
            kind = InvoiceKind.INVOICE if total >= 0 else InvoiceKind.CREDIT_NOTE
            if kind == InvoiceKind.CREDIT_NOTE:
                for line in lines:
                    line.quantity, line.amount_cents = -line.quantity, -line.amount_cents
                summary.credit_notes += 1
                summary.credit_total -= total
            else:
                summary.invoices += 1
                summary.total += total
            summary.add_lines(lines, tariff_labels, 1 if kind == InvoiceKind.INVOICE else -1)
            reasons = _family_anomalies(family_facts, debtor)
            if reasons:
                summary.add_anomaly(family_id, debtor.name, reasons)
            drafts.append((Invoice(
                kind=kind, family_id=family_id, run=run, period=run.period,
                total_cents=abs(total), debtor_name=debtor.name[:310],
                debtor_address1=debtor.address1, debtor_address2=debtor.address2,
                debtor_postcode=debtor.postcode, debtor_city=debtor.city), lines))
        with transaction.atomic():
            invoices = Invoice.objects.bulk_create([invoice for invoice, _lines in drafts])
            all_lines = []
            for invoice, (_draft, lines) in zip(invoices, drafts, strict=True):
                for line in lines:
                    line.invoice_id = invoice.pk
                all_lines.extend(lines)
            InvoiceLine.objects.bulk_create(all_lines, batch_size=5_000)
            InvoicingRun.objects.filter(pk=run.pk).update(
                progress_done=F("progress_done") + len(batch))
    units = {}
    if facts.untariffed_days:
        from portal.models import Unit

        names = dict(Unit.objects.filter(pk__in=facts.untariffed_days).values_list("pk", "name"))
        units = {names.get(pk, str(pk)): days for pk, days in facts.untariffed_days.items()}
    with transaction.atomic():
        InvoicingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.DRAFTED, drafted_at=timezone.now(),
            summary=summary.as_dict(units), progress_done=len(family_ids))
        journal_record(actor=Actor.system(), action="treasury.run_drafted", target=run,
                       summary=_("Invoicing of %(month)s: %(count)s drafts to review") % {
                           "month": month_label(run.period),
                           "count": summary.invoices + summary.credit_notes})


# --- Reviewing and issuing ----------------------------------------------------------------

def _transition(run: InvoicingRun, source: str, target: str) -> None:
    if not InvoicingRun.objects.filter(pk=run.pk, status=source).update(status=target):
        run.refresh_from_db()
        raise ValidationError(ERROR_RUN_STATE % {"status": run.get_status_display()})
    run.status = target


@transaction.atomic
def invoicing_run_discard(*, run: InvoicingRun, actor: Actor) -> InvoicingRun:
    """Drop the drafts of a run (nothing was issued); the month can be run again."""
    _transition(run, RunStatus.DRAFTED, RunStatus.DISCARDED)
    InvoiceLine.objects.filter(invoice__run=run, invoice__status=InvoiceStatus.DRAFT).delete()
    count, _detail = Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT).delete()
    journal_record(actor=actor, action="treasury.run_discard", target=run,
                   summary=_("Invoicing of %(month)s discarded (%(count)s drafts)") % {
                       "month": month_label(run.period), "count": count})
    return run


def invoicing_run_issue_request(*, run: InvoicingRun, actor: Actor) -> InvoicingRun:
    """From the review page: mark the run as issuing and queue the issue task."""
    with transaction.atomic():
        _transition(run, RunStatus.DRAFTED, RunStatus.ISSUING)
        journal_record(actor=actor, action="treasury.run_issue_request", target=run,
                       summary=_("Issue of the invoices of %(month)s requested") % {
                           "month": month_label(run.period)})
        from treasury.tasks import invoicing_run_issue_task

        invoicing_run_issue_task.delay_on_commit(run.pk)
    return run


_NUMBER_SQL = """
UPDATE treasury_invoice i
SET status = 'issued', year = %(year)s, sequence = %(first)s + s.rn - 1,
    number = %(series)s || %(year)s::text || '-' || lpad((%(first)s + s.rn - 1)::text, 5, '0'),
    issue_date = %(today)s, issued_at = %(now)s, due_date = %(due)s
FROM (SELECT id, row_number() OVER (ORDER BY debtor_name, family_id, id) AS rn
      FROM treasury_invoice WHERE run_id = %(run)s AND status = 'draft' AND kind = %(kind)s) s
WHERE i.id = s.id
"""


def invoicing_run_issue(*, run_id: int, actor: Actor | None = None,
                        issue_date: date | None = None) -> InvoicingRun:
    """Number and issue every draft of the run in one transaction (a run in ``issuing``;
    ``drafted`` is accepted too, for the command line). ``issue_date`` (default: today)
    is for loading history (the demo); numbers follow the order of issue."""
    from treasury.services.payments import family_credits_apply

    actor = actor or Actor.system()
    with transaction.atomic():
        run = InvoicingRun.objects.select_for_update().get(pk=run_id)
        if run.status not in (RunStatus.ISSUING, RunStatus.DRAFTED):
            raise ValidationError(ERROR_RUN_STATE % {"status": run.get_status_display()})
        now = timezone.now()
        today = issue_date or timezone.localdate(now)
        due = today + timedelta(days=TreasuryProfile.get().payment_terms_days)
        for kind, series in ((InvoiceKind.INVOICE, NumberSeries.INVOICE),
                             (InvoiceKind.CREDIT_NOTE, NumberSeries.CREDIT_NOTE)):
            count = Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT, kind=kind).count()
            first = numbers_reserve(series=series, year=today.year, count=count)
            if count:
                with connection.cursor() as cursor:
                    cursor.execute(_NUMBER_SQL, {
                        "year": today.year, "first": first, "series": str(series),
                        "today": today, "now": now, "run": run.pk, "kind": str(kind),
                        "due": due if kind == InvoiceKind.INVOICE else None})
        issued = list(Invoice.objects.filter(run=run).values_list(
            "pk", "number", "kind", "total_cents", "family_id"))
        ActionLog.objects.bulk_create([
            journal_entry_build(
                actor=actor, action="treasury.invoice_issue",
                summary=_("%(number)s issued: %(amount)s") % {
                    "number": number, "amount": format_cents(total)},
                changes={"invoice": pk, "family": family_id, "kind": kind,
                         "total_cents": total})
            for pk, number, kind, total, family_id in issued], batch_size=5_000)
        family_credits_apply(family_ids={family_id for *_rest, family_id in issued},
                             actor=actor)
        run.status = RunStatus.ISSUED
        run.issued_at = now
        run.save(update_fields=["status", "issued_at"])
        journal_record(actor=actor, action="treasury.run_issue", target=run,
                       summary=_("Invoicing of %(month)s issued: %(count)s documents") % {
                           "month": month_label(run.period), "count": len(issued)})
        from treasury.tasks import invoices_available_notify_task

        invoices_available_notify_task.delay_on_commit(run.pk)
    return run
