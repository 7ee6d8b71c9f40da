"""Reconciliation of card payments: the balance transactions of each payout, the queue
of anomalies for the régisseur, and the month close (docs/payments.md, Reconciliation)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PayoutTransaction(models.Model):
    """One provider balance transaction paid out by a payout, followed to the ledger's
    payment (by its PaymentIntent id) when there is one."""

    payout = models.ForeignKey("payments.Payout", on_delete=models.CASCADE,
                               related_name="transactions")
    txn_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=40)
    kind = models.CharField(max_length=10)  # payments.reconciliation.Kind
    amount_cents = models.BigIntegerField()
    fee_cents = models.BigIntegerField()
    net_cents = models.BigIntegerField()
    source_id = models.CharField(max_length=100, blank=True)
    payment_intent_id = models.CharField(max_length=100, blank=True)
    payment = models.ForeignKey("treasury.Payment", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payout", "created", "id"]
        indexes = [models.Index(fields=["payment_intent_id"], name="payout_txn_intent")]
        constraints = [
            models.CheckConstraint(condition=models.Q(net_cents=models.F("amount_cents")
                                                      - models.F("fee_cents")),
                                   name="payout_txn_net_is_amount_minus_fee"),
        ]

    def __str__(self):
        return self.txn_id


class AnomalyKind(models.TextChoices):
    NO_INVOICE = "no_invoice", _("card payment with no invoice")
    CANCELLED_INVOICE = "cancelled_invoice", _("payment for a cancelled invoice")
    AT_TREASURY = "at_treasury", _("payment to regularise (invoice sent to the treasury)")
    AMOUNT_MISMATCH = "amount_mismatch", _("charged amount differs from the payment")
    DOUBLE_PAYMENT = "double_payment", _("double payment")
    LOST_DISPUTE = "lost_dispute", _("lost dispute")
    WEBHOOK_MISSING = "webhook_missing", _("provider notification never received")
    PAYOUT_DIFFERENCE = "payout_difference", _("payout does not tie out")


class AnomalyStatus(models.TextChoices):
    OPEN = "open", _("open")
    RESOLVED = "resolved", _("resolved")


class Anomaly(models.Model):
    """Something the régisseur must look at before closing the month. Detected once per
    kind and object (``key``), resolved by a person with a note (journalled)."""

    kind = models.CharField(max_length=20, choices=AnomalyKind.choices)
    key = models.CharField(max_length=120)
    period = models.DateField()  # first day of the month it belongs to
    payout = models.ForeignKey("payments.Payout", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="anomalies")
    payment = models.ForeignKey("treasury.Payment", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    attempt = models.ForeignKey("payments.PaymentAttempt", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey("portal.Family", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    payment_intent_id = models.CharField(max_length=100, blank=True)
    amount_cents = models.BigIntegerField(default=0)
    detail = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=AnomalyStatus.choices,
                              default=AnomalyStatus.OPEN)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period", "created_at", "id"]
        indexes = [models.Index(fields=["period", "status"], name="anomaly_period_status")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="anomaly_once_per_object"),
            models.CheckConstraint(
                condition=models.Q(status="open") | (models.Q(resolved_at__isnull=False)
                                                     & ~models.Q(resolution_note="")),
                name="anomaly_resolved_with_note"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"

    @property
    def is_open(self) -> bool:
        return self.status == AnomalyStatus.OPEN


class MonthClose(models.Model):
    """A month of the régie closed: everything invoiced is accounted for and no anomaly
    is open. ``figures`` keeps what the report showed when it was closed."""

    period = models.DateField(unique=True)
    figures = models.JSONField(default=dict)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period"]

    def __str__(self):
        return f"{self.period:%Y-%m}"
