"""Set-up of ``bench/invoicing.py`` (run in its child process): the town, its families
and a month of bookings, absences and attendance, bulk-inserted."""

import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from bench.names import ADULT_NAMES, CHILD_NAMES, LAST_NAMES, STREETS

DB_NAME = "parvis_bench_invoicing"
SLUG = "facturation"
HOST = "facturation.localhost"
FAMILIES = 10_000
PERIOD = date(2026, 3, 1)
SCHOOLS = 8
CENTRES = 2
SEED = "parvis-bench-invoicing"

SCHOOL_NAMES = ["Jean Moulin", "Jules Ferry", "Louise Michel", "Victor Hugo", "Marie Curie",
                "Jean Jaurès", "Paul Bert", "Condorcet"]
CENTRE_NAMES = ["Les Tilleuls", "La Fontaine"]

# What each kind of unit is, who takes it and how often. ``take``: share of the children
# of the facility who book the unit at all; ``weekday``: chance that such a child books a
# given weekday of the week (a weekly pattern, as parents book), ``skip``: days left out.
UNIT_PLANS = {
    "canteen": dict(name="Cantine", start=dtime(11, 30), end=dtime(13, 30), weekdays="1,2,3,4,5",
                    capacity=500, take=0.98, weekday=0.97, skip=0.02),
    "morning": dict(name="Accueil du matin", start=dtime(7, 30), end=dtime(8, 30),
                    weekdays="1,2,3,4,5", capacity=300, take=0.80, weekday=0.92, skip=0.03),
    "evening1": dict(name="Accueil du soir – 1re heure", start=dtime(16, 30),
                     end=dtime(17, 30), weekdays="1,2,4,5", capacity=400, take=0.92,
                     weekday=0.94, skip=0.03),
    "evening2": dict(name="Accueil du soir – 2e heure", start=dtime(17, 30), end=dtime(18, 30),
                     weekdays="1,2,4,5", capacity=350, take=0.78, weekday=0.92, skip=0.03),
    "wednesday": dict(name="Mercredi après-midi", start=dtime(13, 30), end=dtime(18, 30),
                      weekdays="3", capacity=2000, take=0.75, weekday=0.97, skip=0.03),
}
# Tariffs (cents, 7 brackets of the standard grid: 0, 400, 650, 900, 1200, 1600, 2000).
TARIFFS = {
    "canteen": dict(resident_cents=[100, 150, 320, 400, 450, 500, 550],
                    non_resident_cents=[250, 300, 470, 550, 600, 650, 700],
                    sibling_discount_2_pct=10, sibling_discount_3_pct=20,
                    late_booking_surcharge_cents=100, no_booking_surcharge_cents=200),
    "morning": dict(resident_cents=[50, 80, 120, 160, 200, 240, 280],
                    non_resident_cents=[110, 140, 180, 220, 260, 300, 340],
                    late_booking_surcharge_cents=50, no_booking_surcharge_cents=100,
                    bill_unjustified_absence=False),
    "evening1": dict(resident_cents=[70, 110, 160, 210, 260, 310, 360],
                     non_resident_cents=[150, 190, 240, 290, 340, 390, 440],
                     sibling_discount_2_pct=5, sibling_discount_3_pct=10,
                     late_booking_surcharge_cents=50, no_booking_surcharge_cents=150,
                     max_month_cents=4_500),
    "evening2": dict(resident_cents=[60, 90, 140, 180, 220, 260, 300],
                     non_resident_cents=[120, 150, 200, 240, 280, 320, 360],
                     late_booking_surcharge_cents=50, no_booking_surcharge_cents=150),
    "wednesday": dict(resident_cents=[400, 600, 900, 1200, 1500, 1800, 2100],
                      non_resident_cents=[900, 1100, 1400, 1700, 2000, 2300, 2600],
                      sibling_discount_2_pct=15, sibling_discount_3_pct=15,
                      late_booking_surcharge_cents=300, min_month_cents=1_000),
}
TAPPED = {  # units whose attendance is taken on a tablet (school or centre index)
    "canteen": range(0, 5), "morning": range(0, 2), "evening1": range(0, 5),
    "evening2": range(0, 5), "wednesday": range(0, 1),
}
LATE_BOOKED, LATE_CANCELLED, CANCELLED, REBOOKED = 0.03, 0.02, 0.02, 0.10
NO_FAMILY_ON_ROW = 0.01   # old bookings without the household: the child's first one
ABSENT_TAP = 0.015        # tapped "absent" on a booked day, nothing declared
WITHOUT_BOOKING = 0.006   # tapped "present" on a day of the unit that was not booked
CAME_ANYWAY = 0.10        # tapped "present" on a day declared absent


# --- Set-up (child process) --------------------------------------------------------



def month_days(period: date) -> list[date]:
    from treasury.facts import month_bounds

    start, end = month_bounds(period)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def catalogue_create(actor):
    """Facilities, units and their tariffs: ``{(kind, place index): unit}``."""
    from portal.models import Facility, FacilityKind, Service, ServiceKind, Unit
    from treasury.services.tariffs import tariff_set

    services = {kind: Service.objects.get(kind=kind) for kind in ServiceKind.values
                if Service.objects.filter(kind=kind).exists()}
    service_of = {"canteen": ServiceKind.CANTEEN, "morning": ServiceKind.MORNING_CARE,
                  "evening1": ServiceKind.EVENING_CARE, "evening2": ServiceKind.EVENING_CARE,
                  "wednesday": ServiceKind.WEDNESDAY_LEISURE}
    places = {
        "school": [Facility.objects.create(name=f"Groupe scolaire {name}",
                                           kind=FacilityKind.SCHOOL_GROUP)
                   for name in SCHOOL_NAMES[:SCHOOLS]],
        "centre": [Facility.objects.create(name=f"Accueil de loisirs {name}",
                                           kind=FacilityKind.LEISURE_CENTRE)
                   for name in CENTRE_NAMES[:CENTRES]]}
    units = {}
    for kind, plan in UNIT_PLANS.items():
        for index, facility in enumerate(places["centre" if kind == "wednesday" else "school"]):
            unit = Unit.objects.create(
                service=services[service_of[kind]], facility=facility, name=plan["name"],
                start_time=plan["start"], end_time=plan["end"], capacity=plan["capacity"],
                weekdays=plan["weekdays"], period="school_term", late_booking="surcharge")
            tariff_set(unit=unit, valid_from=date(2025, 9, 1), actor=actor, **TARIFFS[kind])
            units[kind, index] = unit
    return places, units


def households_create(rng: random.Random, schools):
    """Families, guardians, children, memberships and quotients (bulk inserts).
    Returns ``[(child, school index, centre index, [family ids])]`` and the family ids."""
    from portal.models import Child, ClassLevel, Family, FamilyQuotient, Guardian, Membership
    from portal.normalize import normalize_name

    families, guardians, children, quotients = [], [], [], []
    used = set()
    levels = [ClassLevel.PS, ClassLevel.MS, ClassLevel.GS, ClassLevel.CP, ClassLevel.CE1,
              ClassLevel.CE2, ClassLevel.CM1, ClassLevel.CM2]
    for number in range(1, FAMILIES + 1):
        last = rng.choice(LAST_NAMES)
        resident = rng.random() >= 0.10
        incomplete = rng.random() < 0.015
        family = Family(
            reference=f"F{number:05d}", name=last, search_name=normalize_name(last),
            address_line1="" if incomplete else f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
            postcode="38360" if resident else rng.choice(["38000", "38170", "38600"]),
            city="Sassenage" if resident else rng.choice(["Grenoble", "Seyssinet", "Fontaine"]),
            residency="resident" if resident else "non_resident")
        families.append(family)
        for index in range(1 if rng.random() < 0.5 else 2):
            first = rng.choice(ADULT_NAMES)
            guardians.append((family, Guardian(
                first_name=first, last_name=last, search_name=normalize_name(last, first),
                email=f"parent{number}.{index}@facturation.test" if index == 0 else "",
                is_payer=index == 0)))
        school = rng.randrange(SCHOOLS)
        for _ in range(rng.choices([1, 2, 3, 4], [0.40, 0.42, 0.16, 0.02])[0]):
            first = rng.choice(CHILD_NAMES)
            while True:
                birth = date(rng.randint(2015, 2022), rng.randint(1, 12), rng.randint(1, 28))
                key = (normalize_name(last, first), birth)
                if key not in used:
                    break
            used.add(key)
            age = 2026 - birth.year
            children.append((family, school, Child(
                first_name=first, last_name=last, search_name=key[0], birth_date=birth,
                school=schools[school], class_level=levels[min(max(age - 3, 0), 7)])))
        if rng.random() < 0.90:
            value = int(min(max(rng.lognormvariate(6.85, 0.5), 120), 3500))
            if rng.random() < 0.07:  # a new QF from the 16th (e.g. a CAF update)
                quotients.append((family, FamilyQuotient(
                    value=value, source="caf", valid_from=date(2025, 1, 1),
                    valid_until=date(2026, 3, 15))))
                value = int(value * rng.uniform(0.6, 1.4))
                quotients.append((family, FamilyQuotient(
                    value=value, source="caf", valid_from=date(2026, 3, 16))))
            else:
                quotients.append((family, FamilyQuotient(
                    value=value, source=rng.choice(["caf", "caf", "msa", "computed"]),
                    valid_from=date(2025, 1, 1))))
    Family.objects.bulk_create(families, batch_size=2000)
    for family, row in guardians + quotients:
        row.family = family
    Guardian.objects.bulk_create([g for _f, g in guardians], batch_size=2000)
    FamilyQuotient.objects.bulk_create([q for _f, q in quotients], batch_size=2000)
    Child.objects.bulk_create([c for _f, _s, c in children], batch_size=2000)
    memberships, result = [], []
    for family, school, child in children:
        households = [family.pk]
        memberships.append(Membership(family=family, child=child))
        if rng.random() < 0.015:  # separated parents: a second household books some weeks
            other = rng.choice(families)
            if other is not family:
                households.append(other.pk)
                memberships.append(Membership(family=other, child=child))
        result.append((child.pk, school, school * CENTRES // SCHOOLS, households))
    Membership.objects.bulk_create(memberships, batch_size=5000)
    return result, [family.pk for family in families], len(guardians), len(quotients)


def absences_create(rng: random.Random, children, school_days) -> dict[int, set[date]]:
    """About 10 % of the children absent 1 to 4 school days in a row; some justified."""
    from portal.models import Absence, AbsenceStatus

    rows, absent = [], {}
    for child_id, *_rest in children:
        if rng.random() >= 0.10:
            continue
        first = rng.randrange(len(school_days))
        days = school_days[first:first + rng.randint(1, 4)]
        status = rng.choices([AbsenceStatus.JUSTIFIED, AbsenceStatus.DECLARED,
                              AbsenceStatus.UNJUSTIFIED], [0.45, 0.35, 0.20])[0]
        rows.append(Absence(child_id=child_id, start_date=days[0], end_date=days[-1],
                            reason="Maladie" if status == AbsenceStatus.JUSTIFIED else "",
                            status=status))
        absent[child_id] = set(days)
    Absence.objects.bulk_create(rows, batch_size=5000)
    return absent


def bookings(rng: random.Random, children, units, absent, days):
    """Yield ("reservation", row) and ("attendance", row) for the whole month."""
    open_days = {key: [d for d in days if str(d.isoweekday()) in unit.weekdays.split(",")]
                 for key, unit in units.items()}
    base = datetime(2026, 2, 20, 18, 0, tzinfo=UTC)
    for child_id, school, centre, households in children:
        off = absent.get(child_id, ())
        for kind, plan in UNIT_PLANS.items():
            place = centre if kind == "wednesday" else school
            unit = units[kind, place]
            tapped = place in TAPPED[kind]
            if rng.random() >= plan["take"]:
                continue
            pattern = {wd for wd in plan["weekdays"].split(",") if rng.random() < plan["weekday"]}
            for day in open_days[kind, place]:
                family = households[day.isocalendar().week % 2] if len(households) > 1 \
                    else households[0]
                if rng.random() < NO_FAMILY_ON_ROW:
                    family = None
                if str(day.isoweekday()) not in pattern or rng.random() < plan["skip"]:
                    if tapped and rng.random() < WITHOUT_BOOKING:
                        yield "attendance", (unit.pk, day, child_id, True, True, base)
                    continue
                draw = rng.random()
                if draw < LATE_CANCELLED + CANCELLED:
                    late = draw < LATE_CANCELLED
                    yield "reservation", (child_id, unit.pk, family, day, "cancelled", False,
                                          late, base, base + timedelta(days=10))
                    if not (late and rng.random() < REBOOKED):
                        continue
                late = rng.random() < LATE_BOOKED
                yield "reservation", (child_id, unit.pk, family, day, "booked", late, False,
                                      base + timedelta(days=12 if late else 0), None)
                if tapped:
                    if day in off:
                        present = rng.random() < CAME_ANYWAY
                        if present or rng.random() < 0.7:
                            yield "attendance", (unit.pk, day, child_id, present, False, base)
                    else:
                        yield "attendance", (unit.pk, day, child_id,
                                             rng.random() >= ABSENT_TAP, False, base)


def credits_create(rng: random.Random, family_ids, actor) -> int:
    """A few families paid in advance (unallocated cheques): their credit is used at issue."""
    from portal.models import Family
    from treasury.services.payments import payment_record

    chosen = rng.sample(family_ids, max(1, FAMILIES // 500))
    for number, family in enumerate(Family.objects.filter(pk__in=chosen), start=1):
        payment_record(family=family, channel="cheque", amount_cents=rng.randint(20, 80) * 100,
                       received_on=date(2026, 2, 27), actor=actor,
                       cheque_number=f"{1_000_000 + number}",
                       bank="Crédit Agricole Sud Rhône Alpes")
    return len(chosen)


def setup() -> None:
    """The child process: a fresh database, the commune and its month of data."""
    import django

    django.setup()
    from django.db import connection, transaction
    from psycopg import sql

    from bench.common import bench_database, database_recreate, platform_prepare
    from core.journal import Actor
    from tenants.services import commune_onboard

    database_recreate(bench_database())
    platform_prepare()
    actor = Actor.system("bench")
    commune = commune_onboard(slug=SLUG, name="Facturation-sur-Isère", domain=HOST,
                              actor=actor).commune
    rng = random.Random(SEED)
    days = month_days(PERIOD)
    school_days = [d for d in days if d.isoweekday() <= 5]
    with commune:
        started = time.perf_counter()
        with transaction.atomic():
            places, units = catalogue_create(actor)
            children, family_ids, guardians, quotients = households_create(
                rng, places["school"])
            absent = absences_create(rng, children, school_days)
        households = time.perf_counter() - started
        counts = Counter()
        copies = {
            "reservation": ("portal_reservation", ["child_id", "unit_id", "family_id", "date",
                                                   "status", "booked_late", "cancelled_late",
                                                   "booked_at", "cancelled_at"]),
            "attendance": ("portal_attendance", ["unit_id", "date", "child_id", "present",
                                                 "without_booking", "recorded_at"]),
        }
        started = time.perf_counter()
        # Two COPY streams cannot share a connection: attendance rows wait in memory
        # (a few hundred thousand small tuples) while reservations stream.
        attendance = []
        with transaction.atomic(), connection.cursor() as cursor:
            table, columns = copies["reservation"]
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(SLUG, table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with cursor.copy(statement) as copy:
                for kind, row in bookings(rng, children, units, absent, days):
                    counts[kind, row[4] if kind == "reservation" else row[3]] += 1
                    if kind == "reservation":
                        copy.write_row(row)
                    else:
                        attendance.append(row)
            table, columns = copies["attendance"]
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(SLUG, table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with cursor.copy(statement) as copy:
                for row in attendance:
                    copy.write_row(row)
        del attendance
        copied = time.perf_counter() - started
        with_credit = credits_create(rng, family_ids, actor)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        vacuumed = time.perf_counter() - started
    booked = counts["reservation", "booked"]
    cancelled = counts["reservation", "cancelled"]
    print(f"Set-up: {FAMILIES:,} families, {guardians:,} guardians, {len(children):,} children, "
          f"{quotients:,} QF periods, {len(units)} units with tariffs, {len(absent):,} absences, "
          f"{with_credit} families with a credit: {households:.1f} s (bulk_create)")
    print(f"        {booked + cancelled:,} reservations ({booked:,} booked, {cancelled:,} "
          f"cancelled), {counts['attendance', True] + counts['attendance', False]:,} attendance "
          f"taps ({counts['attendance', False]:,} absent): {copied:.1f} s (COPY); "
          f"VACUUM ANALYZE {vacuumed:.1f} s")
    connection.close()
