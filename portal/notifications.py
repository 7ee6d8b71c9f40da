"""E-mails to families (sent after commit, never inside a transaction)."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from portal.models import Guardian, Reservation


def family_emails_for_child(child) -> list[str]:
    emails = Guardian.objects.filter(family__memberships__child=child).exclude(email="")
    return sorted(set(emails.values_list("email", flat=True)))


def notify_waiting_list_promotion(reservation_id: int) -> None:
    reservation = Reservation.objects.select_related("child", "unit").get(pk=reservation_id)
    recipients = family_emails_for_child(reservation.child)
    if not recipients:
        return
    body = render_to_string("portal/email/waiting_list_promoted.txt", {"reservation": reservation})
    subject = _("A place is free: %(child)s is booked") % {"child": reservation.child.first_name}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
