"""The month's close report: CSV (``;``, amounts as ``12,50``, French headers from the
catalogue) and PDF (WeasyPrint, with inline SVG bar charts: no script, no library)."""

import csv
import io
from datetime import date, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from treasury.models import Channel

CHANNEL_COLOURS = {
    Channel.CASH: "#2b8a3e", Channel.CHEQUE: "#1c7ed6", Channel.CESU: "#ae3ec9",
    Channel.HOLIDAY_VOUCHERS: "#f08c00", Channel.DESK_CARD: "#0b7285",
    Channel.ONLINE_CARD: "#c92a2a", Channel.TRANSFER: "#5c940d"}
AGE_LABELS = {"not_due": gettext_lazy("not due yet"), "0-30": gettext_lazy("1 to 30 days"),
              "31-60": gettext_lazy("31 to 60 days"), "61-90": gettext_lazy("61 to 90 days"),
              "90+": gettext_lazy("more than 90 days")}
WIDTH, HEIGHT, TOP, BOTTOM = 640, 200, 12, 28


def amount(cents: int) -> str:
    """``1250`` → ``"12,50"``, ``-5`` → ``"-0,05"`` (spreadsheet-friendly, no unit)."""
    euros, rest = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}{euros},{rest:02d}"


def receipts_chart(period: date, receipts: list[tuple[date, str, int]]) -> dict:
    """Stacked bars: one per day of the month, one segment per channel."""
    days, day = [], period
    while day.month == period.month:
        days.append(day)
        day += timedelta(days=1)
    per_day: dict[date, list[tuple[str, int]]] = {}
    for received_on, channel, cents in receipts:
        per_day.setdefault(received_on, []).append((channel, cents))
    top = max([sum(c for _ch, c in parts) for parts in per_day.values()] + [1])
    step = (WIDTH - 40) / len(days)
    scale = (HEIGHT - TOP - BOTTOM) / top
    labels = dict(Channel.choices)
    bars = []
    for index, day in enumerate(days):
        y, segments = HEIGHT - BOTTOM, []
        for channel, cents in per_day.get(day, []):
            height = round(cents * scale, 1)
            y = round(y - height, 1)
            segments.append({"y": y, "height": height,
                             "colour": CHANNEL_COLOURS.get(channel, "#868e96"),
                             "title": f"{day:%d/%m} {labels.get(channel, channel)} "
                                      f"{amount(cents)}"})
        bars.append({"x": round(40 + index * step + 1, 1), "width": round(step - 2, 1),
                     "segments": segments, "label": day.day if day.day % 5 in (0, 1) else "",
                     "label_x": round(40 + index * step + step / 2, 1)})
    used = {channel for _d, channel, _c in receipts}
    legend = [{"label": labels[key], "colour": colour} for key, colour
              in CHANNEL_COLOURS.items() if key in used]
    return {"bars": bars, "legend": legend, "max": amount(top), "width": WIDTH,
            "height": HEIGHT, "base": HEIGHT - BOTTOM, "top": TOP, "label_y": HEIGHT - 10}


def ages_chart(buckets: list[tuple[str, int]]) -> dict:
    """One bar per age bucket of what is still due."""
    top = max([cents for _label, cents in buckets] + [1])
    step = (WIDTH - 40) / max(len(buckets), 1)
    scale = (HEIGHT - TOP - BOTTOM) / top
    bars = []
    for index, (key, cents) in enumerate(buckets):
        height = round(cents * scale, 1)
        bars.append({"x": round(40 + index * step + 8, 1), "width": round(step - 16, 1),
                     "y": round(HEIGHT - BOTTOM - height, 1), "height": height,
                     "label": str(AGE_LABELS.get(key, key)), "value": amount(cents),
                     "label_x": round(40 + index * step + step / 2, 1)})
    return {"bars": bars, "max": amount(top), "width": WIDTH, "height": HEIGHT,
            "base": HEIGHT - BOTTOM, "top": TOP, "label_y": HEIGHT - 10}


def report_context(report: dict) -> dict:
    figures = report["figures"]
    return {**report, "receipts_chart": receipts_chart(report["period"], figures.receipts),
            "ages_chart": ages_chart(figures.outstanding_by_age),
            "channel_rows": [(dict(Channel.choices).get(channel, channel), cents)
                             for channel, cents in figures.receipts_by_channel.items()]}


def report_csv(report: dict) -> str:
    figures = report["figures"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    row = writer.writerow
    row([_("Month close report"), f"{report['period']:%m/%Y}"])
    row([_("Closed on"), f"{report['closed'].closed_at:%d/%m/%Y}" if report["closed"]
         else _("not closed")])
    row([])
    row([_("Invoices issued in the month")])
    row([_("Family"), _("Invoices"), _("Invoiced"), _("Collected by the régie"),
         _("Sent to the treasury"), _("Credited"), _("Outstanding"), _("Difference")])
    for line in [*figures.families, figures.total]:
        row([line.name or _("Total"), line.invoices, amount(line.invoiced), amount(line.paid),
             amount(line.at_treasury), amount(line.credited), amount(line.outstanding),
             amount(line.difference)])
    row([])
    row([_("Receipts of the month"), _("Amount")])
    for channel, cents in figures.receipts_by_channel.items():
        row([dict(Channel.choices).get(channel, channel), amount(cents)])
    row([_("Total receipts"), amount(figures.receipts_cents)])
    row([_("Refunds"), amount(figures.refunds_cents)])
    row([])
    row([_("Card payouts"), _("Arrival"), _("Gross collected"), _("Refunds"), _("Disputes"),
         _("Fees (cost)"), _("Other"), _("Net paid out"), _("Ties out")])
    for payout in report["payouts"]:
        row([payout.payout_id, f"{payout.arrival_date:%d/%m/%Y}", amount(payout.gross_cents),
             amount(payout.refunds_cents), amount(payout.disputes_cents),
             amount(payout.fees_cents), amount(payout.other_cents), amount(payout.amount_cents),
             _("yes") if payout.ties_out else _("no")])
    totals = report["payout_totals"]
    row([_("Total payouts"), "", amount(totals["gross_cents"]), amount(totals["refunds_cents"]),
         amount(totals["disputes_cents"]), amount(totals["fees_cents"]),
         amount(totals["other_cents"]), amount(totals["amount_cents"]), ""])
    row([])
    row([_("Anomalies"), _("Family"), _("Amount"), _("Status"), _("Resolution")])
    for anomaly in report["anomalies"]:
        row([anomaly.get_kind_display(), anomaly.family.name if anomaly.family else "",
             amount(anomaly.amount_cents), anomaly.get_status_display(),
             anomaly.resolution_note])
    return out.getvalue()


def report_pdf(report: dict) -> bytes:
    from treasury.pdf import _render

    return _render("payments/agent/month_report_pdf.html", report_context(report))
