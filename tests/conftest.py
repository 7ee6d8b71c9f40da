"""Test communes are created once per session (per xdist worker): ``alpha`` and
``beta``, so that every isolation test has a victim. Tests run in a transaction
rolled back at the end, inside or outside a commune's schema."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AccountType, User
from accounts.roles import Role
from accounts.services import vendor_operator_upsert
from core.journal import Actor
from tenants.models import Commune
from tenants.services import commune_onboard, platform_setup

VENDOR_HOST = "console.parvis.test"
HOST_A = "alpha.parvis.test"
HOST_B = "beta.parvis.test"
PASSWORD = "mot-de-passe-de-test-42"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        platform_setup(vendor_hosts=[VENDOR_HOST])
        actor = Actor.system("tests")
        for slug, name, host in (("alpha", "Alpha-sur-Isère", HOST_A),
                                 ("beta", "Bêta-les-Bains", HOST_B)):
            if not Commune.objects.filter(schema_name=slug).exists():
                commune_onboard(slug=slug, name=name, domain=host, actor=actor)


@pytest.fixture(autouse=True)
def _back_to_public():
    yield
    connection.set_schema_to_public()


@pytest.fixture
def commune_a(db):
    return Commune.objects.get(schema_name="alpha")


@pytest.fixture
def commune_b(db):
    return Commune.objects.get(schema_name="beta")


def make_user(commune, email, *, role=None, account_type=None, password=PASSWORD):
    """Create an account inside ``commune`` (an agent with ``role``, or a parent)."""
    from django.contrib.auth.models import Group

    with commune:
        kind = account_type or (AccountType.AGENT if role else AccountType.PARENT)
        user = User.objects.create_user(email=email, password=password, account_type=kind,
                                        first_name="Camille", last_name="Lefèvre")
        if role:
            user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def admin_a(commune_a):
    return make_user(commune_a, "admin@alpha.test", role=Role.ADMINISTRATOR)


@pytest.fixture
def parent_a(commune_a):
    return make_user(commune_a, "parent@alpha.test")


@pytest.fixture
def other_parent_a(commune_a):
    return make_user(commune_a, "autre.parent@alpha.test")


@pytest.fixture
def parent_b(commune_b):
    return make_user(commune_b, "parent@beta.test")


@pytest.fixture
def vendor(db):
    return vendor_operator_upsert(email="operateur@parvis.test", password=PASSWORD,
                                  actor=Actor.system("tests"))


@pytest.fixture
def client_a(db):
    return Client(HTTP_HOST=HOST_A)


@pytest.fixture
def client_b(db):
    return Client(HTTP_HOST=HOST_B)


@pytest.fixture
def vendor_client(db):
    return Client(HTTP_HOST=VENDOR_HOST)


def login(client, commune, user):
    """Log ``user`` in on ``client`` (force_login needs the user's schema active)."""
    if commune is None:
        client.force_login(user)
    else:
        with commune:
            client.force_login(user)
    connection.set_schema_to_public()
    return client


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files go to a temporary folder (the tenant storage caches its root)."""
    from django.core.files.storage import default_storage

    def forget_root():
        default_storage._setup()
        default_storage._wrapped.__dict__.pop("relative_media_root", None)

    original = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = str(tmp_path)
    forget_root()
    yield tmp_path
    settings.MEDIA_ROOT = original
    forget_root()


@pytest.fixture
def max_sql_queries():
    """Like pytest-django's ``django_assert_max_num_queries`` but counting only the
    statements a view asks for: django-tenants prefixes each one with a
    ``SET search_path`` that says nothing about N+1 loops."""
    from contextlib import contextmanager

    from django.test.utils import CaptureQueriesContext

    @contextmanager
    def check(limit):
        with CaptureQueriesContext(connection) as captured:
            yield captured
        statements = [query["sql"] for query in captured.captured_queries
                      if not query["sql"].startswith("SET search_path")]
        assert len(statements) <= limit, (
            f"{len(statements)} queries, at most {limit} expected:\n" + "\n".join(statements))

    return check
