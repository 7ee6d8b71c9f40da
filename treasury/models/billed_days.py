"""The month's billable days, counted as bookings and taps change (treasury 0006)."""

from django.db import models


class BilledDays(models.Model):
    """The days of one month on which a child used a unit (or is billed for it), for
    one household and one billing category, as a bit set: bit ``d - 1`` of ``days`` is
    day ``d`` of the month.

    Derived data, never written by Python: statement-level triggers on reservations,
    attendance taps, absences and memberships recompute the rows of every (child,
    month) a statement touched, with the rules ``treasury.facts`` documents. The
    invoicing run then reads about 150,000 of these rows for a town of 10,000 families
    instead of aggregating 1.2 million bookings and 600,000 taps.
    """

    month = models.DateField()  # the first day of the month
    child_id = models.BigIntegerField()
    unit_id = models.BigIntegerField()
    family_id = models.BigIntegerField()
    category = models.CharField(max_length=24)
    days = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "child_id"], name="billed_days_month_child")]

    def __str__(self):
        return (f"child {self.child_id}, unit {self.unit_id}, {self.month:%Y-%m}, "
                f"{self.category}: {self.days:031b}")
