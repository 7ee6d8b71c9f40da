"""Per-commune settings of the portal (one row per schema)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class HolidayZone(models.TextChoices):
    A = "A", _("zone A")
    B = "B", _("zone B")
    C = "C", _("zone C")


class CommuneProfile(models.Model):
    """One row (pk=1) in each commune's schema, created at onboarding."""

    holiday_zone = models.CharField(_("school holiday zone"), max_length=1,
                                    choices=HolidayZone.choices, default=HolidayZone.A)
    alsace_moselle = models.BooleanField(_("Alsace-Moselle public holidays"), default=False)
    resident_places = models.TextField(
        _("postcodes and cities of residents"), blank=True,
        help_text=_("One per line: postcode, then city (e.g. 38360 Sassenage)."),
    )

    class Meta:
        verbose_name = _("commune profile")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="profile_singleton")]

    def __str__(self):
        return f"profile (zone {self.holiday_zone})"

    @classmethod
    def get(cls) -> "CommuneProfile":
        profile, _created = cls.objects.get_or_create(pk=1)
        return profile
