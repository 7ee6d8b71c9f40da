"""The payments ledger (any channel), settlements of invoices, refunds.

Money flows: a ``Payment`` (or a credit note) settles invoices through ``Settlement``
rows; what a payment does not settle is the family's credit, used on later invoices or
given back by a ``Refund``. Per family and in total:
invoiced = paid + credited + outstanding, and payments = paid + refunded + unallocated.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    CASH = "cash", _("cash")
    CHEQUE = "cheque", _("cheque")
    CESU = "cesu", _("CESU")
    HOLIDAY_VOUCHERS = "holiday_vouchers", _("holiday vouchers (ANCV)")
    DESK_CARD = "desk_card", _("card at the desk")
    ONLINE_CARD = "online_card", _("card online")
    TRANSFER = "transfer", _("bank transfer")


DESK_CHANNELS = [Channel.CASH, Channel.CHEQUE, Channel.CESU, Channel.HOLIDAY_VOUCHERS,
                 Channel.DESK_CARD, Channel.TRANSFER]


class Payment(models.Model):
    family = models.ForeignKey("portal.Family", on_delete=models.PROTECT,
                               related_name="payments")
    channel = models.CharField(_("means of payment"), max_length=20, choices=Channel.choices)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    received_on = models.DateField(_("received on"))
    cheque_number = models.CharField(_("cheque number"), max_length=30, blank=True)
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    # The provider's reference (e.g. a card payment id): one payment per reference.
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    receipt_year = models.PositiveSmallIntegerField(null=True, blank=True)
    receipt_sequence = models.PositiveIntegerField(null=True, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=20, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0),
                                   name="payment_amount_positive"),
            models.UniqueConstraint(fields=["channel", "reference"],
                                    condition=~models.Q(reference=""),
                                    name="payment_reference_unique"),
            models.UniqueConstraint(fields=["receipt_year", "receipt_sequence"],
                                    name="receipt_number_unique"),
        ]

    def __str__(self):
        return self.receipt_number or f"#{self.pk}"


class Settlement(models.Model):
    """Part of an invoice settled by a payment or by a credit note (exactly one of them)."""

    invoice = models.ForeignKey("treasury.Invoice", on_delete=models.PROTECT,
                                related_name="settlements")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="settlements")
    credit_note = models.ForeignKey("treasury.Invoice", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="settles")
    amount_cents = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0),
                                   name="settlement_amount_positive"),
            models.CheckConstraint(
                condition=(models.Q(payment__isnull=False) & models.Q(credit_note__isnull=True))
                | (models.Q(payment__isnull=True) & models.Q(credit_note__isnull=False)),
                name="settlement_has_one_source"),
        ]

    def __str__(self):
        return f"{self.invoice_id}: {self.amount_cents}"


class Refund(models.Model):
    """Money given back to a family from the unallocated part of a payment, by decision."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(_("reason"), max_length=255)
    reference = models.CharField(max_length=100, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0),
                                   name="refund_amount_positive"),
        ]

    def __str__(self):
        return f"{self.payment_id}: {self.amount_cents}"
