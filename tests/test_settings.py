"""Settings come from the environment; a bad value stops start-up with a clear message."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, parse_database_url

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


def run_settings(**overrides):
    env = {key: value for key, value in os.environ.items()
           if key not in PRODUCTION_ENV and not key.startswith(("SENTRY", "DJANGO"))}
    env.update(PRODUCTION_ENV)
    env.update({k: v for k, v in overrides.items() if v is not None})
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
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
