"""Settings come from the environment; a bad value stops start-up with a clear message."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from config.env import database_url, env_bool, env_int, parse_database_url

PRODUCTION_ENV = {
    "PARVIS_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": ".parvis.fr",
    "DATABASE_URL": "postgres://parvis:secret@db.internal:5432/parvis",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "EMAIL_HOST": "smtp.internal",
    "FIELD_ENCRYPTION_KEY": "Fb8Ha4d2Y0wY2o7yY8xGugOEMcVGgQ3zTHGuFbb3vXI=",
}
PROBE = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
         "from django.conf import settings as s; "
         "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.PASSWORD_HASHERS[0], "
         "s.DATABASES['default']['HOST'], s.SESSION_COOKIE_DOMAIN)")


def run_settings(probe=PROBE, **overrides):
    env = {key: value for key, value in os.environ.items()
           if key not in PRODUCTION_ENV and not key.startswith(("SENTRY", "DJANGO"))}
    env.update(PRODUCTION_ENV)
    env.update({k: v for k, v in overrides.items() if v is not None})
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, cwd=django_settings.BASE_DIR, timeout=60)


def test_production_settings_are_strict_and_secure():
    result = run_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True", "True", "django.contrib.auth.hashers.Argon2PasswordHasher", "db.internal", "None"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
    ({"SECRET_KEY": "court"}, "at least 32 characters"),
    ({"DATABASE_URL": None}, "DATABASE_URL must be set in production"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must start with postgres"),
    ({"CELERY_BROKER_URL": None}, "CELERY_BROKER_URL must point to Redis"),
    ({"DEBUG": "peut-être"}, "DEBUG must be a boolean"),
    ({"DB_CONN_MAX_AGE": "soixante"}, "DB_CONN_MAX_AGE must be an integer"),
    ({"PARVIS_ENV": "staging"}, "PARVIS_ENV must be one of production, dev, test"),
    ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE: cannot read"),
    ({"FIELD_ENCRYPTION_KEY": None}, "FIELD_ENCRYPTION_KEY must be set"),
    ({"FIELD_ENCRYPTION_KEY": "not-a-key"}, "FIELD_ENCRYPTION_KEY must be Fernet keys"),
])
def test_a_bad_value_stops_start_up_with_a_clear_message(overrides, message):
    result = run_settings(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_secrets_can_come_from_files(tmp_path, monkeypatch):
    secret = tmp_path / "flag"
    secret.write_text("oui\n")
    monkeypatch.setenv("PARVIS_FLAG_FILE", str(secret))
    with pytest.raises(ImproperlyConfigured):
        env_bool("PARVIS_FLAG", False)
    secret.write_text("true\n")
    assert env_bool("PARVIS_FLAG", False) is True


def test_helpers_parse_what_they_should(monkeypatch):
    monkeypatch.setenv("PARVIS_N", "12")
    assert env_int("PARVIS_N", 1) == 12
    monkeypatch.setenv("PARVIS_N", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("PARVIS_N", 1, minimum=0)
    parsed = parse_database_url("postgresql://u:p%40ss@/base?host=/run/pg&sslmode=require")
    assert parsed["HOST"] == "/run/pg" and parsed["PASSWORD"] == "p@ss"
    assert parsed["NAME"] == "base" and parsed["OPTIONS"] == {"sslmode": "require"}
    for url in ("postgresql://u:p%40ss@/base?sslmode=require&host=%2Frun%2Fpg",
                "postgresql://parvis:s%C3%A9cret%2F1@db.example:6543/parvis",
                "postgresql://postgres@/test_parvis_1?host=%2Ftmp%2Fsocket"):
        assert parse_database_url(database_url(parse_database_url(url))) == \
            parse_database_url(url)


# Loads the settings (and the apps) in a fresh interpreter with every way out blocked:
# any envelope handed to a sentry transport and any socket connection is recorded, then
# reported as JSON along with the client's state and options.
SENTRY_PROBE = r"""
import json, os, socket
import sentry_sdk
from sentry_sdk import transport

envelopes, connections = [], []
def _record(self, envelope):
    envelopes.append([item.type for item in envelope.items])
for cls in vars(transport).values():  # every transport class, base and HTTP ones alike
    if isinstance(cls, type) and issubclass(cls, transport.Transport):
        cls.capture_envelope = _record
def _refuse(self, address, *args):
    connections.append(repr(address))
    raise OSError("network disabled by the probe")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = lambda address, *a, **k: _refuse(None, address)

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.conf import settings
client = sentry_sdk.get_client()
options = client.options
active = client.is_active()
sentry_sdk.flush(timeout=2)
print(json.dumps({
    "setting": settings.SENTRY_DSN,
    "active": active,
    "dsn": options.get("dsn"),
    "transport": type(client.transport).__name__ if client.transport else None,
    "environment": options.get("environment"),
    "include_local_variables": options.get("include_local_variables"),
    "send_default_pii": options.get("send_default_pii"),
    "max_request_body_size": options.get("max_request_body_size"),
    "traces_sample_rate": options.get("traces_sample_rate"),
    "before_send": getattr(options.get("before_send"), "__module__", None),
    "envelopes": envelopes,
    "connections": connections,
}))
"""


def run_sentry_probe(**overrides):
    result = run_settings(SENTRY_PROBE, **overrides)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sentry_stays_off_without_a_dsn():
    probe = run_sentry_probe()
    assert probe["setting"] is None
    assert probe["active"] is False and probe["transport"] is None
    assert probe["envelopes"] == [] and probe["connections"] == []


def test_sentry_starts_with_a_dsn_without_personal_data_and_sends_nothing_at_start_up():
    probe = run_sentry_probe(SENTRY_DSN="https://key@example.invalid/1")
    assert probe["active"] is True
    assert probe["dsn"] == "https://key@example.invalid/1"
    assert probe["transport"] == "HttpTransport"  # the real one: nothing was swapped in
    assert probe["environment"] == "production"
    assert probe["include_local_variables"] is False
    assert probe["send_default_pii"] is False
    assert probe["max_request_body_size"] == "never"
    assert probe["traces_sample_rate"] == 0.0
    assert probe["before_send"] == "config.sentry"
    # Initialising captured no event and never contacted the DSN host (or anything else).
    assert probe["envelopes"] == [] and probe["connections"] == []


@pytest.mark.parametrize("content", ["", "[12", "not json"])
def test_an_unreadable_holder_list_of_the_embedded_server_is_reset(tmp_path, content):
    """A process killed while rewriting ``.handle_pids.json`` left it empty, and every
    later start failed on it; it now counts as no holder (dead pids are dropped too)."""
    from config.embedded_db import _prune_dead_holders

    holders = tmp_path / ".handle_pids.json"
    holders.write_text(content)
    _prune_dead_holders(tmp_path)
    assert json.loads(holders.read_text()) == []
    holders.write_text(json.dumps([os.getpid() + 10_000_000, os.getppid()]))
    _prune_dead_holders(tmp_path)  # a pid that cannot exist is dropped, a live one kept
    assert json.loads(holders.read_text()) == [os.getppid()]
