"""Cloning the template schema: the copy is the template, object by object, and the
same as a schema built by replaying every migration."""

from datetime import date

import pytest
from django.core.management import call_command
from django.db import DataError, IntegrityError, connection, transaction
from django.test.utils import override_settings

from tenants import cloning
from tenants import models as tenant_models
from tenants.cloning import TemplateNotClonable, migrations_missing, schema_clone
from tenants.models import Commune
from treasury.models import InvoicingRun, RunStatus

TEMPLATE = "modele"

# Each query returns rows describing one kind of object of schema %(s)s, with
# nothing that names the schema itself, so that two schemas can be compared.
SIGNATURE_QUERIES = {
    "columns": """
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod),
               a.attnotnull, a.attidentity, a.attgenerated, a.attcollation::regcollation::text,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(s)s::regnamespace AND c.relkind = 'r'
          AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid),
               c.condeferrable, c.condeferred
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE c.connamespace = %(s)s::regnamespace AND c.contype <> 'n'""",
    "indexes": """
        SELECT c.relname, t.relname, i.indisunique, i.indisprimary,
               (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey)
                    WITH ORDINALITY k(num, ord)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num)::text,
               i.indclass::text, i.indoption::text, pg_get_expr(i.indexprs, i.indrelid),
               regexp_replace(pg_get_expr(i.indpred, i.indrelid), %(casts)s, '', 'g')
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE c.relnamespace = %(s)s::regnamespace""",
    "triggers": """
        SELECT c.relname, t.tgname, t.tgenabled,
               regexp_replace(pg_get_triggerdef(t.oid), ' ON \\S+\\.', ' ON ')
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(s)s::regnamespace AND NOT t.tgisinternal""",
    "sequences": """
        SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax,
               s.seqmin, s.seqcache, s.seqcycle, d.refobjid::regclass::text IS NOT NULL,
               a.attname
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
        LEFT JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass
                             AND d.deptype = 'i'
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE c.relnamespace = %(s)s::regnamespace""",
}


# An index predicate is stored as a parsed tree; re-creating an index from its
# printed definition (as pg_dump and restore do) moves the casts of a constant
# array around: ARRAY['a'::varchar]::text[] becomes ARRAY[('a'::varchar)::text].
# The predicates are compared without casts and parentheses; the partial unique
# indexes are also checked by behaviour below.
PREDICATE_NOISE = r"::character varying|::text(\[\])?|[()]"


def signature(schema: str) -> dict[str, set]:
    """The objects of ``schema``, read with the search_path set to it alone (so that
    references to its own objects print unqualified)."""
    result = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('search_path', %s, true)", [schema])
        for key, sql in SIGNATURE_QUERIES.items():
            cursor.execute(sql, {"s": schema, "casts": PREDICATE_NOISE})
            result[key] = set(cursor.fetchall())
        cursor.execute("SELECT set_config('search_path', 'public', true)")
    return result


def table_rows(schema: str, table: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
        return cursor.fetchall()


def assert_same_structure(left: str, right: str) -> None:
    ours, theirs = signature(left), signature(right)
    for key in SIGNATURE_QUERIES:
        assert ours[key], f"no {key} read in {left}: the signature query is wrong"
        assert ours[key] - theirs[key] == set() and theirs[key] - ours[key] == set(), key


def test_a_clone_is_the_template_object_by_object_with_its_rows(db):
    schema_clone(TEMPLATE, "clone_check")
    assert_same_structure("clone_check", TEMPLATE)
    for table in ("django_migrations", "django_content_type", "auth_permission"):
        rows = table_rows(TEMPLATE, table)
        assert rows and table_rows("clone_check", table) == rows
    assert migrations_missing("clone_check") == []
    with connection.cursor() as cursor:  # the identity sequences continue after the copy
        cursor.execute("SELECT max(id) FROM clone_check.auth_permission")
        (highest,) = cursor.fetchone()
        cursor.execute("INSERT INTO clone_check.auth_permission (name, content_type_id, codename)"
                       " SELECT 'x', min(id), 'x' FROM clone_check.django_content_type"
                       " RETURNING id")
        assert cursor.fetchone()[0] > highest
        cursor.execute("SHOW search_path")
        (search_path,) = cursor.fetchone()
        assert TEMPLATE not in search_path and "clone_check" not in search_path


def test_a_clone_is_the_same_as_a_schema_built_by_every_migration(db):
    """The reference: django-tenants' path without a template replays the migrations."""
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        Commune(schema_name="replayed", name="Replayed").save(verbosity=0)
    schema_clone(TEMPLATE, "clone_check")
    assert_same_structure("clone_check", "replayed")
    assert migrations_missing("replayed") == []


def test_cloning_refuses_a_template_object_it_would_leave_out(db):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE VIEW {TEMPLATE}.stray_view AS SELECT 1 AS one")
    with pytest.raises(TemplateNotClonable, match="stray_view"):
        schema_clone(TEMPLATE, "clone_check")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'clone_check'")
        assert cursor.fetchone() == (0,)


def test_a_failed_clone_leaves_no_schema_and_the_search_path_as_it_was(db, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        (before,) = cursor.fetchone()
    original_script = cloning.clone_script  # the script fails after the first tables
    monkeypatch.setattr(cloning, "clone_script",
                        lambda *args: original_script(*args) + ";\nSELECT 1 / 0")
    with pytest.raises(DataError):
        schema_clone(TEMPLATE, "clone_check")
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone() == (before,)
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'clone_check'")
        assert cursor.fetchone() == (0,)


def test_the_partial_unique_indexes_of_a_clone_still_refuse_duplicates(db):
    schema_clone(TEMPLATE, "clone_check")
    connection.set_schema("clone_check")
    month = date(2026, 11, 1)
    InvoicingRun.objects.create(period=month, status=RunStatus.FAILED)
    InvoicingRun.objects.create(period=month, status=RunStatus.PENDING)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoicingRun.objects.create(period=month, status=RunStatus.DRAFTED)


def test_missing_migrations_are_named(db):
    schema_clone(TEMPLATE, "clone_check")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM clone_check.django_migrations WHERE app = 'treasury' "
                       "AND name = '0004_issued_invoices_frozen'")
    assert migrations_missing("clone_check") == [("treasury", "0004_issued_invoices_frozen")]


def test_a_template_behind_the_code_gets_the_migrations_applied_not_faked(db, monkeypatch):
    """A deploy that skipped ``setup_platform``: the clone is migrated for real."""
    calls = []
    monkeypatch.setattr(tenant_models, "migrations_missing",
                        lambda schema: [("treasury", "0004_issued_invoices_frozen")])
    monkeypatch.setattr(tenant_models, "call_command",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    Commune(schema_name="lagging", name="Lagging").save(verbosity=0)
    assert calls == [(("migrate_schemas",), {"tenant": True, "schema_name": "lagging",
                                             "interactive": False, "verbosity": 0})]
    assert "fake" not in calls[0][1]


def test_the_real_migrate_command_finds_nothing_to_do_on_a_clone(db, capsys):
    Commune(schema_name="clone_check", name="Clone").save(verbosity=0)
    call_command("migrate_schemas", tenant=True, schema_name="clone_check",
                 interactive=False, verbosity=1)
    assert "No migrations to apply" in capsys.readouterr().out
