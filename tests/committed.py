"""A commune whose data is really committed, for tests that cross connections
(threads, a live server, a browser). Created for one test and dropped afterwards."""

from contextlib import contextmanager

import psycopg
from django.db import connection

from core.journal import Actor
from tenants.services import commune_onboard


@contextmanager
def throwaway_commune(django_db_blocker, slug: str):
    with django_db_blocker.unblock():
        commune = commune_onboard(slug=slug, name=slug.capitalize(),
                                  domain=f"{slug}.parvis.test",
                                  actor=Actor.system("tests")).commune
        try:
            yield commune
        finally:
            connection.set_schema_to_public()
            commune.domains.all().delete()
            commune.delete(force_drop=True)


def raw_connection(schema: str) -> psycopg.Connection:
    """A second connection to the test database, in ``schema`` (for committed data)."""
    settings = connection.settings_dict
    return psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                           host=settings["HOST"] or None, port=settings["PORT"] or None,
                           password=settings["PASSWORD"] or None,
                           options=f"-c search_path={schema},public")
