"""Reservations, waiting lists, absences and attendance: shared by every service."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReservationStatus(models.TextChoices):
    BOOKED = "booked", _("booked")
    CANCELLED = "cancelled", _("cancelled")


class Reservation(models.Model):
    child = models.ForeignKey("portal.Child", on_delete=models.PROTECT, related_name="reservations")
    unit = models.ForeignKey("portal.Unit", on_delete=models.PROTECT, related_name="reservations")
    # The household that booked and is billed (a child of separated parents has two).
    family = models.ForeignKey("portal.Family", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="reservations")
    date = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=16, choices=ReservationStatus.choices,
                              default=ReservationStatus.BOOKED)
    booked_late = models.BooleanField(_("booked after the deadline"), default=False)
    cancelled_late = models.BooleanField(_("cancelled after the deadline"), default=False)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    booked_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "unit"]
        indexes = [models.Index(fields=["unit", "date", "status"], name="reservation_unit_day")]
        constraints = [
            models.UniqueConstraint(fields=["child", "unit", "date"],
                                    condition=models.Q(status="booked"),
                                    name="reservation_once_per_day"),
        ]

    def __str__(self):
        return f"child {self.child_id}, unit {self.unit_id}, {self.date} ({self.status})"


class WaitingStatus(models.TextChoices):
    WAITING = "waiting", _("waiting")
    PROMOTED = "promoted", _("promoted to a booking")
    WITHDRAWN = "withdrawn", _("withdrawn")


class WaitingListEntry(models.Model):
    child = models.ForeignKey("portal.Child", on_delete=models.CASCADE, related_name="waiting")
    unit = models.ForeignKey("portal.Unit", on_delete=models.CASCADE, related_name="waiting")
    date = models.DateField(_("day"))
    status = models.CharField(max_length=16, choices=WaitingStatus.choices,
                              default=WaitingStatus.WAITING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["child", "unit", "date"],
                                    condition=models.Q(status="waiting"),
                                    name="waiting_once_per_day"),
        ]

    def __str__(self):
        return f"child {self.child_id}, unit {self.unit_id}, {self.date} ({self.status})"


class AbsenceStatus(models.TextChoices):
    DECLARED = "declared", _("declared, to be checked")
    JUSTIFIED = "justified", _("justified")
    UNJUSTIFIED = "unjustified", _("not justified")


class Absence(models.Model):
    """An absence of a child on days, for every service (canteen, care, leisure)."""

    child = models.ForeignKey("portal.Child", on_delete=models.CASCADE, related_name="absences")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    certificate = models.ForeignKey("accounts.StoredFile", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=AbsenceStatus.choices,
                              default=AbsenceStatus.DECLARED)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="absence_period_valid"),
        ]

    def __str__(self):
        return f"child {self.child_id}, {self.start_date} – {self.end_date}"


class Attendance(models.Model):
    """Pointage: one row per child, unit and day, recorded by an agent."""

    unit = models.ForeignKey("portal.Unit", on_delete=models.PROTECT, related_name="attendance")
    date = models.DateField(_("day"))
    child = models.ForeignKey("portal.Child", on_delete=models.PROTECT, related_name="attendance")
    present = models.BooleanField(_("present"))
    without_booking = models.BooleanField(_("present without booking"), default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "date", "child"], name="attendance_once"),
        ]

    def __str__(self):
        return f"child {self.child_id}, unit {self.unit_id}, {self.date}"
