"""Shared set-up of the benchmarks: a throwaway database with the platform ready."""

import os
import sys
import time
from contextlib import contextmanager, redirect_stdout

DEV_DB_NAME = "parvis"


def bench_database() -> dict:
    """The connection settings, refusing any database that is not a throwaway one: never
    the development database, and with ``DATABASE_URL`` only the one that
    ``PARVIS_BENCH_DROP`` names (it is dropped and recreated)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = db["NAME"]
    if name == DEV_DB_NAME:
        sys.exit(f"Refusing to benchmark on the development database {name!r}.")
    if settings.DATABASE_URL and os.environ.get("PARVIS_BENCH_DROP") != name:
        sys.exit(f"DATABASE_URL is set: the benchmark would DROP database {name!r}. "
                 f"If it is a throwaway database, run again with PARVIS_BENCH_DROP={name}.")
    return db


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


@contextmanager
def timed_calls(timers: dict[str, float], targets):
    """Add to ``timers[key]`` the time spent in each ``(owner, attribute, key)`` of
    ``targets`` while the block runs (the real code, wrapped in place, then restored)."""
    patched = []

    def timed(original, key):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timers[key] += time.perf_counter() - started
        return wrapper

    for owner, name, key in targets:
        patched.append((owner, name, owner.__dict__.get(name, _MISSING), getattr(owner, name)))
        setattr(owner, name, timed(getattr(owner, name), key))
    try:
        yield
    finally:
        for owner, name, own, _original in reversed(patched):
            if own is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, own)


_MISSING = object()
