"""Family portal models (tenant schemas): one family record shared by every service."""

from portal.models.bookings import (  # noqa: F401
    Absence,
    AbsenceStatus,
    Attendance,
    Reservation,
    ReservationStatus,
    WaitingListEntry,
    WaitingStatus,
)
from portal.models.catalogue import (  # noqa: F401
    Closure,
    Facility,
    FacilityKind,
    LatePolicy,
    Service,
    ServiceKind,
    Unit,
)
from portal.models.family import (  # noqa: F401
    AuthorisedPickup,
    Child,
    Civility,
    ClassLevel,
    Family,
    FamilyDocument,
    FamilyQuotient,
    Guardian,
    Membership,
    Residency,
)
from portal.models.profile import CommuneProfile, HolidayZone  # noqa: F401,E402
