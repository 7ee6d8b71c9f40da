"""The commune's treasury settings, harmonised QF grid and per-unit tariffs."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class MissingQuotientRule(models.TextChoices):
    HIGHEST = "highest", _("highest bracket")
    LOWEST = "lowest", _("lowest bracket")


class TreasuryProfile(models.Model):
    """One row (pk=1) per commune: the régie's details printed on invoices and the rules
    that are the commune's own choice."""

    regie_name = models.CharField(_("name of the régie"), max_length=200,
                                  default="Régie de recettes périscolaire")
    regie_address = models.TextField(_("address of the régie"), blank=True)
    regie_contact = models.CharField(_("contact of the régie"), max_length=200, blank=True,
                                     help_text=_("Phone, e-mail, opening hours."))
    payment_terms_days = models.PositiveSmallIntegerField(
        _("days to pay after issue"), default=30)
    missing_quotient_rule = models.CharField(
        _("without a known family quotient"), max_length=8,
        choices=MissingQuotientRule.choices, default=MissingQuotientRule.HIGHEST)
    payment_instructions = models.TextField(
        _("how to pay"), blank=True,
        default="Par carte bancaire sur le portail famille, ou à la régie : espèces, "
                "chèque à l'ordre du Trésor public, CESU, chèques vacances.")
    reminder_after_days = models.PositiveSmallIntegerField(
        _("reminder, days after the deadline"), default=10)

    class Meta:
        verbose_name = _("treasury settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1),
                                              name="treasury_profile_singleton")]

    def __str__(self):
        return self.regie_name

    @classmethod
    def get(cls) -> "TreasuryProfile":
        profile, _created = cls.objects.get_or_create(pk=1)
        return profile


class QuotientGrid(models.Model):
    """The harmonised QF grid used by every service, from ``valid_from`` until the next one."""

    valid_from = models.DateField(_("valid from"), unique=True)
    label = models.CharField(_("label"), max_length=150, blank=True)
    # Bracket k (1-based) covers QF >= lower_bounds[k-1] and < lower_bounds[k].
    lower_bounds = ArrayField(models.PositiveIntegerField(), verbose_name=_("lower bounds"))

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("family quotient grid")
        constraints = [
            models.CheckConstraint(condition=models.Q(lower_bounds__0=0),
                                   name="grid_starts_at_zero"),
        ]

    def __str__(self):
        return self.label or f"{self.valid_from:%d/%m/%Y}"

    @property
    def bracket_count(self) -> int:
        return len(self.lower_bounds)


class Tariff(models.Model):
    """The prices of one unit from ``valid_from`` until the unit's next tariff."""

    unit = models.ForeignKey("portal.Unit", on_delete=models.PROTECT, related_name="tariffs")
    valid_from = models.DateField(_("valid from"))
    resident_cents = ArrayField(models.PositiveIntegerField(),
                                verbose_name=_("price per day and bracket (cents)"))
    non_resident_cents = ArrayField(
        models.PositiveIntegerField(),
        verbose_name=_("price per day and bracket outside the commune (cents)"))
    sibling_discount_2_pct = models.DecimalField(_("2nd child discount (%)"), max_digits=5,
                                                 decimal_places=2, default=0)
    sibling_discount_3_pct = models.DecimalField(_("3rd child and more discount (%)"),
                                                 max_digits=5, decimal_places=2, default=0)
    min_month_cents = models.PositiveIntegerField(_("monthly minimum (cents)"), null=True,
                                                  blank=True)
    max_month_cents = models.PositiveIntegerField(_("monthly maximum (cents)"), null=True,
                                                  blank=True)
    late_booking_surcharge_cents = models.PositiveIntegerField(
        _("late booking surcharge per day (cents)"), default=0)
    no_booking_surcharge_cents = models.PositiveIntegerField(
        _("surcharge per day present without booking (cents)"), default=0)
    bill_unjustified_absence = models.BooleanField(_("bill unjustified absences"), default=True)
    bill_late_cancellation = models.BooleanField(_("bill late cancellations"), default=True)

    class Meta:
        ordering = ["unit", "-valid_from"]
        verbose_name = _("tariff")
        constraints = [
            models.UniqueConstraint(fields=["unit", "valid_from"], name="tariff_start_unique"),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.valid_from:%d/%m/%Y}"
