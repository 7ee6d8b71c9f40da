"""Demo data of the family portal: a town like the pilot of the interview.

``large`` (Sassenage): 8 school groups, 3 leisure centres, 1 holiday centre, 1 multisport
centre, 1,000 families of whom 650 have a parent account, and a school year of bookings.
``small`` (Fontaine): the same shape, smaller. Everything is bulk-inserted (a few
statements per table, not one per row) and seeded, so two runs give the same town.
Idempotent: a commune that already has families is left alone.
"""

import random
from collections import Counter
from datetime import date, time

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AccountType, User
from core.journal import journal_record
from portal import calendar
from portal.models import (
    Child,
    Civility,
    ClassLevel,
    CommuneProfile,
    Facility,
    FacilityKind,
    Family,
    FamilyQuotient,
    Guardian,
    Membership,
    Reservation,
    Residency,
    Service,
    ServiceKind,
    Unit,
)
from portal.models.catalogue import OpeningPeriod
from portal.normalize import normalize_name, normalize_phone

DEMO_PASSWORD = "demo-parvis-2026"
SIZES = {
    "large": {"families": 1000, "accounts": 650, "schools": 8, "leisure": 3, "holiday": 1,
              "sports": 1},
    "small": {"families": 120, "accounts": 80, "schools": 2, "leisure": 1, "holiday": 0,
              "sports": 0},
    "tiny": {"families": 12, "accounts": 6, "schools": 1, "leisure": 1, "holiday": 0,
             "sports": 0},
}
SCHOOL_YEAR = (date(2026, 9, 1), date(2027, 7, 3))
SCHOOL_NAMES = ["Vercors", "Chartreuse", "Belledonne", "Taillefer", "Oisans", "Trièves",
                "Matheysine", "Bauges"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
              "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
              "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
              "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
              "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
              "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine",
              "Chevalier", "Robin", "Masson", "Benali", "Nguyen", "Haddad", "Diallo", "Da Silva"]
FIRST_NAMES = ["Léa", "Emma", "Jade", "Louise", "Alice", "Chloé", "Lina", "Rose", "Anna", "Mia",
               "Gabriel", "Léo", "Raphaël", "Arthur", "Louis", "Jules", "Adam", "Maël", "Lucas",
               "Hugo", "Noah", "Sacha", "Nina", "Inès", "Zoé", "Yanis", "Éloïse", "Théo", "Mathis",
               "Camille"]
ADULT_NAMES = ["Sophie", "Julie", "Claire", "Nathalie", "Céline", "Aurélie", "Karim", "Nicolas",
               "Julien", "Sébastien", "Thomas", "Stéphane", "Sarah", "Fatima", "Pierre", "Marc"]
MEN = {"Karim", "Nicolas", "Julien", "Sébastien", "Thomas", "Stéphane", "Pierre", "Marc"}
CLASS_BY_BIRTH_YEAR = {2023: ClassLevel.PS, 2022: ClassLevel.MS, 2021: ClassLevel.GS,
                       2020: ClassLevel.CP, 2019: ClassLevel.CE1, 2018: ClassLevel.CE2,
                       2017: ClassLevel.CM1, 2016: ClassLevel.CM2}


def _facilities_and_units(spec: dict) -> dict[str, list[Unit]]:
    services = {kind: Service.objects.get_or_create(kind=kind, defaults={"name": label})[0]
                for kind, label in [
                    (ServiceKind.CANTEEN, "Restauration scolaire"),
                    (ServiceKind.MORNING_CARE, "Accueil périscolaire du matin"),
                    (ServiceKind.EVENING_CARE, "Accueil périscolaire du soir"),
                    (ServiceKind.WEDNESDAY_LEISURE, "Accueil de loisirs du mercredi"),
                    (ServiceKind.HOLIDAY_LEISURE, "Accueil de loisirs des vacances")]}
    units: dict[str, list[Unit]] = {"canteen": [], "morning": [], "evening": [], "wednesday": [],
                                    "holidays": []}
    school_days, term = "1,2,4,5", OpeningPeriod.SCHOOL_TERM
    for name in SCHOOL_NAMES[:spec["schools"]]:
        school = Facility.objects.create(name=f"Groupe scolaire {name}",
                                         kind=FacilityKind.SCHOOL_GROUP)
        for key, service, unit_name, hours, capacity in [
            ("canteen", ServiceKind.CANTEEN, "Cantine", (time(11, 30), time(13, 30)), 200),
            ("morning", ServiceKind.MORNING_CARE, "Accueil du matin", (time(7, 30), time(8, 30)),
             60),
            ("evening", ServiceKind.EVENING_CARE, "Accueil du soir", (time(16, 30), time(18)),
             80),
        ]:
            units[key].append(Unit.objects.create(
                service=services[service], facility=school, name=unit_name,
                start_time=hours[0], end_time=hours[1], capacity=capacity,
                weekdays=school_days, period=term))
    centres = [(f"Centre de loisirs {n}", FacilityKind.LEISURE_CENTRE)
               for n in ["Les Engenières", "La Falaise", "Le Furon"][:spec["leisure"]]]
    centres += [("Centre aéré du Vercors", FacilityKind.HOLIDAY_CENTRE)][:spec["holiday"]]
    centres += [("Centre multisport", FacilityKind.SPORTS_CENTRE)][:spec["sports"]]
    for name, kind in centres:
        centre = Facility.objects.create(name=name, kind=kind)
        if kind != FacilityKind.HOLIDAY_CENTRE:
            units["wednesday"].append(Unit.objects.create(
                service=services[ServiceKind.WEDNESDAY_LEISURE], facility=centre,
                name="Mercredi journée", start_time=time(8), end_time=time(18), capacity=80,
                weekdays="3", period=term, late_booking="surcharge"))
        if kind != FacilityKind.SPORTS_CENTRE:
            units["holidays"].append(Unit.objects.create(
                service=services[ServiceKind.HOLIDAY_LEISURE], facility=centre,
                name="Vacances journée", start_time=time(8), end_time=time(18), capacity=100,
                weekdays="1,2,3,4,5", period=OpeningPeriod.SCHOOL_HOLIDAYS,
                booking_deadline_days=5))
    return units


def _families(rng: random.Random, spec: dict, slug: str):
    families, guardians, children, memberships, quotients, users = [], [], [], [], [], []
    password = make_password(DEMO_PASSWORD)
    seen_children = set()
    for number in range(1, spec["families"] + 1):
        last = rng.choice(LAST_NAMES)
        resident = rng.random() < 0.85
        postcode, city = ("38360", "Sassenage") if resident else rng.choice(
            [("38600", "Fontaine"), ("38120", "Saint-Égrève"), ("38000", "Grenoble")])
        family = Family(reference=f"F{number:05d}", name=last, search_name=normalize_name(last),
                        address_line1=f"{rng.randint(1, 120)} rue des Alpes", postcode=postcode,
                        city=city, residency=Residency.RESIDENT if resident
                        else Residency.NON_RESIDENT)
        families.append(family)
        for index in range(rng.choice([1, 2, 2])):
            first = rng.choice(ADULT_NAMES)
            phone = f"06{rng.randint(10000000, 99999999)}"
            email = f"{normalize_name(first).replace(' ', '')}.{number}.{index}@{slug}.demo"
            user = None
            if index == 0 and number <= spec["accounts"]:
                if number == 1:
                    email = f"parent@{slug}.demo"
                user = User(email=email, password=password, account_type=AccountType.PARENT,
                            first_name=first, last_name=last)
                users.append(user)
            guardians.append((family, Guardian(
                civility=Civility.MR if first in MEN else Civility.MRS,
                first_name=first, last_name=last, search_name=normalize_name(last, first),
                email=email, phone=phone, search_phone=normalize_phone(phone),
                is_payer=index == 0), user))
        for _child in range(rng.choice([1, 1, 2, 2, 3])):
            first = rng.choice(FIRST_NAMES)
            birth = date(rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28))
            if (last, first, birth) in seen_children:
                continue
            seen_children.add((last, first, birth))
            child = Child(first_name=first, last_name=last, search_name=normalize_name(last, first),
                          birth_date=birth, class_level=CLASS_BY_BIRTH_YEAR.get(birth.year, ""))
            children.append(child)
            memberships.append((family, child))
        quotients.append((family, rng.randrange(300, 2600, 10)))
    return families, guardians, children, memberships, quotients, users


def _bookings(rng, children_with_family, units, profile) -> list[Reservation]:
    start, end = SCHOOL_YEAR
    opening = {unit.pk: calendar.unit_opening_days(unit, start, end, profile=profile,
                                                   closures=[])
               for group in units.values() for unit in group}
    by_school = {unit.facility_id: unit for unit in units["canteen"]}
    morning = {u.facility_id: u for u in units["morning"]}
    evening = {u.facility_id: u for u in units["evening"]}
    counts: Counter = Counter()
    rows = []

    def book(child, family, unit, weekdays):
        for day in opening[unit.pk]:
            if day.isoweekday() in weekdays and counts[(unit.pk, day)] < unit.capacity:
                counts[(unit.pk, day)] += 1
                rows.append(Reservation(child=child, family=family, unit=unit, date=day))

    for child, family in children_with_family:
        if not child.class_level or child.school_id is None:
            continue
        if rng.random() < 0.7:
            book(child, family, by_school[child.school_id], {1, 2, 4, 5})
        if rng.random() < 0.25:
            book(child, family, morning[child.school_id], set(rng.sample([1, 2, 4, 5], 2)))
        if rng.random() < 0.3:
            book(child, family, evening[child.school_id], set(rng.sample([1, 2, 4, 5], 3)))
        if units["wednesday"] and rng.random() < 0.2:
            book(child, family, rng.choice(units["wednesday"]), {3})
    return rows


def portal_demo_load(*, commune, size: str, actor) -> str | None:
    """Create the demo town's facilities, families and a school year of bookings."""
    if Family.objects.exists():
        return None
    spec = SIZES[size]
    rng = random.Random(f"parvis-demo-{commune.schema_name}")
    with transaction.atomic():
        profile = CommuneProfile.get()
        profile.resident_places = "38360 Sassenage" if commune.schema_name == "sassenage" \
            else "38600 Fontaine"
        profile.save()
        units = _facilities_and_units(spec)
        families, guardians, children, memberships, quotients, users = _families(
            rng, spec, commune.schema_name)
        Family.objects.bulk_create(families, batch_size=2000)
        existing = {u.email: u for u in User.objects.filter(email__in=[u.email for u in users])}
        User.objects.bulk_create([u for u in users if u.email not in existing], batch_size=2000)
        by_email = {u.email: u for u in User.objects.filter(email__in=[u.email for u in users])}
        rows = []
        for family, guardian, user in guardians:
            guardian.family = family
            guardian.user = by_email.get(user.email) if user else None
            rows.append(guardian)
        Guardian.objects.bulk_create(rows, batch_size=2000)
        schools = list(units["canteen"])
        for child in children:
            if child.class_level:
                child.school_id = rng.choice(schools).facility_id
        Child.objects.bulk_create(children, batch_size=2000)
        Membership.objects.bulk_create([Membership(family=f, child=c) for f, c in memberships],
                                       batch_size=5000)
        FamilyQuotient.objects.bulk_create([
            FamilyQuotient(family=f, value=v, source=FamilyQuotient.Source.CAF,
                           valid_from=date(2026, 1, 1), valid_until=None)
            for f, v in quotients], batch_size=5000)
        reservations = _bookings(rng, [(c, f) for f, c in memberships], units, profile)
        Reservation.objects.bulk_create(reservations, batch_size=10000)
        summary = _("Demo data loaded: %(families)d families, %(children)d children, "
                    "%(bookings)d bookings") % {"families": len(families),
                                                 "children": len(children),
                                                 "bookings": len(reservations)}
        journal_record(actor=actor, action="demo.loaded", summary=summary)
    return summary
