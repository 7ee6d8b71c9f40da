"""Invoicing runs, invoices and credit notes, their lines, and gap-free numbering."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    PENDING = "pending", _("queued")
    RUNNING = "running", _("computing")
    DRAFTED = "drafted", _("drafts to review")
    ISSUING = "issuing", _("issuing")
    ISSUED = "issued", _("issued")
    FAILED = "failed", _("failed")
    DISCARDED = "discarded", _("discarded")


ACTIVE_RUN_STATUSES = [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.DRAFTED,
                       RunStatus.ISSUING]


class InvoicingRun(models.Model):
    """One monthly invoicing of the commune: computed by a task, reviewed, then issued."""

    period = models.DateField(_("month"))  # first day of the month billed
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices,
                              default=RunStatus.PENDING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    drafted_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Totals by service and bracket, anomalies, counts (written when drafted).
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-period", "-id"]
        verbose_name = _("invoicing run")
        constraints = [
            models.UniqueConstraint(fields=["period"],
                                    condition=models.Q(status__in=ACTIVE_RUN_STATUSES),
                                    name="one_active_run_per_month"),
        ]

    def __str__(self):
        return f"{self.period:%Y-%m} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0 if self.status in (RunStatus.PENDING, RunStatus.RUNNING) else 100
        return min(100, self.progress_done * 100 // self.progress_total)


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    ISSUED = "issued", _("issued")
    CANCELLED = "cancelled", _("cancelled")


class Invoice(models.Model):
    """An invoice (or a credit note) of one household. Once issued it is never edited:
    a credit note reduces or cancels it. ``total_cents`` is the sum of its lines."""

    kind = models.CharField(_("kind"), max_length=16, choices=InvoiceKind.choices,
                            default=InvoiceKind.INVOICE)
    status = models.CharField(_("status"), max_length=16, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.DRAFT)
    family = models.ForeignKey("portal.Family", on_delete=models.PROTECT,
                               related_name="invoices")
    run = models.ForeignKey(InvoicingRun, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="invoices")
    period = models.DateField(_("month"), null=True, blank=True)
    # Gap-free numbering per series and year, assigned at issue.
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    number = models.CharField(_("number"), max_length=20, blank=True)
    issue_date = models.DateField(_("issued on"), null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(_("to pay by"), null=True, blank=True)
    total_cents = models.IntegerField(_("total (cents)"), default=0)
    # A credit note reducing or cancelling one invoice (null: a family credit).
    credited_invoice = models.ForeignKey("self", null=True, blank=True,
                                         on_delete=models.PROTECT,
                                         related_name="credit_notes")
    reason = models.TextField(_("reason"), blank=True)
    # The debtor as known when drafted: an issued invoice does not change with the family.
    debtor_name = models.CharField(_("debtor"), max_length=310, blank=True)
    debtor_address1 = models.CharField(max_length=200, blank=True)
    debtor_address2 = models.CharField(max_length=200, blank=True)
    debtor_postcode = models.CharField(max_length=5, blank=True)
    debtor_city = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Sent to the public accountant (Hélios, ORMC title): from then on only the treasury
    # collects it, never the régie (no card payment, no desk payment).
    sent_to_treasury_at = models.DateTimeField(_("sent to the treasury"), null=True,
                                               blank=True)

    class Meta:
        ordering = ["-issue_date", "-sequence", "-id"]
        verbose_name = _("invoice")
        indexes = [
            models.Index(fields=["family", "status"], name="invoice_family_status"),
            models.Index(fields=["period", "status"], name="invoice_period_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_cents__gte=0),
                                   name="invoice_total_not_negative"),
            models.UniqueConstraint(fields=["kind", "year", "sequence"],
                                    name="invoice_number_unique"),
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | (models.Q(sequence__isnull=False) & models.Q(issue_date__isnull=False)),
                name="issued_invoice_numbered"),
            models.CheckConstraint(
                condition=models.Q(kind="credit_note") | models.Q(credited_invoice__isnull=True),
                name="only_credit_notes_credit"),
        ]

    def __str__(self):
        return self.number or f"#{self.pk}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE


class LineKind(models.TextChoices):
    USAGE = "usage", _("attendance")
    SURCHARGE = "surcharge", _("surcharge")
    ABSENCE = "absence", _("unjustified absence")
    LATE_CANCELLATION = "late_cancellation", _("late cancellation")
    DISCOUNT = "discount", _("discount")
    MINIMUM = "minimum", _("monthly minimum")
    MAXIMUM = "maximum", _("monthly maximum")
    REGULARISATION = "regularisation", _("regularisation")
    CREDIT = "credit", _("credit")


class InvoiceLine(models.Model):
    # Checked by the database once per statement (migration 0007), like the references
    # below: the invoices of a batch are written before their lines.
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines",
                                db_constraint=False)
    position = models.PositiveIntegerField(default=0)
    # What the line bills. The database checks these three references once per statement
    # (migration 0005: a line naming a missing row, or deleting a row a line names, is
    # refused) instead of by one foreign-key check per line: a month's COPY of lines
    # would otherwise spend most of its time there (docs/benchmarks.md).
    child = models.ForeignKey("portal.Child", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", db_constraint=False)
    unit = models.ForeignKey("portal.Unit", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", db_constraint=False)
    tariff = models.ForeignKey("treasury.Tariff", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", db_constraint=False)
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    # The month the facts belong to (a regularisation names the month it corrects).
    period = models.DateField(null=True, blank=True)
    # For regularisation lines: what the corrected line was (usage, discount…).
    base_kind = models.CharField(max_length=20, blank=True)
    bracket = models.PositiveSmallIntegerField(null=True, blank=True)
    quantity = models.IntegerField()
    unit_price_cents = models.IntegerField()
    amount_cents = models.IntegerField()
    label = models.CharField(max_length=255)

    class Meta:
        ordering = ["invoice", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents=models.F("quantity")
                                   * models.F("unit_price_cents")),
                name="line_amount_is_quantity_times_price"),
        ]

    def __str__(self):
        return self.label


class NumberSeries(models.TextChoices):
    INVOICE = "F", _("invoices")
    CREDIT_NOTE = "AV", _("credit notes")
    RECEIPT = "R", _("payment receipts")


class NumberSequence(models.Model):
    """The last number given in a series and year; locked (``select_for_update``) by the
    transaction that issues, so numbers have no gap and no duplicate."""

    series = models.CharField(max_length=4, choices=NumberSeries.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"],
                                               name="number_sequence_unique")]

    def __str__(self):
        return f"{self.series}{self.year}: {self.last_number}"
