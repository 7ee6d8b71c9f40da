"""Reads of the Hélios exchange: the invoices to send to the treasury, the bordereaux,
the régie's receipts of a month."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.utils import timezone

from treasury.models import (
    NUMBERED_STATUSES,
    Channel,
    HeliosBordereau,
    HeliosPiece,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    Refund,
)
from treasury.selectors import invoices_with_state


def helios_invoices_proposed(*, today: date | None = None) -> QuerySet:
    """Issued invoices (not cancelled, not credit notes) with something left to pay,
    past their deadline, not sent to the treasury and in no bordereau waiting for
    release: what the régie hands over as ORMC titles. Oldest first."""
    today = today or timezone.localdate()
    in_open_bordereau = HeliosPiece.objects.filter(
        invoice=OuterRef("pk"), bordereau__status__in=NUMBERED_STATUSES)
    return (invoices_with_state(Invoice.objects.filter(
        kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED, due_date__lt=today,
        sent_to_treasury_at__isnull=True))
        .filter(remaining_cents__gt=0).exclude(Exists(in_open_bordereau))
        .select_related("family").order_by("due_date", "year", "sequence"))


def helios_bordereaux(kind: str | None = None) -> QuerySet:
    queryset = HeliosBordereau.objects.defer("content").select_related("created_by")
    return queryset.filter(kind=kind) if kind else queryset


def bordereau_pieces(bordereau) -> list[HeliosPiece]:
    return list(bordereau.pieces.select_related("invoice").order_by("id_pce"))


@dataclass(frozen=True)
class ChannelReceipts:
    channel: str
    label: str
    count: int
    received_cents: int
    refunded_cents: int

    @property
    def net_cents(self) -> int:
        return self.received_cents - self.refunded_cents


def _month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


def regie_receipts(month: date) -> list[ChannelReceipts]:
    """Per means of payment, what the régie received in ``month`` (by receipt date) and
    the refunds decided that month (by the channel of the refunded payment)."""
    start, end = _month_bounds(month)
    received = {row["channel"]: row for row in Payment.objects.filter(
        received_on__gte=start, received_on__lt=end).values("channel").annotate(
        total=Sum("amount_cents"), count=Count("id"))}
    refunded = dict(Refund.objects.filter(
        created_at__date__gte=start, created_at__date__lt=end).values(
        "payment__channel").annotate(total=Sum("amount_cents")).values_list(
        "payment__channel", "total"))
    rows = []
    for channel, label in Channel.choices:
        row = received.get(channel)
        if row or refunded.get(channel):
            rows.append(ChannelReceipts(
                channel=channel, label=str(label), count=row["count"] if row else 0,
                received_cents=row["total"] if row else 0,
                refunded_cents=refunded.get(channel, 0)))
    return rows
