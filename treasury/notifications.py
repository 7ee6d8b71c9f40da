"""E-mails to families about invoices (sent from tasks, after commit)."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.sites import site_url
from portal.models import Guardian
from treasury.models import Invoice, InvoiceKind, TreasuryProfile
from treasury.pricing import format_cents


def _recipients(family_ids) -> dict[int, list[str]]:
    """Guardians' e-mail addresses per family (one query)."""
    result: dict[int, list[str]] = {}
    for family_id, email in (Guardian.objects.filter(family_id__in=family_ids)
                             .exclude(email="").values_list("family_id", "email")):
        result.setdefault(family_id, []).append(email)
    return result


def _host() -> str:
    return connection.tenant.get_primary_domain().domain


def _send(messages: list[EmailMessage]) -> int:
    if not messages:
        return 0
    with get_connection() as mail:
        return mail.send_messages(messages) or 0


def invoices_available_notify(*, run_id: int) -> int:
    """One e-mail per family whose invoice of the run is available."""
    invoices = list(Invoice.objects.filter(run_id=run_id, kind=InvoiceKind.INVOICE)
                    .exclude(number=""))
    recipients = _recipients({invoice.family_id for invoice in invoices})
    base = site_url(_host())
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        for invoice in invoices:
            emails = recipients.get(invoice.family_id)
            if not emails:
                continue
            body = render_to_string("treasury/email/invoice_available.txt", {
                "invoice": invoice, "amount": format_cents(invoice.total_cents),
                "url": base + reverse("treasury:parent_invoices")})
            subject = _("Your invoice %(number)s is available") % {"number": invoice.number}
            messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, emails))
    return _send(messages)


def payment_reminders_send() -> int:
    """Remind families of invoices unpaid ``reminder_after_days`` after the deadline
    (once per invoice); returns the number of e-mails sent."""
    from treasury.selectors import unpaid_invoices

    profile = TreasuryProfile.get()
    limit = timezone.localdate() - timedelta(days=profile.reminder_after_days)
    invoices = list(unpaid_invoices().filter(due_date__lt=limit, reminded_at__isnull=True))
    recipients = _recipients({invoice.family_id for invoice in invoices})
    base = site_url(_host())
    messages, reminded = [], []
    with translation.override(settings.LANGUAGE_CODE):
        for invoice in invoices:
            emails = recipients.get(invoice.family_id)
            if not emails:
                continue
            body = render_to_string("treasury/email/payment_reminder.txt", {
                "invoice": invoice, "remaining": format_cents(invoice.remaining_cents),
                "profile": profile, "url": base + reverse("treasury:parent_invoices")})
            subject = _("Reminder: invoice %(number)s is unpaid") % {"number": invoice.number}
            messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, emails))
            reminded.append(invoice.pk)
    sent = _send(messages)
    Invoice.objects.filter(pk__in=reminded).update(reminded_at=timezone.now())
    return sent
