"""Agent roles (Django groups) and what each may do (Django permissions).

Each role is a group created in every commune by the defaults hook; capabilities
are custom permissions declared on ``accounts.User`` so that later apps check
``user.has_perm("accounts.<capability>")`` and tests walk the whole matrix.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    SCHOOL_LIFE = "school_life", _("School-life agent")
    LEISURE = "leisure", _("Leisure agent")
    EARLY_CHILDHOOD = "early_childhood", _("Early-childhood agent")
    FINANCE = "finance", _("Finance / régisseur")
    READ_ONLY = "read_only", _("Read-only")


class Capability(models.TextChoices):
    MANAGE_AGENTS = "manage_agents", _("Manage agent accounts and roles")
    VIEW_JOURNAL = "view_journal", _("Read the action journal")
    MANAGE_FAMILIES = "manage_families", _("Manage family records")
    VIEW_FAMILIES = "view_families", _("Read family records and their documents")
    VIEW_HEALTH = "view_health", _("Read children's health notes (PAI, allergies)")
    TAKE_ATTENDANCE = "take_attendance", _("Take attendance")
    MANAGE_SCHOOL_SERVICES = "manage_school_services", _("Manage school services")
    MANAGE_LEISURE_SERVICES = "manage_leisure_services", _("Manage leisure services")
    MANAGE_EARLY_CHILDHOOD = "manage_early_childhood", _("Manage early-childhood places")
    MANAGE_FINANCE = "manage_finance", _("Invoicing, payments and treasury")
    MANAGE_SETTINGS = "manage_settings", _("Commune settings")


_ALL = set(Capability)
ROLE_CAPABILITIES: dict[str, set[str]] = {
    Role.ADMINISTRATOR: _ALL,
    Role.SCHOOL_LIFE: {Capability.VIEW_FAMILIES, Capability.MANAGE_FAMILIES,
                       Capability.MANAGE_SCHOOL_SERVICES, Capability.VIEW_JOURNAL,
                       Capability.VIEW_HEALTH, Capability.TAKE_ATTENDANCE},
    Role.LEISURE: {Capability.VIEW_FAMILIES, Capability.MANAGE_FAMILIES,
                   Capability.MANAGE_LEISURE_SERVICES, Capability.VIEW_JOURNAL,
                   Capability.VIEW_HEALTH, Capability.TAKE_ATTENDANCE},
    Role.EARLY_CHILDHOOD: {Capability.VIEW_FAMILIES, Capability.MANAGE_FAMILIES,
                           Capability.MANAGE_EARLY_CHILDHOOD, Capability.VIEW_JOURNAL,
                           Capability.VIEW_HEALTH, Capability.TAKE_ATTENDANCE},
    Role.FINANCE: {Capability.VIEW_FAMILIES, Capability.MANAGE_FINANCE,
                   Capability.VIEW_JOURNAL},
    Role.READ_ONLY: {Capability.VIEW_FAMILIES, Capability.VIEW_JOURNAL},
}


def perm(capability: str) -> str:
    """The ``has_perm`` string of a capability."""
    return f"accounts.{capability}"
