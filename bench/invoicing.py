"""Benchmark: a month of invoices for 10,000 families and ~1.2 million booked unit-days.

Run with ``PARVIS_ENV=dev .venv/bin/python bench/invoicing.py`` (``--reuse`` keeps the
data of the previous run and only wipes the invoices, runs and their settlements).

Set-up (in a child process, so that the peak memory printed is the run's, not the data
generation's): its own database (``parvis_bench_invoicing``, dropped and recreated; the
development database is never touched), one commune onboarded with the standard template
(harmonised QF grid, usual services), 8 school groups with canteen, morning care and
two evening care hours each, 2 leisure centres open on Wednesday afternoons, a tariff per
unit set through ``tariff_set`` (7 brackets; sibling discounts, surcharges, a monthly cap
and a monthly minimum), ``FAMILIES`` households (about 1.8 children each, a paying
guardian, an address; ~10 % outside the commune; 90 % with a QF, some with two QF
periods in the month; a few children in two households; a few families with a credit)
and, COPYed, the month's reservations (~3 % booked late, ~2 % cancelled late, ~2 %
cancelled in time), absences (some justified), attendance taps on some units (present,
absent, present without booking). Then VACUUM ANALYZE.

Then, in this process, for March 2026:

* (a) the reference: one hand-written ``GROUP BY`` over the booked reservations;
* (b) ``treasury.facts.month_facts`` (the facts statement and the loading);
* (c) ``price_family`` for every family (pure Python);
* (d) ``invoicing_run_compute`` of a run started by ``invoicing_run_start``, its phases
  timed inside the real run by wrapping the functions ``_compute`` calls;
* (e) ``invoicing_run_issue`` (numbering, journal, credit application);

with the SQL statements of (d) and (e) counted (they must not grow with the number of
families), the output checked (totals, line sums, gap-free numbers), PASS/FAIL for
(d)+(e) against 10× (a) and 5 s, and the peak memory: the process's maximum resident
set (``ru_maxrss``) after the timed run, and the peak of Python allocations
(``tracemalloc``) measured on a replay of (d)+(e) in a transaction rolled back (tracing
slows Python down, so it is kept out of the timed run).

With ``DATABASE_URL`` set, that database is dropped and recreated instead: the run
refuses to start unless ``PARVIS_BENCH_DROP`` names it.
"""

import gc
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "parvis_bench_invoicing"
SLUG = "facturation"
HOST = "facturation.localhost"
FAMILIES = 10_000
PERIOD = date(2026, 3, 1)
SCHOOLS = 8
CENTRES = 2
REFERENCE_REPEATS = 5
TARGET_RATIO = 10.0
TARGET_SECONDS = 5.0
SEED = "parvis-bench-invoicing"

sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ.setdefault("DEBUG", "false")  # as in production: no SQL kept in memory
os.environ["PARVIS_DB_NAME"] = DB_NAME  # embedded server only; never the dev DB
# The run queues tasks on commit: keep them in this process, never in a real queue.
os.environ["CELERY_BROKER_URL"] = "memory://"
warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic

LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand",
    "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier",
    "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin",
    "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas",
    "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc",
    "Nguyen", "Benali", "Haddad", "Diallo", "Traoré", "Dos Santos", "Ferreira", "Kaya",
]
CHILD_NAMES = [
    "Léa", "Emma", "Jade", "Louise", "Alice", "Chloé", "Lina", "Rose", "Anna", "Mia", "Ambre",
    "Julia", "Léna", "Inès", "Zoé", "Éloïse", "Romane", "Manon", "Juliette", "Agathe", "Iris",
    "Lou", "Camille", "Nina", "Margaux", "Clémence", "Héloïse", "Maëlys", "Anaïs", "Océane",
    "Gabriel", "Léo", "Raphaël", "Arthur", "Louis", "Jules", "Adam", "Maël", "Lucas", "Hugo",
    "Noah", "Sacha", "Yanis", "Théo", "Mathis", "Nathan", "Ethan", "Paul", "Aaron", "Tom",
    "Noé", "Timéo", "Valentin", "Mohamed", "Ayoub", "Enzo", "Clément", "Benoît", "Joël", "Gaël",
]
ADULT_NAMES = [
    "Sophie", "Julie", "Claire", "Nathalie", "Céline", "Aurélie", "Émilie", "Stéphanie",
    "Sandrine", "Élodie", "Laetitia", "Virginie", "Hélène", "Sarah", "Fatima", "Amélie",
    "Karim", "Nicolas", "Julien", "Sébastien", "Thomas", "Stéphane", "Pierre", "Marc",
    "Jérôme", "Frédéric", "Mickaël", "Grégory", "Cédric", "Rachid", "Guillaume", "François",
]
STREETS = ["rue des Écoles", "avenue de la Gare", "rue Victor Hugo", "chemin des Vignes",
           "place de la Mairie", "allée des Tilleuls", "rue du Moulin", "impasse des Lilas",
           "boulevard Jean Jaurès", "rue de l'Église"]
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

def bench_database() -> dict:
    """The connection settings, refusing any database that is not a throwaway one."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if settings.DATABASE_URL and os.environ.get("PARVIS_BENCH_DROP") != db["NAME"]:
        sys.exit(f"DATABASE_URL is set: the benchmark would DROP database {db['NAME']!r}. "
                 f"If it is a throwaway database, run again with PARVIS_BENCH_DROP={db['NAME']}.")
    return db


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

    from bench.common import database_recreate, platform_prepare
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


# --- Measures (this process) -------------------------------------------------------

def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


_TABLE = re.compile(r'"(\w+)"')


class StatementCounter:
    """``connection.execute_wrapper``: counts the statements, and their time by kind."""

    def __init__(self):
        self.count = 0
        self.kinds: Counter = Counter()
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = sql.lstrip().split(None, 1)
            verb = words[0].upper() if words else "?"
            table = _TABLE.search(sql[:200]) if verb in ("INSERT", "UPDATE", "DELETE") else None
            kind = f"{verb} {table.group(1)}" if table else verb
            self.count += 1
            self.kinds[kind] += 1
            self.seconds[kind] += time.perf_counter() - started


@contextmanager
def phase_timers(timers: dict[str, float]):
    """Time, inside the real run, the functions ``_compute`` and the issue call."""
    import treasury.services.payments as payments
    import treasury.services.runs as runs
    from core.models import ActionLog
    from treasury.models import Invoice, InvoiceLine

    patched = []

    def timed(original, key):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timers[key] += time.perf_counter() - started
        return wrapper

    for module, name, key in [
            (runs, "month_facts", "facts"), (runs, "pricing_rules", "rules"),
            (runs, "billed_lines", "already billed"), (runs, "_debtors", "debtors"),
            (runs, "price_family", "pricing"), (runs, "draft_lines", "draft lines"),
            (payments, "family_credits_apply", "credit application")]:
        patched.append((module, name, getattr(module, name)))
        setattr(module, name, timed(getattr(module, name), key))
    managers = [(Invoice.objects, "bulk_create invoices"),
                (InvoiceLine.objects, "bulk_create lines"),
                (ActionLog.objects, "bulk_create journal")]
    for manager, key in managers:
        manager.bulk_create = timed(manager.bulk_create, key)
    try:
        yield
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
        for manager, _key in managers:
            del manager.bulk_create


def reuse_reset(commune) -> None:
    """``--reuse``: keep the data, drop what a previous run produced."""
    from django.db import connection, transaction

    with commune, connection.cursor() as cursor:
        # Issued invoices are frozen by triggers (treasury 0003): the owner lifts them for
        # this one transaction.
        with transaction.atomic():
            for table in ("treasury_invoiceline", "treasury_invoice"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute("DELETE FROM treasury_settlement")
            cursor.execute("DELETE FROM treasury_invoiceline")
            cursor.execute("DELETE FROM treasury_invoice")
            cursor.execute("DELETE FROM treasury_invoicingrun")
            cursor.execute("DELETE FROM treasury_numbersequence WHERE series IN ('F', 'AV')")
            for table in ("treasury_invoiceline", "treasury_invoice"):
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("VACUUM ANALYZE treasury_settlement, treasury_invoiceline, "
                       "treasury_invoice, treasury_invoicingrun, treasury_numbersequence")


_REFERENCE_SQL = """
SELECT family_id, child_id, unit_id, count(*) FROM portal_reservation
WHERE status = 'booked' AND date BETWEEN %s AND %s GROUP BY 1, 2, 3
"""


def measure(commune) -> bool:
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import translation

    from core.journal import Actor
    from treasury.facts import month_bounds, month_facts, pricing_rules
    from treasury.models import TreasuryProfile
    from treasury.pricing import Category, price_family
    from treasury.services.runs import (
        BATCH_FAMILIES,
        invoicing_run_compute,
        invoicing_run_issue,
        invoicing_run_start,
    )

    actor = Actor.system("bench")
    start, end = month_bounds(PERIOD)
    rss_before = rss_mb()
    with commune:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM portal_family")
            families = cursor.fetchone()[0]
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'booked') "
                           "FROM portal_reservation WHERE date BETWEEN %s AND %s", [start, end])
            reservations, booked = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM portal_attendance")
            taps = cursor.fetchone()[0]
            # (a) the reference, once to warm the cache, then REFERENCE_REPEATS times.
            reference = []
            for attempt in range(REFERENCE_REPEATS + 1):
                started = time.perf_counter()
                cursor.execute(_REFERENCE_SQL, [start, end])
                rows = cursor.fetchall()
                if attempt:
                    reference.append(time.perf_counter() - started)
            reference_days = sum(row[3] for row in rows)
            reference_s = statistics.median(reference)
            del rows

        # (b) the facts, (c) the pricing of every family (lines counted, not kept).
        started = time.perf_counter()
        facts = month_facts(PERIOD)
        facts_s = time.perf_counter() - started
        booked_categories = {Category.ATTENDED, Category.LATE_BOOKING,
                             Category.JUSTIFIED_ABSENCE, Category.UNJUSTIFIED_ABSENCE}
        facts_booked_days = sum(count.days for family in facts.families.values()
                                for count in family.counts if count.category in booked_categories)
        facts_booked_days += sum(facts.untariffed_days.values())
        with translation.override(settings.LANGUAGE_CODE):
            tariffs, grids = pricing_rules()
            missing = TreasuryProfile.get().missing_quotient_rule
            priced_families = priced_lines = priced_total = 0
            started = time.perf_counter()
            for family_id in sorted(facts.families):
                lines = price_family(facts.families[family_id], tariffs=tariffs, grids=grids,
                                     missing=missing)
                if lines:
                    priced_families += 1
                    priced_lines += len(lines)
                    priced_total += sum(line.amount_cents for line in lines)
            pricing_s = time.perf_counter() - started
        facts_families = len(facts.families)
        del facts, lines
        gc.collect()

        # (d) the run, (e) the issue, statements counted, phases timed inside.
        started = time.perf_counter()
        run = invoicing_run_start(period=PERIOD, actor=actor)
        start_s = time.perf_counter() - started
        timers: dict[str, float] = defaultdict(float)
        compute_sql, issue_sql = StatementCounter(), StatementCounter()
        with phase_timers(timers):
            with connection.execute_wrapper(compute_sql):
                started = time.perf_counter()
                run = invoicing_run_compute(run_id=run.pk)
                compute_s = time.perf_counter() - started
            compute_timers = dict(timers)
            timers.clear()
            with connection.execute_wrapper(issue_sql):
                started = time.perf_counter()
                run = invoicing_run_issue(run_id=run.pk, actor=actor)
                issue_s = time.perf_counter() - started
            issue_timers = dict(timers)
        rss_run = rss_mb()

        # The output, checked in SQL.
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT count(*), COALESCE(sum(total_cents), 0),
                       count(*) FILTER (WHERE status <> 'issued'),
                       count(*) FILTER (WHERE kind <> 'invoice'),
                       min(sequence), max(sequence), count(DISTINCT number),
                       min(number), max(number)
                FROM treasury_invoice WHERE run_id = %s""", [run.pk])
            (invoices, invoice_total, not_issued, credit_notes, first_seq, last_seq,
             numbers, first_number, last_number) = cursor.fetchone()
            cursor.execute("""
                SELECT count(*), COALESCE(sum(l.amount_cents), 0)
                FROM treasury_invoiceline l JOIN treasury_invoice i ON i.id = l.invoice_id
                WHERE i.run_id = %s""", [run.pk])
            lines, line_total = cursor.fetchone()
            cursor.execute("""
                SELECT count(*) FROM (
                    SELECT i.id FROM treasury_invoice i
                    LEFT JOIN treasury_invoiceline l ON l.invoice_id = i.id
                    WHERE i.run_id = %s GROUP BY i.id
                    HAVING i.total_cents <> COALESCE(sum(l.amount_cents), 0)) wrong""",
                           [run.pk])
            wrong_totals = cursor.fetchone()[0]
            cursor.execute("SELECT count(*), max(sequence) FROM treasury_invoice "
                           "WHERE kind = 'invoice' AND year = %s AND status <> 'draft'",
                           [run.issued_at.year])
            series_count, series_max = cursor.fetchone()
            # Only this run's invoices: the journal is append-only, so with --reuse the
            # entries of the previous runs are still there.
            cursor.execute("SELECT count(*) FROM core_actionlog "
                           "WHERE action = 'treasury.invoice_issue' "
                           "AND (changes->>'invoice')::bigint "
                           "IN (SELECT id FROM treasury_invoice WHERE run_id = %s)", [run.pk])
            journalled = cursor.fetchone()[0]
            cursor.execute("SELECT count(*), COALESCE(sum(amount_cents), 0) "
                           "FROM treasury_settlement")
            settlements, settled = cursor.fetchone()
        gc.collect()

        # Peak of Python allocations: the same run replayed, traced, then rolled back.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("UPDATE treasury_invoice SET status = 'cancelled' "
                               "WHERE run_id = %s", [run.pk])
            tracemalloc.start()
            replay = invoicing_run_start(period=PERIOD, actor=actor)
            invoicing_run_compute(run_id=replay.pk)
            compute_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            invoicing_run_issue(run_id=replay.pk, actor=actor)
            issue_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            transaction.set_rollback(True)

    mb = 1024 * 1024
    whole = compute_s + issue_s
    line_batches = -(-lines // 5000)
    family_batches = -(-invoices // BATCH_FAMILIES)
    statement_limit = 60 + 2 * family_batches + line_batches + -(-invoices // 5000) \
        + 10 * settlements
    print(f"\nInvoicing of {PERIOD:%B %Y}, {os.cpu_count()} CPU cores, one process\n")
    print(f"  families               {families:>12,}")
    print(f"  reservations           {reservations:>12,}  ({booked:,} booked; "
          f"{taps:,} attendance taps)")
    print(f"  families billed        {facts_families:>12,}")
    print(f"  invoices               {invoices:>12,}  ({credit_notes} credit notes)")
    print(f"  lines                  {lines:>12,}")
    print(f"  total                  {invoice_total / 100:>15,.2f} €")
    print(f"  credit used at issue   {settled / 100:>15,.2f} €  ({settlements} settlements)")
    print()
    print(f"  (a) reference GROUP BY {reference_s:>9.3f} s  (median of {REFERENCE_REPEATS}, "
          f"min {min(reference):.3f}, max {max(reference):.3f}; {reference_days:,} days)")
    print(f"  (b) month_facts        {facts_s:>9.3f} s")
    print(f"  (c) price_family × {facts_families:,} {pricing_s:>6.3f} s")
    print(f"      start run          {start_s:>9.3f} s")
    print(f"  (d) compute            {compute_s:>9.3f} s  ({compute_sql.count} statements)")
    drafting = compute_s - compute_timers.get("facts", 0) - compute_timers.get("pricing", 0)
    for key in ("facts", "rules", "already billed", "debtors", "pricing", "draft lines",
                "bulk_create invoices", "bulk_create lines"):
        print(f"        {key:<20} {compute_timers.get(key, 0):>7.3f} s")
    rest = compute_s - sum(compute_timers.values())
    print(f"        {'rest of the loop':<20} {rest:>7.3f} s  (summary, Invoice objects, "
          f"progress, commits)")
    print(f"      drafting = (d) - facts - pricing {drafting:.3f} s")
    print(f"  (e) issue              {issue_s:>9.3f} s  ({issue_sql.count} statements)")
    for key in ("bulk_create journal", "credit application"):
        print(f"        {key:<20} {issue_timers.get(key, 0):>7.3f} s")
    numbering = issue_sql.seconds.get("UPDATE treasury_invoice", 0)
    print(f"        {'numbering UPDATE':<20} {numbering:>7.3f} s")
    print(f"  (d)+(e)                {whole:>9.3f} s  = {whole / reference_s:.1f} × (a)")
    print()
    for label, counter in (("compute", compute_sql), ("issue", issue_sql)):
        detail = ", ".join(f"{kind} {n}" for kind, n in counter.kinds.most_common())
        print(f"  statements in {label}: {counter.count} ({detail})")
    slowest = sorted(compute_sql.seconds.items(), key=lambda kv: -kv[1])[:4]
    print("  SQL time in compute: " + ", ".join(f"{k} {v:.3f} s" for k, v in slowest))
    print(f"  statement limit (60 + batches + 10 per family with credit): {statement_limit}")
    print()
    print(f"  peak memory: process RSS {rss_run:.0f} MB (before the phases {rss_before:.0f} MB); "
          f"Python allocations (tracemalloc, replay) compute {compute_peak / mb:.0f} MB, "
          f"issue {issue_peak / mb:.0f} MB")

    checks = {
        "facts: booked days == reference GROUP BY": facts_booked_days == reference_days,
        "invoices == families with something billed": invoices == priced_families,
        "lines == lines priced by (c)": lines == priced_lines,
        "sum of invoice totals == sum of line amounts": invoice_total == line_total,
        "every invoice total == sum of its lines": wrong_totals == 0,
        "total == total priced by (c)": invoice_total == priced_total,
        "every invoice issued, no credit note": not_issued == 0 and credit_notes == 0,
        f"numbers F{run.issued_at.year}-00001… gap-free": (
            first_seq == 1 and last_seq == invoices == numbers == series_count == series_max
            and first_number == f"F{run.issued_at.year}-00001"
            and last_number == f"F{run.issued_at.year}-{invoices:05d}"),
        "one journal entry per invoice": journalled == invoices,
        "statements do not grow with families": (
            compute_sql.count + issue_sql.count <= statement_limit),
    }
    print()
    for label, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {label}")
    print(f"      numbers {first_number} … {last_number}, sequence max {last_seq}, "
          f"count {invoices:,}")
    timing_ok = whole <= TARGET_RATIO * reference_s and whole <= TARGET_SECONDS
    ok = timing_ok and all(checks.values())
    verdict = "PASS" if ok else "FAIL"
    print(f"\n{verdict}: (d)+(e) {whole:.2f} s for {invoices:,} invoices; targets: "
          f"{TARGET_RATIO:.0f} × (a) = {TARGET_RATIO * reference_s:.2f} s "
          f"({'ok' if whole <= TARGET_RATIO * reference_s else 'over'}) and "
          f"{TARGET_SECONDS:.1f} s ({'ok' if whole <= TARGET_SECONDS else 'over'})")
    return ok


def main() -> None:
    if "--setup" in sys.argv:
        setup()
        return
    import django

    django.setup()  # attaches to the embedded server, which stays up for the child
    bench_database()
    if "--reuse" not in sys.argv:
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--setup"], check=True)
        print(f"Set-up total {time.perf_counter() - started:.1f} s")
    from tenants.models import Commune

    commune = Commune.objects.get(schema_name=SLUG)
    if "--reuse" in sys.argv:
        reuse_reset(commune)
    gc.collect()
    if not measure(commune):
        sys.exit(1)


if __name__ == "__main__":
    main()
