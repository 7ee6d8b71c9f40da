"""Default reference data for a new commune, contributed by each app.

An app registers a function in its ``AppConfig.ready()``::

    from core.defaults import register_commune_defaults

    @register_commune_defaults(order=10)
    def create_roles(*, commune, template):
        ...

Onboarding calls ``apply_commune_defaults`` inside the new commune's schema and
inside the onboarding transaction, so a failing hook leaves nothing behind.
``template`` names the reference-data template chosen by the vendor (see
``COMMUNE_TEMPLATES``); hooks create what that template asks for.
"""

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

# Reference-data templates a vendor can choose when onboarding a commune.
COMMUNE_TEMPLATES = {
    "standard": _("Standard: roles, harmonised QF grid and usual services"),
    "minimal": _("Minimal: roles only, reference data entered by the town"),
}
DEFAULT_TEMPLATE = "standard"

_hooks: list[tuple[int, str, Callable]] = []


def register_commune_defaults(*, order: int = 100):
    def decorator(func: Callable) -> Callable:
        key = f"{func.__module__}.{func.__qualname__}"
        if all(existing != key for _, existing, _ in _hooks):
            _hooks.append((order, key, func))
            _hooks.sort(key=lambda item: (item[0], item[1]))
        return func

    return decorator


def registered_hooks() -> list[str]:
    return [key for _, key, _ in _hooks]


def apply_commune_defaults(*, commune, template: str) -> None:
    """Run every registered hook; the caller holds the transaction and the schema."""
    if template not in COMMUNE_TEMPLATES:
        raise ValueError(f"unknown template {template!r}")
    for _order, _key, func in _hooks:
        func(commune=commune, template=template)
