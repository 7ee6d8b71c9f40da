"""``{{ amount_cents|euros }}`` -> "3,20 €" (display only; never fed back to arithmetic)."""

from django import template

from treasury.pricing import format_cents

register = template.Library()


@register.filter
def euros(amount_cents) -> str:
    if amount_cents in (None, ""):
        return ""
    return format_cents(int(amount_cents))



@register.filter
def invoice_state_label(state: str) -> str:
    from django.utils.translation import gettext as _

    labels = {"paid": _("paid"), "partly_paid": _("partly paid"), "due": _("to pay"),
              "overdue": _("overdue"), "cancelled": _("cancelled"),
              "credit_note": _("credit note")}
    return labels.get(state, state)
