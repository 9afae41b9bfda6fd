"""Plugsmith settings: one module, every knob read from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
_env_file = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Development-only fallbacks: usable on a laptop, refused when DEBUG is off.
_DEV_SECRET_KEY = "insecure-dev-only-secret-key-do-not-use-in-production-0123456789"
_DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtMDA="


def _required_secret(name: str, dev_default: str) -> str:
    """Read a secret; in production a missing one stops the process at start."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see .env.example).")


SECRET_KEY = _required_secret("SECRET_KEY", _DEV_SECRET_KEY)
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Fernet keys for encrypted columns: the first encrypts, all decrypt. Independent of SECRET_KEY.
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in _required_secret("FIELD_ENCRYPTION_KEYS", _DEV_ENCRYPTION_KEY).split(",")
    if key.strip()
]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "apps.core",
    "apps.tenants",
    "apps.plugins",
    "apps.connections",
    "apps.oauth",
    "apps.webhooks",
    "apps.web",
    "apps.api",
    # Only the `demo` command (no models, no URLs): it tells how to enable the demo when it is off.
    "apps.demo_provider.launcher",
]

DEMO_PROVIDER_ENABLED = env.bool("DEMO_PROVIDER_ENABLED", default=False)
if DEMO_PROVIDER_ENABLED:
    # A real OAuth 2.0 provider (django-oauth-toolkit) for demos; never on in production.
    from apps.demo_provider.settings import oauth2_provider_settings

    INSTALLED_APPS += ["oauth2_provider", "apps.demo_provider"]
    # Short access tokens so that a newcomer sees Celery refresh them.
    OAUTH2_PROVIDER = oauth2_provider_settings(
        access_token_seconds=env.int("DEMO_PROVIDER_ACCESS_TOKEN_SECONDS", default=120)
    )
    # Cookies are per host: the provider on another host name than PUBLIC_BASE_URL (127.0.0.1 vs
    # localhost) keeps its own session, so signing in there never signs the portal user out.
    DEMO_PROVIDER_BASE_URL = env.str(
        "DEMO_PROVIDER_BASE_URL", default="http://127.0.0.1:8000"
    ).rstrip("/")
    ALLOWED_HOSTS += [
        host
        for host in (urlsplit(PUBLIC_BASE_URL).hostname, urlsplit(DEMO_PROVIDER_BASE_URL).hostname)
        if host and host not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS
    ]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.tenants.middleware.CurrentTenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "apps.tenants.context_processors.current_tenant",
                "apps.web.context_processors.portal",
            ],
        },
    },
]

# Database: unset DATABASE_URL means an embedded SQLite file under var/.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'plugsmith.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions let web, worker and beat share the file without lock errors.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Hot one-row lookups (apps/core/db.py CompiledGet) are prepared on each connection after this
    # many executions; every other query keeps Django's client-side binding. Empty: never prepare
    # (for a PgBouncer in transaction mode older than 1.21).
    _prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="2")
    if _prepare_threshold:
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = int(
            _prepare_threshold
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Redis: when set, the Celery broker and the cache; when unset, embedded mode (docs/operations.md).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "plugsmith",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Celery (config/celery.py reads every CELERY_* setting).
CELERY_EMBEDDED_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_EMBEDDED_DIR / "queue"),
        "data_folder_out": str(CELERY_EMBEDDED_DIR / "queue"),
        "processed_folder": str(CELERY_EMBEDDED_DIR / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep database connections across tasks (Celery otherwise reconnects for every task, ~18 ms each);
# config/celery.py still drops broken or over-age connections after each task, as Django does per request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat sweep sends REFRESH_BATCH_SIZE connections per task; a batch task locks them in one query,
# calls the provider for all of them on a per-process pool of REFRESH_SEND_THREADS threads and
# stores the results in one UPDATE. With more batch slots than pool threads, one batch prepares and
# stores while another's calls are in flight (docs/benchmarks.md).
REFRESH_BATCH_SIZE = env.int("REFRESH_BATCH_SIZE", default=16)
REFRESH_SEND_THREADS = env.int("REFRESH_SEND_THREADS", default=32)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {"task": "core.heartbeat", "schedule": 30.0},
    "schedule-refreshes": {
        "task": "connections.schedule_refreshes",
        "schedule": env.float("REFRESH_SWEEP_SECONDS", default=30.0),
        "options": {"expires": 25},
    },
    "health-checks": {"task": "connections.health_checks", "schedule": 300.0},
    "purge-authorization-attempts": {
        "task": "oauth.purge_authorization_attempts",
        "schedule": 3600.0,
    },
}

# Outbound HTTP (apps/plugins/http_client.py).
ALLOW_INSECURE_LOOPBACK = env.bool("ALLOW_INSECURE_LOOPBACK", default=DEBUG)
OUTBOUND_ALLOWED_PRIVATE_NETWORKS = env.list("OUTBOUND_ALLOWED_PRIVATE_NETWORKS", default=[])
# A PEM bundle of the CAs trusted for providers' certificates (default: certifi's Mozilla bundle).
OUTBOUND_CA_BUNDLE = env.str("OUTBOUND_CA_BUNDLE", default="") or None

SIGNUP_ENABLED = env.bool("SIGNUP_ENABLED", default=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.tenants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.tenants.authentication.HasTenantApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plugsmith API",
    "DESCRIPTION": "Connections, fresh credentials and proxied calls for a tenant's services.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Plugsmith <noreply@localhost>")

# Security: strict by default whenever DEBUG is off (python manage.py check --deploy passes).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
