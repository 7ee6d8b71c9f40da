"""Card payments (Stripe) in a commune's schema: attempts, webhook events, disputes,
payouts. Money itself is recorded in the treasury's ledger (``treasury.Payment`` with
channel ``online_card`` and the PaymentIntent id as reference)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class AttemptStatus(models.TextChoices):
    OPEN = "open", _("started")
    REQUIRES_ACTION = "requires_action", _("awaiting bank authentication")
    PROCESSING = "processing", _("processing")
    SUCCEEDED = "succeeded", _("paid")
    FAILED = "failed", _("refused")
    CANCELED = "canceled", _("abandoned")


OPEN_ATTEMPT_STATUSES = [AttemptStatus.OPEN, AttemptStatus.REQUIRES_ACTION,
                         AttemptStatus.PROCESSING]
# States only move forward: a late "failed" never undoes "succeeded".
ATTEMPT_RANK = {AttemptStatus.OPEN: 0, AttemptStatus.REQUIRES_ACTION: 1,
                AttemptStatus.PROCESSING: 2, AttemptStatus.FAILED: 3,
                AttemptStatus.CANCELED: 3, AttemptStatus.SUCCEEDED: 4}


class PaymentAttempt(models.Model):
    """A parent paying a set of invoices by card: one row per try, at most one open per
    family and invoice set. Its id makes the provider's idempotency keys."""

    family = models.ForeignKey("portal.Family", on_delete=models.PROTECT,
                               related_name="card_attempts")
    invoice_ids = ArrayField(models.BigIntegerField())
    set_key = models.CharField(max_length=200)
    amount_cents = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=AttemptStatus.choices,
                              default=AttemptStatus.OPEN)
    setup_intent_id = models.CharField(max_length=100, blank=True)
    payment_intent_id = models.CharField(max_length=100, blank=True)
    payment = models.ForeignKey("treasury.Payment", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    # Money that arrived but found nothing left to pay (a double payment): kept as the
    # family's credit and shown to the régisseur until reviewed.
    excess_cents = models.PositiveIntegerField(default=0)
    needs_review = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0),
                                   name="attempt_amount_positive"),
            models.UniqueConstraint(fields=["family", "set_key"],
                                    condition=models.Q(status__in=["open", "requires_action",
                                                                   "processing"]),
                                    name="one_open_attempt_per_invoice_set"),
            models.UniqueConstraint(fields=["payment_intent_id"],
                                    condition=~models.Q(payment_intent_id=""),
                                    name="attempt_payment_intent_unique"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.payment_intent_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ATTEMPT_STATUSES


class EventStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    PROCESSING = "processing", _("processing")
    PROCESSED = "processed", _("processed")
    IGNORED = "ignored", _("ignored (type not handled)")
    FOREIGN = "foreign", _("not for this commune (reported)")
    FAILED = "failed", _("failed")


class WebhookEvent(models.Model):
    """A verified provider event, stored once under its id before anything else."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=EventStatus.choices,
                              default=EventStatus.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="event_status"),
                   models.Index(fields=["object_id"], name="event_object")]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("open")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class Dispute(models.Model):
    """A card payment contested by the cardholder's bank. Lost: the money is given back
    and the invoices it paid are due again."""

    dispute_id = models.CharField(max_length=100, unique=True)
    payment = models.ForeignKey("treasury.Payment", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    payment_intent_id = models.CharField(max_length=100, blank=True)
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=DisputeStatus.choices,
                              default=DisputeStatus.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self):
        return self.dispute_id


class Payout(models.Model):
    """A transfer from Stripe to the régie's bank account, for reconciliation."""

    payout_id = models.CharField(max_length=100, unique=True)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="eur")
    arrival_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(auto_now_add=True)
    # What its balance transactions add up to (``payments.reconciliation.summarise``):
    # positive cents; fees are a cost reported apart, never netted against receipts.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    gross_cents = models.BigIntegerField(default=0)
    refunds_cents = models.BigIntegerField(default=0)
    disputes_cents = models.BigIntegerField(default=0)
    fees_cents = models.BigIntegerField(default=0)
    other_cents = models.BigIntegerField(default=0)
    lines_net_cents = models.BigIntegerField(default=0)
    ties_out = models.BooleanField(null=True, blank=True)  # None: not reconciled yet

    class Meta:
        ordering = ["-arrival_date", "-id"]

    def __str__(self):
        return self.payout_id

    @property
    def difference_cents(self) -> int:
        return self.amount_cents - self.lines_net_cents


class RefundRequest(models.Model):
    """A régisseur's card refund, a row before the provider is called: the form's token
    makes a double submission the same request (localstripe ignores idempotency keys;
    the real Stripe gets the same key anyway)."""

    token = models.CharField(max_length=64, unique=True)
    payment = models.ForeignKey("treasury.Payment", on_delete=models.PROTECT, related_name="+")
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=255)
    refund_id = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.refund_id or self.token


from payments.models_reconcile import (  # noqa: E402,F401  (models of the same app)
    Anomaly,
    AnomalyKind,
    AnomalyStatus,
    MonthClose,
    PayoutTransaction,
)
