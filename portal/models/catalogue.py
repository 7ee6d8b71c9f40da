"""Facilities, services and their bookable units, with opening and booking rules."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FacilityKind(models.TextChoices):
    SCHOOL_GROUP = "school_group", _("school group")
    LEISURE_CENTRE = "leisure_centre", _("leisure centre")
    HOLIDAY_CENTRE = "holiday_centre", _("holiday centre")
    SPORTS_CENTRE = "sports_centre", _("multisport centre")
    DAY_CARE = "day_care", _("day care")


class ServiceKind(models.TextChoices):
    CANTEEN = "canteen", _("school catering")
    MORNING_CARE = "morning_care", _("morning care")
    EVENING_CARE = "evening_care", _("evening care")
    WEDNESDAY_LEISURE = "wednesday_leisure", _("Wednesday leisure centre")
    HOLIDAY_LEISURE = "holiday_leisure", _("holiday leisure centre")
    STAY = "stay", _("holiday stay")
    DAY_CARE = "day_care", _("multi-care day nursery")


class Facility(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=FacilityKind.choices)
    address = models.CharField(_("address"), max_length=250, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self):
        return self.name


class Service(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ServiceKind.choices)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")

    def __str__(self):
        return self.name


class OpeningPeriod(models.TextChoices):
    SCHOOL_TERM = "school_term", _("school term only")
    SCHOOL_HOLIDAYS = "school_holidays", _("school holidays only")
    ALL_YEAR = "all_year", _("all year")


class LatePolicy(models.TextChoices):
    REFUSE = "refuse", _("refused after the deadline")
    SURCHARGE = "surcharge", _("accepted with a surcharge")


class Unit(models.Model):
    """A bookable unit: e.g. the canteen lunch of one school group, morning care 7:30–8:30.

    Opening: the ``weekdays`` (ISO numbers 1–7, e.g. "1,2,4,5") within ``period``, never on
    public holidays or closures. Deadlines count working days (no weekend, no public
    holiday) before the day, at ``..._deadline_time`` in the commune's time zone.
    """

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="units")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="units")
    name = models.CharField(_("name"), max_length=150)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("to"))
    capacity = models.PositiveIntegerField(_("places per day"))
    weekdays = models.CharField(_("days of the week"), max_length=13, default="1,2,4,5")
    period = models.CharField(_("period"), max_length=16, choices=OpeningPeriod.choices,
                              default=OpeningPeriod.SCHOOL_TERM)
    min_age_months = models.PositiveIntegerField(_("minimum age (months)"), null=True, blank=True)
    max_age_months = models.PositiveIntegerField(_("maximum age (months)"), null=True, blank=True)
    class_levels = models.CharField(_("eligible classes"), max_length=100, blank=True,
                                    help_text=_("Comma-separated; empty: every class."))
    booking_deadline_days = models.PositiveSmallIntegerField(_("book: working days before"),
                                                             default=2)
    booking_deadline_time = models.TimeField(_("book: before"), default="10:00")
    cancel_deadline_days = models.PositiveSmallIntegerField(_("cancel: working days before"),
                                                            default=2)
    cancel_deadline_time = models.TimeField(_("cancel: before"), default="10:00")
    late_booking = models.CharField(_("late booking"), max_length=16, choices=LatePolicy.choices,
                                    default=LatePolicy.REFUSE)
    late_cancelling = models.CharField(_("late cancelling"), max_length=16,
                                       choices=LatePolicy.choices, default=LatePolicy.REFUSE)
    is_active = models.BooleanField(_("open for booking"), default=True)

    class Meta:
        ordering = ["facility__name", "start_time", "name"]
        verbose_name = _("unit")
        constraints = [
            models.CheckConstraint(condition=models.Q(end_time__gt=models.F("start_time")),
                                   name="unit_hours_valid"),
            models.UniqueConstraint(fields=["facility", "name"], name="unit_name_unique"),
        ]

    def __str__(self):
        return f"{self.name} – {self.facility}"

    @property
    def weekday_numbers(self) -> set[int]:
        return {int(day) for day in self.weekdays.split(",") if day.strip()}

    @property
    def class_level_list(self) -> list[str]:
        return [level.strip() for level in self.class_levels.split(",") if level.strip()]


class Closure(models.Model):
    """Days a unit (or every unit of a facility, or everything) is closed."""

    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="closures")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="closures")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="closure_period_valid"),
        ]

    def __str__(self):
        return f"{self.start_date} – {self.end_date}: {self.reason}"
