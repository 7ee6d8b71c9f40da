"""Repairing the billed days (``treasury_billeddays``, treasury 0006).

The database keeps them counted as bookings, taps, absences and memberships change;
they can only drift if someone writes those tables with the triggers switched off (a
restore with ``session_replication_role = replica``, a ``TRUNCATE``). ``check_billed_days``
audits a month against its sources (``treasury.facts_sources``); this recomputes them all.
"""

from django.db import connection, transaction
from django.utils.translation import gettext as _

from core.journal import Actor, journal_record
from treasury.models import BilledDays


@transaction.atomic
def billed_days_rebuild(*, actor: Actor) -> int:
    """Recompute every billed day of the commune from its sources; journalled. Returns the
    number of rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.parvis_billed_days_refresh_all()")
    rows = BilledDays.objects.count()
    journal_record(actor=actor, action="treasury.billed_days_rebuild",
                   summary=_("Billed days recomputed from the bookings, attendance and "
                             "absences (%(rows)s rows)") % {"rows": rows})
    return rows
