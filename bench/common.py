"""Shared set-up of the benchmarks: a throwaway database with the platform ready."""

import os
from contextlib import redirect_stdout


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
