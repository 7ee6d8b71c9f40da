"""Reconciling card payouts and keeping the régisseur's queue of anomalies.

Fetching a payout's balance transactions is one small function (the provider's API);
everything after it is set-based over plain dicts (``payments.reconciliation``), so
many payouts are reconciled in a fixed number of statements per batch, and anomalies
are created idempotently (one per kind and object, ``Anomaly.key``).
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.journal import Actor, journal_entry_build, journal_record
from core.models import ActionLog
from payments.models import (
    Anomaly,
    AnomalyKind,
    AnomalyStatus,
    Dispute,
    DisputeStatus,
    PaymentAttempt,
    Payout,
    WebhookEvent,
)
from payments.provider import as_dict, stripe_client
from payments.reconciliation import (
    Finding,
    Kind,
    PaymentFacts,
    PaymentRef,
    line_of,
    payment_findings,
    payout_match,
    summarise,
)
from treasury.models import Channel, Invoice, InvoiceStatus, Payment, Refund, Settlement
from treasury.pricing import format_cents

logger = logging.getLogger(__name__)
SYSTEM = "Parvis (rapprochement)"
CHUNK = 5000
ERROR_NOTE = gettext_lazy("Say how the anomaly was resolved.")
ERROR_RESOLVED = gettext_lazy("This anomaly is already resolved.")


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(period: date) -> date:
    """The first day of the next month (exclusive bound)."""
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def payout_transactions_fetch(*, payout_id: str) -> list[dict]:
    """The balance transactions a payout paid out, their source expanded (a charge,
    refund or dispute names its PaymentIntent). The provider's API only."""
    page = stripe_client().v1.balance_transactions.list(params={
        "payout": payout_id, "limit": 100, "expand": ["data.source"]})
    return [as_dict(txn) for txn in page.auto_paging_iter()]


def _intents_with_events(intents: Iterable[str]) -> set[str]:
    found = set()
    for chunk in _chunks(set(intents)):
        found.update(WebhookEvent.objects.filter(
            object_id__in=chunk, type__startswith="payment_intent.").values_list(
            "object_id", flat=True))
    return found


def _payments_by_intent(intents: Iterable[str]) -> dict[str, PaymentRef]:
    found = {}
    for chunk in _chunks(set(intents)):
        for reference, pk, amount, family_id in Payment.objects.filter(
                channel=Channel.ONLINE_CARD, reference__in=chunk).values_list(
                "reference", "pk", "amount_cents", "family_id"):
            found[reference] = PaymentRef(pk, amount, family_id)
    return found


def _when(timestamp: int):
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def payouts_reconcile(*, transactions: Mapping[str, list[dict]],
                      actor: Actor | None = None) -> list[Payout]:
    """Reconcile payouts (by provider id) against their balance transactions: store
    each transaction followed to its ledger payment, the payout's gross, refunds,
    disputes, fees and whether it ties out, and the anomalies found. Reconciling again
    replaces the transactions; anomalies already known stay as they are."""
    actor = actor or Actor.system(SYSTEM)
    lines = {payout_id: [line_of(txn) for txn in txns]
             for payout_id, txns in transactions.items()}
    intents = {line.payment_intent_id for group in lines.values() for line in group
               if line.payment_intent_id}
    disputes = {line.source_id for group in lines.values() for line in group
                if line.kind == Kind.DISPUTE}
    now = timezone.now()
    with transaction.atomic():
        payouts = {row.payout_id: row for row in Payout.objects.select_for_update().filter(
            payout_id__in=list(lines))}
        payments = _payments_by_intent(intents)
        with_events = _intents_with_events(intents)
        known_disputes = set(Dispute.objects.filter(dispute_id__in=disputes).values_list(
            "dispute_id", flat=True))
        family_of = {ref.id: ref.family_id for ref in payments.values()}
        rows, anomalies, entries = [], [], []
        for payout_id, group in lines.items():
            payout = payouts.get(payout_id)
            if payout is None:
                logger.warning("Reconciliation: payout %s unknown here", payout_id)
                continue
            match = payout_match(group, payments=payments, intents_with_events=with_events,
                                 known_disputes=known_disputes)
            rows.extend((payout.pk, line.txn_id, line.type[:40], line.kind, line.amount,
                         line.fee, line.net, line.source_id[:100],
                         line.payment_intent_id[:100], match.payment_of_line.get(line.txn_id),
                         _when(line.created)) for line in group)
            summary = summarise(group, payout.amount_cents)
            payout.gross_cents, payout.refunds_cents = summary.gross, summary.refunds
            payout.disputes_cents, payout.fees_cents = summary.disputes, summary.fees
            payout.other_cents, payout.lines_net_cents = summary.other, summary.net
            payout.ties_out, payout.reconciled_at = summary.ties_out, now
            findings = list(match.findings)
            if not summary.ties_out:
                findings.append(Finding(AnomalyKind.PAYOUT_DIFFERENCE, f"payout:{payout_id}",
                                        summary.difference))
            period = month_start(payout.arrival_date or timezone.localdate())
            anomalies.extend(_anomaly(finding, period, payout=payout,
                                      family_id=family_of.get(finding.payment_id))
                             for finding in findings)
            entries.append(journal_entry_build(
                actor=actor, action="payments.payout_reconciled", target=payout,
                summary=_("Payout %(id)s reconciled: gross %(gross)s, fees %(fees)s, "
                          "difference %(difference)s") % {
                    "id": payout_id, "gross": format_cents(summary.gross),
                    "fees": format_cents(summary.fees),
                    "difference": format_cents(summary.difference)},
                changes={"transactions": len(group), "gross": summary.gross,
                         "refunds": summary.refunds, "disputes": summary.disputes,
                         "fees": summary.fees, "net": summary.net,
                         "ties_out": summary.ties_out}))
        _transactions_replace([payout.pk for payout in payouts.values()], rows)
        Payout.objects.bulk_update(list(payouts.values()), [
            "gross_cents", "refunds_cents", "disputes_cents", "fees_cents", "other_cents",
            "lines_net_cents", "ties_out", "reconciled_at"], batch_size=1000)
        ActionLog.objects.bulk_create(entries, batch_size=1000)
        _anomalies_create(anomalies, actor)
    return list(payouts.values())


_TXN_DELETE = "DELETE FROM payments_payouttransaction WHERE payout_id = ANY(%s)"
_TXN_COPY = ("COPY payments_payouttransaction (payout_id, txn_id, type, kind, amount_cents, "
             "fee_cents, net_cents, source_id, payment_intent_id, payment_id, created) "
             "FROM STDIN")


def _transactions_replace(payout_ids: list[int], rows: list[tuple]) -> None:
    """The payouts' stored transactions replaced by ``rows``: one ``DELETE`` and one
    ``COPY`` however many there are."""
    with connection.cursor() as cursor:
        cursor.execute(_TXN_DELETE, [payout_ids])
        if rows:
            with cursor.copy(_TXN_COPY) as copy:
                for row in rows:
                    copy.write_row(row)


def payout_reconcile(*, payout: Payout, actor: Actor | None = None) -> Payout:
    """Fetch one payout's balance transactions from the provider and reconcile it."""
    txns = payout_transactions_fetch(payout_id=payout.payout_id)
    payouts_reconcile(transactions={payout.payout_id: txns}, actor=actor)
    return Payout.objects.get(pk=payout.pk)


def _anomaly(finding: Finding, period: date, **refs) -> Anomaly:
    return Anomaly(kind=finding.kind, key=finding.key[:120], period=period,
                   amount_cents=finding.amount, payment_intent_id=finding.payment_intent_id,
                   payment_id=finding.payment_id,
                   detail=finding.txn_id and _("balance transaction %(id)s") % {
                       "id": finding.txn_id}, **refs)


def _anomalies_create(anomalies: list[Anomaly], actor: Actor) -> int:
    """Insert the anomalies not known yet (one per kind and key, whatever their status);
    one journal entry for the batch. Returns how many are new."""
    unique = {(anomaly.kind, anomaly.key): anomaly for anomaly in reversed(anomalies)}
    known = set()
    for chunk in _chunks(unique):
        keys = [key for _kind, key in chunk]
        known.update(Anomaly.objects.filter(key__in=keys).values_list("kind", "key"))
    new = [anomaly for pair, anomaly in unique.items() if pair not in known]
    Anomaly.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    if new:
        journal_record(actor=actor, action="payments.anomalies_detected",
                       summary=_("%(count)s reconciliation anomalies detected") % {
                           "count": len(new)},
                       changes={"anomalies": [f"{a.kind}:{a.key}" for a in new[:200]]})
    return len(new)


def _payment_facts(payments: list[Payment]) -> list[tuple[Payment, PaymentFacts, int | None]]:
    ids = [payment.pk for payment in payments]
    settled = dict(Settlement.objects.filter(payment_id__in=ids).values("payment_id")
                   .annotate(total=Sum("amount_cents")).values_list("payment_id", "total"))
    refunded = dict(Refund.objects.filter(payment_id__in=ids).values("payment_id")
                    .annotate(total=Sum("amount_cents")).values_list("payment_id", "total"))
    attempts = {attempt.payment_id: attempt for attempt in
                PaymentAttempt.objects.filter(payment_id__in=ids)}
    invoices = Invoice.objects.in_bulk({pk for attempt in attempts.values()
                                        for pk in attempt.invoice_ids})
    events = _intents_with_events(payment.reference for payment in payments)
    result = []
    for payment in payments:
        attempt = attempts.get(payment.pk)
        paid_for = [invoices[pk] for pk in (attempt.invoice_ids if attempt else [])
                    if pk in invoices]
        result.append((payment, PaymentFacts(
            id=payment.pk, reference=payment.reference, amount=payment.amount_cents,
            settled=settled.get(payment.pk, 0), refunded=refunded.get(payment.pk, 0),
            has_event=payment.reference in events,
            attempt_id=attempt.pk if attempt else None,
            needs_review=bool(attempt and attempt.needs_review),
            excess=attempt.excess_cents if attempt else 0,
            invoices_cancelled=any(i.status == InvoiceStatus.CANCELLED for i in paid_for),
            invoices_at_treasury=any(i.sent_to_treasury_at is not None
                                     and i.sent_to_treasury_at <= payment.recorded_at
                                     for i in paid_for)), attempt.pk if attempt else None))
    return result


def anomalies_detect(*, period: date, actor: Actor | None = None) -> int:
    """Look at the month's card payments and lost disputes (payouts are looked at when
    reconciled) and queue what needs the régisseur, once. Returns how many are new."""
    actor = actor or Actor.system(SYSTEM)
    period = month_start(period)
    end = month_end(period)
    payments = list(Payment.objects.filter(channel=Channel.ONLINE_CARD,
                                           received_on__gte=period, received_on__lt=end))
    anomalies = []
    for payment, facts, attempt_id in _payment_facts(payments):
        anomalies.extend(_anomaly(finding, period, attempt_id=attempt_id,
                                  family_id=payment.family_id)
                         for finding in payment_findings(facts))
    lost = Dispute.objects.filter(status=DisputeStatus.LOST, closed_at__date__gte=period,
                                  closed_at__date__lt=end).select_related("payment")
    anomalies.extend(Anomaly(
        kind=AnomalyKind.LOST_DISPUTE, key=f"dispute:{dispute.dispute_id}", period=period,
        amount_cents=dispute.amount_cents, payment=dispute.payment,
        family_id=dispute.payment.family_id if dispute.payment else None,
        payment_intent_id=dispute.payment_intent_id, detail=dispute.reason[:255])
        for dispute in lost)
    with transaction.atomic():
        return _anomalies_create(anomalies, actor)


def anomaly_resolve(*, anomaly: Anomaly, note: str, actor: Actor) -> Anomaly:
    """The régisseur says how an anomaly was dealt with (refund, credit kept, treasury
    told…): journalled. A double payment's attempt is marked reviewed with it."""
    from payments.services.review import attempt_review

    note = (note or "").strip()
    if not note:
        raise ValidationError(ERROR_NOTE)
    with transaction.atomic():
        anomaly = Anomaly.objects.select_for_update().get(pk=anomaly.pk)
        if anomaly.status == AnomalyStatus.RESOLVED:
            raise ValidationError(ERROR_RESOLVED)
        anomaly.status = AnomalyStatus.RESOLVED
        anomaly.resolution_note = note
        anomaly.resolved_at = timezone.now()
        anomaly.resolved_by = actor.user if getattr(actor.user, "pk", None) else None
        anomaly.save(update_fields=["status", "resolution_note", "resolved_at",
                                    "resolved_by"])
        if anomaly.attempt_id:
            attempt_review(attempt=anomaly.attempt, actor=actor)
        journal_record(actor=actor, action="payments.anomaly_resolved", target=anomaly,
                       summary=_("Anomaly resolved (%(kind)s, %(amount)s): %(note)s") % {
                           "kind": anomaly.get_kind_display(),
                           "amount": format_cents(anomaly.amount_cents), "note": note},
                       changes={"kind": anomaly.kind, "key": anomaly.key, "note": note,
                                "payment": anomaly.payment_id, "payout": anomaly.payout_id})
    return anomaly
