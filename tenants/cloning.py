"""Create a commune's schema as a copy of the migrated template schema.

django-tenants' own ``clone_schema()`` (a 4,000-line PL/pgSQL function re-created
before every clone) reads ``information_schema`` views that scan the objects of
*every* schema: with 200 communes a clone took 0.8 s and kept growing. Here the
template's catalogue is read by namespace oid only, so the cost stays flat
whatever the number of communes (``bench/onboarding.py``).

What is copied, in order: tables (``LIKE … INCLUDING`` defaults, identity,
generated columns, CHECK and NOT NULL constraints, storage, comments), the rows
of every table (``django_migrations``, content types, permissions: no migration
needs to be replayed or faked afterwards), the identity sequences' positions,
primary keys and unique constraints, the other indexes, foreign keys, then
triggers. Constraint and index names are kept: later migrations find them by name.

Anything else in the template (a view, a standalone sequence, a function or a
type in the template schema) is refused with an error rather than silently left
out; ``tests/tenants/test_cloning.py`` compares a clone with the template object
by object and with a schema built by replaying every migration, so a migration
that brings something new (or an identity sequence not named after its table and
column, as a renamed table keeps it) fails there, in CI, not at a town's onboarding.
"""

import functools
import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

LIKE_OPTIONS = ("INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED "
                "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS")


class TemplateNotClonable(Exception):
    """The template schema holds an object this module does not know how to copy."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TemplateCatalogue:
    """The template's objects, as DDL text valid with ``search_path`` = the new schema."""

    tables: list[str]
    sequences: list[tuple[str, str]]  # (name, data type)
    keys: list[tuple[str, str, str]]  # (table, constraint, definition): PRIMARY KEY, UNIQUE
    foreign_keys: list[tuple[str, str, str]]
    indexes: list[str]  # CREATE INDEX statements not backing a constraint
    triggers: list[str]


_CATALOGUE_QUERIES = {
    "unsupported": """
        SELECT relname, relkind FROM pg_class
        WHERE relnamespace = %(ns)s AND relkind NOT IN ('r', 'i', 'S')
        UNION ALL
        SELECT p.proname, 'function' FROM pg_proc p WHERE p.pronamespace = %(ns)s
        UNION ALL
        SELECT t.typname, 'type' FROM pg_type t
        WHERE t.typnamespace = %(ns)s AND t.typtype <> 'c'
          AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND EXISTS (
              SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typtype = 'c'))
        UNION ALL
        SELECT s.relname, 'standalone sequence' FROM pg_class s
        WHERE s.relnamespace = %(ns)s AND s.relkind = 'S' AND NOT EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
              AND d.objid = s.oid AND d.deptype = 'i')""",
    "tables": """
        SELECT relname FROM pg_class WHERE relnamespace = %(ns)s AND relkind = 'r'
        ORDER BY relname""",
    "sequences": """
        SELECT c.relname, s.seqtypid::regtype::text FROM pg_class c
        JOIN pg_sequence s ON s.seqrelid = c.oid
        WHERE c.relnamespace = %(ns)s ORDER BY c.relname""",
    "constraints": """
        SELECT c.contype, t.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE c.connamespace = %(ns)s AND c.contype IN ('p', 'u', 'f', 'x')
        ORDER BY c.contype, t.relname, c.conname""",
    "indexes": """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = %(ns)s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                                         AND k.conrelid = i.indrelid)
        ORDER BY c.relname""",
    "triggers": """
        SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal
        ORDER BY c.relname, t.tgname""",
}


def _unqualify(statement: str, template: str, pattern: str) -> str:
    """Drop the template's name from ``ON template.table`` in an index or trigger DDL.

    PostgreSQL always schema-qualifies the table there (since the CVE-2018-1058
    fixes), whatever the search_path.
    """
    regex = re.compile(pattern.format(schema=re.escape(quote(template)) + "|"
                                      + re.escape(template)))
    result, count = regex.subn(r"\g<head>", statement, count=1)
    if count != 1:
        raise TemplateNotClonable(f"unexpected definition: {statement}")
    return result


INDEX_PATTERN = r"^(?P<head>CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?)(?:{schema})\."
TRIGGER_PATTERN = (r"^(?P<head>CREATE (?:CONSTRAINT )?TRIGGER \S+ .*? ON )(?:{schema})\.")


def template_catalogue(template: str) -> TemplateCatalogue:
    """Read the template's objects with ``search_path`` set to the template alone.

    That way PostgreSQL prints names of the template's own objects unqualified
    (they resolve to the new schema when replayed there) and anything else (the
    trigger functions in ``public``) qualified.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), %s::regnamespace::oid",
                       [quote(template)])
        previous, namespace = cursor.fetchone()
        cursor.execute("SELECT set_config('search_path', %s, true)", [quote(template)])
        rows = {}
        for key, sql in _CATALOGUE_QUERIES.items():
            cursor.execute(sql, {"ns": namespace})
            rows[key] = cursor.fetchall()
        # On an error the savepoint's rollback restores the search_path by itself.
        cursor.execute("SELECT set_config('search_path', %s, true)", [previous])
    if rows["unsupported"]:
        found = ", ".join(f"{name} ({kind})" for name, kind in rows["unsupported"])
        raise TemplateNotClonable(f"schema {template} holds objects cloning ignores: {found}")
    constraints = rows["constraints"]
    return TemplateCatalogue(
        tables=[name for (name,) in rows["tables"]],
        sequences=rows["sequences"],
        keys=[(table, name, definition) for kind, table, name, definition in constraints
              if kind != "f"],
        foreign_keys=[(table, name, definition) for kind, table, name, definition in constraints
                      if kind == "f"],
        indexes=[_unqualify(sql, template, INDEX_PATTERN) for (sql,) in rows["indexes"]],
        triggers=[_unqualify(sql, template, TRIGGER_PATTERN) for (sql,) in rows["triggers"]],
    )


def clone_script(catalogue: TemplateCatalogue, template: str) -> str:
    """The DDL and data copy, run with ``search_path`` = the new schema only."""
    source = quote(template)
    statements = [f"CREATE TABLE {quote(t)} (LIKE {source}.{quote(t)} {LIKE_OPTIONS})"
                  for t in catalogue.tables]
    statements += [f"INSERT INTO {quote(t)} SELECT * FROM {source}.{quote(t)}"
                   for t in catalogue.tables]
    # LIKE makes every identity sequence a bigint one (with the template's bounds).
    statements += [f"ALTER SEQUENCE {quote(name)} AS {kind}"
                   for name, kind in catalogue.sequences if kind != "bigint"]
    statements += [
        f"SELECT setval('{quote(name)}', s.last_value, s.is_called) FROM {source}.{quote(name)} s"
        for name, _kind in catalogue.sequences]
    statements += [f"ALTER TABLE {quote(t)} ADD CONSTRAINT {quote(n)} {d}"
                   for t, n, d in (*catalogue.keys, *catalogue.foreign_keys)]
    statements += catalogue.indexes
    statements += catalogue.triggers
    return ";\n".join(statements)


def schema_clone(template: str, new: str) -> None:
    """Create schema ``new`` as a copy of ``template``, in the caller's transaction.

    The new schema already records every migration the template has applied.
    """
    catalogue = template_catalogue(template)
    script = clone_script(catalogue, template)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        (previous,) = cursor.fetchone()
        cursor.execute(f"CREATE SCHEMA {quote(new)}")
        cursor.execute("SELECT set_config('search_path', %s, true)", [quote(new)])
        cursor.execute(script)
        cursor.execute("SELECT set_config('search_path', %s, true)", [previous])


@functools.cache
def _migration_graph() -> MigrationLoader:
    """The project's migrations as read from disk (once per process)."""
    return MigrationLoader(None, ignore_no_migrations=True)


def unrecorded(applied: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The project's migrations missing from ``applied`` (app, name) records.

    A squashed migration counts as applied when every migration it replaces is.
    """
    loader = _migration_graph()
    return sorted(
        node for node in loader.graph.nodes
        if node not in applied and not (
            node in loader.replacements
            and all(tuple(old) in applied for old in loader.replacements[node].replaces))
    )


def migrations_missing(schema: str) -> list[tuple[str, str]]:
    """Migrations of the project that ``schema`` has not recorded as applied."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")
        return unrecorded(set(cursor.fetchall()))
