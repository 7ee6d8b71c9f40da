"""Reads over communes (public schema)."""

from django.db import connection
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from tenants.models import Commune, CommuneKind, CommuneStatus


def active_commune_schemas() -> list[str]:
    return list(
        Commune.objects.filter(kind=CommuneKind.COMMUNE, status=CommuneStatus.ACTIVE)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def tenant_schemas_behind() -> list[str]:
    """The tenant schemas (communes and the template) that miss a migration of the code.

    One statement reads every schema's ``django_migrations`` rows (UNION ALL, like the
    console's figures), checked against the migration graph in Python; where
    ``migrate_schemas`` runs a whole ``migrate`` per schema (≈ 0.12 s each, even with
    nothing to do). A schema without its migrations table counts as behind.
    """
    from tenants.cloning import unrecorded

    schemas = list(Commune.objects.exclude(schema_name=get_public_schema_name())
                   .order_by("schema_name").values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT n.nspname FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.relname = 'django_migrations' AND n.nspname = ANY(%s)",
                       [schemas])
        migrated = sorted(name for (name,) in cursor.fetchall())
        applied: dict[str, set] = {schema: set() for schema in migrated}
        if migrated:
            query = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {name}, app, name FROM {table}").format(
                    name=sql.Literal(schema),
                    table=sql.Identifier(schema, "django_migrations"))
                for schema in migrated)
            cursor.execute(query.as_string(connection.connection))
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return [schema for schema in schemas
            if schema not in applied or unrecorded(applied[schema])]


def communes_for_console():
    """Communes with their key figures, in one query whatever their number.

    The figures live in each commune's own schema; one UNION ALL statement reads
    them all (agents, parents, last journal entry) instead of a query per town.
    """
    communes = list(
        Commune.objects.filter(kind=CommuneKind.COMMUNE).prefetch_related("domains")
    )
    figures = _key_figures([c.schema_name for c in communes])
    for commune in communes:
        commune.figures = figures.get(commune.schema_name, {})
        commune.primary_domain = next(
            (d.domain for d in commune.domains.all() if d.is_primary), ""
        )
    return communes


def _key_figures(schemas: list[str]) -> dict[str, dict]:
    if not schemas:
        return {}
    parts = [
        sql.SQL(
            "SELECT {name} AS schema_name,"
            " (SELECT count(*) FROM {users} WHERE account_type = 'agent' AND is_active) AS agents,"
            " (SELECT count(*) FROM {users}"
            "  WHERE account_type = 'parent' AND is_active) AS parents,"
            " (SELECT max(at) FROM {journal}) AS last_activity"
        ).format(
            name=sql.Literal(schema),
            users=sql.Identifier(schema, "accounts_user"),
            journal=sql.Identifier(schema, "core_actionlog"),
        )
        for schema in schemas
    ]
    query = sql.SQL(" UNION ALL ").join(parts)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(connection.connection))
        return {
            row[0]: {"agents": row[1], "parents": row[2], "last_activity": row[3]}
            for row in cursor.fetchall()
        }
