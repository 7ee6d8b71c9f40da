"""The ``--commune SLUG`` option of the per-commune management commands."""

from django.core.management.base import CommandError

from tenants.models import Commune


def add_commune_argument(parser) -> None:
    parser.add_argument("--commune", required=True, help="the commune's slug (schema)")


def commune_from_option(slug: str) -> Commune:
    """The commune named by ``--commune``, or a clear command error."""
    try:
        return Commune.objects.get(schema_name=slug)
    except Commune.DoesNotExist:
        raise CommandError(f"unknown commune {slug!r}") from None
