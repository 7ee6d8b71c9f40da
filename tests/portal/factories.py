"""Small builders for portal data (run inside a commune's schema)."""

from datetime import date, time

from portal.models import (
    Child,
    Facility,
    FacilityKind,
    Family,
    Membership,
    Service,
    ServiceKind,
    Unit,
)
from portal.normalize import normalize_name


def make_unit(*, capacity=10, name="Cantine", weekdays="1,2,3,4,5", period="all_year",
              **extra) -> Unit:
    facility, _ = Facility.objects.get_or_create(name="Groupe scolaire Vercors",
                                                 defaults={"kind": FacilityKind.SCHOOL_GROUP})
    service, _ = Service.objects.get_or_create(name="Restauration scolaire test",
                                               defaults={"kind": ServiceKind.CANTEEN})
    return Unit.objects.create(service=service, facility=facility, name=name,
                               start_time=time(11, 30), end_time=time(13, 30), capacity=capacity,
                               weekdays=weekdays, period=period, **extra)


def make_child(first_name="Léa", last_name="Martin", *, birth_date=date(2018, 5, 4),
               family=None, **extra) -> Child:
    child = Child.objects.create(first_name=first_name, last_name=last_name,
                                 search_name=normalize_name(last_name, first_name),
                                 birth_date=birth_date, **extra)
    family = family or Family.objects.create(reference=f"F-{child.pk}", name=last_name,
                                             search_name=normalize_name(last_name))
    Membership.objects.create(child=child, family=family)
    return child
