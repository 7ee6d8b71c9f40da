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

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_record
from core.models import ActorKind
from portal.models import Family
from treasury.facts import Debtor, month_facts, pricing_rules
from treasury.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingRun,
    NumberSeries,
    RunStatus,
    TreasuryProfile,
)
from treasury.pricing import format_cents, price_family
from treasury.services.drafts import (
    Draft,
    Summary,
    billed_lines,
    draft_lines,
    invoice_kind,
    month_label,
)
from treasury.services.drafts_writer import drafts_writer
from treasury.services.numbering import numbers_reserve

ERROR_RUN_ACTIVE = gettext_lazy(
    "An invoicing run for %(month)s is already under way: issue or discard it first.")
ERROR_FUTURE_MONTH = gettext_lazy("A month can be invoiced only once it has begun.")
ERROR_RUN_STATE = gettext_lazy("This invoicing run cannot do that now (it is %(status)s).")

BATCH_FAMILIES = 2_000


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
    summary = Summary({pk: rule.label for pk, rule in tariffs.items()})
    with drafts_writer(run_id=run.pk, period=run.period) as writer:
        for start in range(0, len(family_ids), BATCH_FAMILIES):
            batch = family_ids[start:start + BATCH_FAMILIES]
            drafts = []
            for family_id in batch:
                writer.pace()  # the previous batch's lines, stored while this one is priced
                family_facts = facts.families.get(family_id)
                priced = (price_family(family_facts, tariffs=tariffs, grids=grids,
                                       missing=missing) if family_facts else [])
                lines = draft_lines(priced, billed.get(family_id, {}), run.period)
                if not lines:
                    continue
                debtor = debtors[family_id]
                total = sum(line.amount_cents for line in lines)
                kind, sign = invoice_kind(total)
                if sign < 0:
                    summary.credit_notes += 1
                    summary.credit_total -= total
                else:
                    summary.invoices += 1
                    summary.total += total
                summary.add_lines(lines, sign)
                reasons = _family_anomalies(family_facts, debtor)
                if reasons:
                    summary.add_anomaly(family_id, debtor.name, reasons)
                drafts.append(Draft(family_id, kind, sign * total, sign, debtor, lines))
            writer.add(drafts, len(batch))
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


# One journal entry per document issued, as ``journal_entry_build`` writes them.
_JOURNAL_SQL = """
INSERT INTO core_actionlog (at, actor_id, actor_label, actor_kind, actor_role, ip_address,
                            action, target_type, target_id, summary, changes)
SELECT %(at)s, %(user)s, %(label)s, %(kind)s, %(role)s, %(ip)s, 'treasury.invoice_issue',
       '', '', j.summary,
       jsonb_build_object('invoice', i.id, 'family', i.family_id, 'kind', i.kind,
                          'total_cents', i.total_cents)
FROM unnest(%(ids)s::bigint[], %(summaries)s::text[]) WITH ORDINALITY AS j(id, summary, n)
JOIN treasury_invoice i ON i.id = j.id
ORDER BY j.n
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
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, number, total_cents, family_id FROM treasury_invoice "
                           "WHERE run_id = %s ORDER BY issue_date DESC, sequence DESC, id DESC",
                           [run.pk])
            issued = cursor.fetchall()
            template = _("%(number)s issued: %(amount)s")
            user = actor.user if actor.kind in (ActorKind.PARENT, ActorKind.AGENT) else None
            cursor.execute(_JOURNAL_SQL, {
                "at": now, "user": user.pk if user else None, "label": actor.label[:254],
                "kind": actor.kind, "role": actor.role, "ip": actor.ip_address,
                "ids": [pk for pk, *_rest in issued],
                "summaries": [(template % {"number": number, "amount": format_cents(total)})[:255]
                              for _pk, number, total, _family in issued]})
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
