"""The card-payment receipt e-mail (sent from a task, after commit)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.sites import site_url
from payments.models import AttemptStatus, PaymentAttempt
from portal.models import Guardian
from treasury.pricing import format_cents


def card_receipt_send(*, attempt_pk: int) -> int:
    attempt = PaymentAttempt.objects.select_related("payment").get(pk=attempt_pk)
    if attempt.status != AttemptStatus.SUCCEEDED or attempt.payment is None:
        return 0
    emails = list(Guardian.objects.filter(family_id=attempt.family_id).exclude(email="")
                  .values_list("email", flat=True))
    if attempt.created_by_id and attempt.created_by.email not in emails:
        emails.append(attempt.created_by.email)
    if not emails:
        return 0
    base = site_url(connection.tenant.get_primary_domain().domain)
    payment = attempt.payment
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string("payments/email/receipt.txt", {
            "payment": payment, "amount": format_cents(payment.amount_cents),
            "receipt_url": base + reverse("treasury:receipt_pdf", args=[payment.pk]),
            "invoices_url": base + reverse("treasury:parent_invoices")})
        subject = _("Receipt %(number)s: your card payment of %(amount)s") % {
            "number": payment.receipt_number, "amount": format_cents(payment.amount_cents)}
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, emails).send()
