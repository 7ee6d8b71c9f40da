"""Sending released bordereaux to the treasury: a bordereau is a work-queue row
(``transmission`` to_send → sending → sent | failed); the task claims it with a
conditional update, calls the sender adapter and records the outcome."""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from treasury.helios.transport import TransportError, sender_from_settings
from treasury.models import HeliosBordereau, TransmissionStatus

CLAIMABLE = [TransmissionStatus.TO_SEND, TransmissionStatus.FAILED]


def helios_bordereau_send(*, bordereau_id: int) -> str:
    """Send one bordereau; return its transmission status. A failure is recorded
    (``failed`` with the error) and raised again for the task to retry."""
    claimed = HeliosBordereau.objects.filter(pk=bordereau_id, transmission__in=CLAIMABLE) \
        .update(transmission=TransmissionStatus.SENDING)
    if not claimed:  # sent already, or being sent by another worker
        return HeliosBordereau.objects.get(pk=bordereau_id).transmission
    bordereau = HeliosBordereau.objects.get(pk=bordereau_id)
    sender = sender_from_settings(settings)
    try:
        where = sender.send(schema_name=connection.schema_name, file_name=bordereau.file_name,
                            content=bytes(bordereau.content))
    except TransportError as error:
        HeliosBordereau.objects.filter(pk=bordereau_id).update(
            transmission=TransmissionStatus.FAILED, attempts=bordereau.attempts + 1,
            last_error=str(error)[:2000])
        raise
    HeliosBordereau.objects.filter(pk=bordereau_id).update(
        transmission=TransmissionStatus.SENT, attempts=bordereau.attempts + 1,
        last_error="", sent_at=timezone.now())
    return f"{TransmissionStatus.SENT}: {where}"
