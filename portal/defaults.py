"""Reference data a new commune starts with (called by the onboarding hook)."""

from portal.models import CommuneProfile, Service, ServiceKind

# Names are the commune's own data (in French), not interface strings.
STANDARD_SERVICES = [
    (ServiceKind.CANTEEN, "Restauration scolaire"),
    (ServiceKind.MORNING_CARE, "Accueil périscolaire du matin"),
    (ServiceKind.EVENING_CARE, "Accueil périscolaire du soir"),
    (ServiceKind.WEDNESDAY_LEISURE, "Accueil de loisirs du mercredi"),
    (ServiceKind.HOLIDAY_LEISURE, "Accueil de loisirs des vacances"),
]


def portal_defaults_create(*, commune, template: str) -> None:
    """The commune profile always; the usual services with the ``standard`` template."""
    CommuneProfile.get()
    if template == "standard":
        for kind, name in STANDARD_SERVICES:
            Service.objects.get_or_create(name=name, defaults={"kind": kind})
