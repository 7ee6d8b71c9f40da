from django.db import transaction
from django.utils.translation import gettext as _

from core.journal import Actor, journal_record
from payments.models import PaymentAttempt
from treasury.pricing import format_cents


def attempt_review(*, attempt: PaymentAttempt, actor: Actor) -> PaymentAttempt:
    """The régisseur has looked at a double payment (the money stays the family's credit
    until used or refunded by decision)."""
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if not attempt.needs_review:
            return attempt
        attempt.needs_review = False
        attempt.save(update_fields=["needs_review", "updated_at"])
        journal_record(actor=actor, action="payments.excess_reviewed", target=attempt,
                       summary=_("Double card payment of %(amount)s reviewed") % {
                           "amount": format_cents(attempt.excess_cents)},
                       changes={"excess_cents": attempt.excess_cents})
    return attempt
