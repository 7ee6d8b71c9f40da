"""Benchmark: onboarding a commune by cloning the template schema vs plain migrations.

Run with ``make bench`` (``PARVIS_ENV=dev .venv/bin/python bench/onboarding.py``).

What it measures, with 1, 50 and 200 communes already present:

* **clone** -- ``commune_onboard()``, the real onboarding service: validation,
  ``tenants.cloning.schema_clone`` of the template schema ``modele``, the check
  that the clone records every migration of the code (``migrations_missing``;
  a ``migrate_schemas`` only if the template lags behind), the domain row, the
  default reference data and the journal entries. The two schema steps are also
  timed on their own to show where the time goes;
* **plain migrate** -- a ``Commune`` saved with ``TENANT_CREATION_FAKES_MIGRATIONS``
  off: ``CREATE SCHEMA`` then every tenant migration replayed by
  ``migrate_schemas`` for that one schema (what onboarding would cost without
  the template);
* **no-op migrate_schemas** -- ``migrate_schemas --tenant
  --executor=multiprocessing`` over every commune schema when nothing is left
  to apply (a deploy without new migration), extrapolated linearly to 1,000
  communes; and ``tenant_schemas_behind()``, the check ``setup_platform`` runs
  first so that such a deploy skips that command;
* **same DB session** -- ``SAME_SESSION_REPEATS`` onboardings in a row on one
  database connection, as a long-lived process (shell, script, Celery worker)
  would do them (django-tenants' own clone function, used until 2026-12, got
  slower at each clone in one session).

Each onboarding is timed with ``time.perf_counter`` and summarised by median, min
and max over ``REPEATS`` runs. Every timed creation (and every creation used to
populate) starts on a fresh database connection, opened outside the timing, as
a web request or a management command would; the commune is removed (schema
dropped, outside the timing) right after, so the number of communes present
stays exact.

Safety: the benchmark works in its own database. With the embedded server it
sets ``PARVIS_DB_NAME=parvis_bench`` before the settings are read, then DROPS
and recreates that database -- the development database ``parvis`` is never
touched. With ``DATABASE_URL`` set, the database of that URL is dropped and
recreated instead: it must be a throwaway database, and the run refuses to
start unless ``PARVIS_BENCH_DROP`` names it.
"""

import os
import statistics
import sys
import time
from collections import defaultdict
from contextlib import redirect_stdout
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DB_NAME = "parvis_bench"
LEVELS = (1, 50, 200)
REPEATS = 10
PLAIN_REPEATS = 10
NOOP_REPEATS = 3
SAME_SESSION_REPEATS = 15
EXTRAPOLATE_TO = 1_000
TARGET_SECONDS = 1.0
SLUG_PREFIX = "bench"

sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ["PARVIS_DB_NAME"] = BENCH_DB_NAME  # embedded server only; never the dev DB

# Seconds spent in each django-tenants step during the current onboarding.
_steps: dict[str, float] = defaultdict(float)


# --- Database set-up ---------------------------------------------------------------



def database_recreate(db: dict) -> None:
    """Drop and create the benchmark database through the ``postgres`` maintenance DB."""
    import psycopg
    from psycopg import sql

    params = {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"],
              "password": db["PASSWORD"] or None, "dbname": "postgres"}
    name = sql.Identifier(db["NAME"])
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None},
                         autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def platform_prepare() -> None:
    """Migrate the public schema and create the public tenant and the template."""
    from django.conf import settings
    from django.core.management import call_command

    from tenants.services import platform_setup

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        platform_setup(vendor_hosts=settings.VENDOR_HOSTS)  # migrates 'modele' verbosely


# --- Instrumentation of the two django-tenants steps -------------------------------

def _timed(step: str, func):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            _steps[step] += time.perf_counter() - start

    return wrapper


def instrument_schema_steps() -> None:
    """Time the clone and the migration check (plus any migrate) of ``create_schema``."""
    from tenants import models as tenant_models

    tenant_models.schema_clone = _timed("clone_sql", tenant_models.schema_clone)
    tenant_models.migrations_missing = _timed("migrate", tenant_models.migrations_missing)
    tenant_models.call_command = _timed("migrate", tenant_models.call_command)


# --- Communes ----------------------------------------------------------------------

def _slugs():
    number = 0
    while True:
        number += 1
        yield f"{SLUG_PREFIX}{number:05d}"


SLUGS = _slugs()


def commune_count() -> int:
    from tenants.models import Commune, CommuneKind

    return Commune.objects.filter(kind=CommuneKind.COMMUNE).count()


def onboard(slug: str):
    from core.journal import Actor
    from tenants.services import commune_onboard

    return commune_onboard(slug=slug, name=f"Bench {slug}", domain=f"{slug}.bench.test",
                           actor=Actor.system("bench")).commune


def create_by_plain_migrate(slug: str):
    """Save a commune with cloning disabled: CREATE SCHEMA + all tenant migrations."""
    from django.test.utils import override_settings

    from tenants.models import Commune

    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        commune = Commune(schema_name=slug, name=f"Bench {slug}")
        commune.save(verbosity=0)
    return commune


def fresh_session() -> None:
    """Start a new database session (new PostgreSQL backend), like a new request."""
    from django.db import connection

    connection.close()
    connection.ensure_connection()


def commune_remove(commune) -> None:
    """Drop the schema and delete the row (its domains cascade)."""
    from django.db import connection

    connection.set_schema_to_public()
    commune.delete(force_drop=True)


def populate(target: int) -> float:
    """Onboard communes until ``target`` are present; return the seconds it took."""
    start = time.perf_counter()
    for _ in range(target - commune_count()):
        fresh_session()
        onboard(next(SLUGS))
    return time.perf_counter() - start


# --- Measurements ------------------------------------------------------------------

def time_creations(create, repeats: int, *, fresh: bool = True
                   ) -> tuple[list[float], dict[str, list[float]]]:
    """Time ``repeats`` creations, removing each commune right after (untimed).

    With ``fresh``, each creation runs on a new database session; without, all
    run on the same one.
    """
    totals, steps = [], defaultdict(list)
    for _ in range(repeats):
        if fresh:
            fresh_session()
        _steps.clear()
        start = time.perf_counter()
        commune = create(next(SLUGS))
        totals.append(time.perf_counter() - start)
        for step in ("clone_sql", "migrate"):
            steps[step].append(_steps[step])
        commune_remove(commune)
    return totals, steps


def time_noop_migrate(repeats: int) -> list[float]:
    """Time ``migrate_schemas --tenant --executor=multiprocessing`` with nothing to do."""
    from django.core.management import call_command

    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        call_command("migrate_schemas", tenant=True, executor="multiprocessing",
                     interactive=False, verbosity=0)
        durations.append(time.perf_counter() - start)
    return durations


def time_behind_check(repeats: int) -> list[float]:
    """Time ``tenant_schemas_behind()``: what ``setup_platform`` runs instead of a no-op
    ``migrate_schemas`` when no schema misses a migration."""
    from tenants.selectors import tenant_schemas_behind

    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        behind = tenant_schemas_behind()
        durations.append(time.perf_counter() - start)
        assert behind == [], behind
    return durations


def tenant_schema_count() -> int:
    """Schemas ``migrate_schemas --tenant`` visits: every tenant except public."""
    from tenants.models import Commune

    return Commune.objects.exclude(schema_name="public").count()


# --- Report ------------------------------------------------------------------------

def stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def fmt(values: list[float]) -> str:
    median, low, high = stats(values)
    return f"{median:8.3f} {low:8.3f} {high:8.3f}"


def print_header(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}", flush=True)


def print_level(level: int, clone: tuple, plain: tuple) -> None:
    clone_totals, clone_steps = clone
    plain_totals, _plain_steps = plain
    rest = [t - c - m for t, c, m in zip(clone_totals, clone_steps["clone_sql"],
                                         clone_steps["migrate"], strict=True)]
    verdict = "OK" if statistics.median(clone_totals) <= TARGET_SECONDS else "OVER TARGET"
    print(f"{level:>9}  {'onboard by clone (total)':<34} {len(clone_totals):>3} "
          f"{fmt(clone_totals)}  {verdict}")
    print(f"{'':>9}    {'schema_clone() (template copy)':<32} {'':>3} "
          f"{fmt(clone_steps['clone_sql'])}")
    print(f"{'':>9}    {'migrations check':<32} {'':>3} {fmt(clone_steps['migrate'])}")
    print(f"{'':>9}    {'rest (domain, defaults, journal)':<32} {'':>3} {fmt(rest)}")
    print(f"{level:>9}  {'plain migrate_schemas (1 schema)':<34} {len(plain_totals):>3} "
          f"{fmt(plain_totals)}", flush=True)


def print_same_session(level: int, totals: list[float], steps: dict[str, list[float]]) -> None:
    print_header(f"Consecutive onboardings by clone in ONE database session ({level} communes)")
    print("nth onboarding:  " + " ".join(f"{n:>5}" for n in range(1, len(totals) + 1)))
    print("total (s):       " + " ".join(f"{t:5.2f}" for t in totals))
    print("clone SQL (s):   " + " ".join(f"{t:5.2f}" for t in steps["clone_sql"]), flush=True)


def print_per_schema(title: str, rows: list[tuple[int, int, list[float]]],
                     digits: int) -> None:
    """A table of timings per level, with the milliseconds per schema."""
    print_header(title)
    print(f"{'communes':>9} {'schemas':>8} {'runs':>5} {'median':>8} {'min':>8} {'max':>8} "
          f"{'ms/schema':>10}")
    for level, schemas, durations in rows:
        median = statistics.median(durations)
        print(f"{level:>9} {schemas:>8} {len(durations):>5} {fmt(durations)} "
              f"{1000 * median / schemas:>10.{digits}f}")


def print_noop(rows: list[tuple[int, int, list[float], list[float]]]) -> None:
    print_per_schema("No-op migrate_schemas --tenant --executor=multiprocessing (seconds)",
                     [(level, schemas, durations) for level, schemas, durations, _ in rows], 1)
    level, schemas, durations, _checks = rows[-1]
    median = statistics.median(durations)
    proportional = median / schemas * (EXTRAPOLATE_TO + 1)
    print(f"Extrapolated to {EXTRAPOLATE_TO:,} communes ({EXTRAPOLATE_TO + 1} schemas), "
          f"proportional to the {level}-commune figure: {proportional:.1f} s")
    if len(rows) >= 2:
        xs = [schemas for _, schemas, _, _ in rows]
        ys = [statistics.median(durations) for _, _, durations, _ in rows]
        slope, intercept = statistics.linear_regression(xs, ys)
        fitted = intercept + slope * (EXTRAPOLATE_TO + 1)
        print(f"Least-squares line over the levels: {intercept:.2f} s + "
              f"{1000 * slope:.1f} ms/schema -> {fitted:.1f} s at {EXTRAPOLATE_TO:,} communes")
    print_per_schema("What setup_platform runs instead when no schema misses a migration: "
                     "tenant_schemas_behind() (seconds)",
                     [(level, schemas, checks) for level, schemas, _, checks in rows], 2)
    level, schemas, _durations, checks = rows[-1]
    print(f"Extrapolated to {EXTRAPOLATE_TO:,} communes: "
          f"{statistics.median(checks) / schemas * (EXTRAPOLATE_TO + 1):.1f} s")


# --- Main --------------------------------------------------------------------------

def main() -> None:
    overall = time.perf_counter()
    from django.conf import settings

    from bench.common import bench_database

    db = bench_database()
    print(f"Database: {db['NAME']} (dropped and recreated), host {db['HOST'] or 'localhost'}; "
          f"{os.cpu_count()} CPU(s); "
          f"MIGRATION_PROCESSES={settings.TENANT_MULTIPROCESSING_MAX_PROCESSES}")
    database_recreate(db)

    import django

    django.setup()
    instrument_schema_steps()
    start = time.perf_counter()
    platform_prepare()
    print(f"Shared migrations + platform_setup (template 'modele'): "
          f"{time.perf_counter() - start:.1f} s", flush=True)

    print_header("Onboarding one commune (seconds; median, min, max; "
                 f"target <= {TARGET_SECONDS:g} s)")
    print(f"{'communes':>9}  {'operation':<34} {'n':>3} {'median':>8} {'min':>8} {'max':>8}",
          flush=True)
    noop_rows = []
    for level in LEVELS:
        seconds = populate(level)
        if seconds > 0.5:
            print(f"{'':>9}  (populated to {level} communes in {seconds:.1f} s)", flush=True)
        clone = time_creations(onboard, REPEATS)
        plain = time_creations(create_by_plain_migrate, PLAIN_REPEATS)
        print_level(level, clone, plain)
        noop_rows.append((level, tenant_schema_count(), time_noop_migrate(NOOP_REPEATS),
                          time_behind_check(NOOP_REPEATS)))

    fresh_session()
    same_totals, same_steps = time_creations(onboard, SAME_SESSION_REPEATS, fresh=False)
    print_same_session(LEVELS[-1], same_totals, same_steps)
    print_noop(noop_rows)
    print(f"\nTotal benchmark time: {time.perf_counter() - overall:.0f} s")


if __name__ == "__main__":
    main()
