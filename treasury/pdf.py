"""PDF documents rendered from templates with WeasyPrint: invoices and credit notes,
payment receipts, the annual childcare tax certificate.

Each document is a Django template under ``templates/treasury/pdf/`` rendered in the
site's language, then laid out by WeasyPrint. The CSS is inline in ``base.html`` and the
URL fetcher accepts ``data:`` URLs only: rendering never reads the network or the disk.
The text is in the commune's schema (``connection.tenant``): call these inside it.
"""

from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from core.sites import site_url
from portal.models import Family
from treasury.models import Invoice, InvoiceLine, InvoiceStatus, Payment, TreasuryProfile
from treasury.selectors import family_balance, invoices_with_state
from treasury.selectors_tax import tax_certificate_amounts

ERROR_DRAFT = "A draft has no number yet: only an issued document can be printed."


def _common() -> dict:
    """What every document prints: the commune, its régie, the portal's address."""
    tenant = connection.tenant
    domain = tenant.get_primary_domain()
    base_url = site_url(domain.domain) if domain else ""
    portal_url = ""
    if base_url:
        try:
            portal_url = base_url + reverse("treasury:parent_invoices")
        except NoReverseMatch:
            portal_url = base_url + "/"
    return {"commune_name": tenant.name, "insee_code": getattr(tenant, "insee_code", ""),
            "siret": getattr(tenant, "siret", ""), "profile": TreasuryProfile.get(),
            "today": timezone.localdate(), "base_url": base_url, "portal_url": portal_url}


def _render(template: str, context: dict) -> bytes:
    """Render ``template`` in the site's language and lay it out as a tagged PDF."""
    import weasyprint

    with translation.override(settings.LANGUAGE_CODE):
        context = {**_common(), **context}
        html = render_to_string(template, context)
    # Links are absolute on the portal; nothing is fetched (``data:`` URLs only).
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    base_url = f"{context['base_url']}/" if context["base_url"] else None
    return weasyprint.HTML(string=html, base_url=base_url,
                           url_fetcher=fetcher).write_pdf(pdf_tags=True)


def _line_groups(lines: list[InvoiceLine]) -> list[tuple]:
    """(child or None, lines, subtotal) in the order children first appear; lines
    without a child come last (printed under "Other")."""
    groups: dict = {}
    for line in lines:
        groups.setdefault(line.child, []).append(line)
    others = groups.pop(None, None)
    if others:
        groups[None] = others
    return [(child, group, sum(line.amount_cents for line in group))
            for child, group in groups.items()]


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF of an issued (or cancelled) invoice or credit note; a draft is refused."""
    invoice = invoices_with_state(Invoice.objects.filter(pk=invoice.pk)).select_related(
        "family", "credited_invoice").get()
    if invoice.status == InvoiceStatus.DRAFT:
        raise ValueError(ERROR_DRAFT)
    lines = list(InvoiceLine.objects.filter(invoice=invoice).select_related(
        "child", "unit__service").order_by("position", "id"))
    return _render("treasury/pdf/invoice.html", {
        "invoice": invoice, "line_groups": _line_groups(lines),
        "is_cancelled": invoice.status == InvoiceStatus.CANCELLED})


def receipt_pdf(payment: Payment) -> bytes:
    """The receipt of a payment: its means, amount and the invoices it settled."""
    payment = Payment.objects.select_related("family").get(pk=payment.pk)
    settlements = list(payment.settlements.select_related("invoice").order_by(
        "invoice__issue_date", "invoice__sequence", "id"))
    allocated = sum(settlement.amount_cents for settlement in settlements)
    refunded = sum(payment.refunds.values_list("amount_cents", flat=True))
    return _render("treasury/pdf/receipt.html", {
        "payment": payment, "family": payment.family, "settlements": settlements,
        "allocated_cents": allocated, "refunded_cents": refunded,
        "unallocated_cents": payment.amount_cents - allocated - refunded,
        "family_credit_cents": max(family_balance(payment.family_id).credit, 0)})


def tax_certificate_pdf(family: Family, year: int) -> bytes:
    """The certificate of what the family paid in ``year`` for the childcare of its
    children under 6 (rule: ``treasury.selectors_tax.tax_certificate_amounts``)."""
    rows = tax_certificate_amounts(family.pk, year)
    return _render("treasury/pdf/tax_certificate.html", {
        "family": family, "guardians": list(family.guardians.all()), "year": year,
        "rows": rows, "total_cents": sum(row["amount_cents"] for row in rows)})
