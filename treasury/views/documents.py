"""PDF documents, for the family they belong to and for agents: invoices and credit
notes, payment receipts, the annual childcare tax certificate."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse

from portal.access import access_family
from treasury.access import access_invoice, access_payment
from treasury.models import InvoiceStatus


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def invoice_pdf_view(request, invoice_id):
    from treasury.pdf import invoice_pdf

    invoice = access_invoice(request, invoice_id)
    if invoice.status == InvoiceStatus.DRAFT:
        raise Http404
    return _pdf(invoice_pdf(invoice), f"{invoice.number}.pdf")


@login_required
def receipt_pdf_view(request, payment_id):
    from treasury.pdf import receipt_pdf

    payment = access_payment(request, payment_id)
    return _pdf(receipt_pdf(payment), f"recu-{payment.receipt_number}.pdf")


@login_required
def tax_certificate_view(request, family_id, year):
    from treasury.pdf import tax_certificate_pdf

    family = access_family(request, family_id)
    if not 2000 <= year <= 2100:
        raise Http404
    return _pdf(tax_certificate_pdf(family, year), f"attestation-fiscale-{year}.pdf")
