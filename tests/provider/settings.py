"""Settings for the end-to-end test provider (run as a `runserver` subprocess, never imported by tests)."""

import os
from pathlib import Path

from apps.demo_provider.settings import oauth2_provider_settings

BASE_DIR = Path(__file__).resolve().parents[2]


def _env_bool(name: str, default: bool) -> bool:
    """Read a boolean from the environment."""
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get(
    "PROVIDER_SECRET_KEY", "e2e-test-provider-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "apps.demo_provider",
]

MIDDLEWARE = [
    # First, so it sees (and can fail or slow down) every request.
    "tests.provider.control.ControlMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.provider.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PROVIDER_DB_PATH", str(BASE_DIR / "var" / "e2e-provider.sqlite3")),
        # runserver is threaded: take the write lock up front and wait for it.
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"

LOGIN_URL = "demo_provider_login"

OAUTH2_PROVIDER = oauth2_provider_settings(
    access_token_seconds=int(os.environ.get("PROVIDER_ACCESS_TOKEN_SECONDS", "3600")),
    rotate_refresh_token=_env_bool("PROVIDER_ROTATE_REFRESH_TOKEN", True),
    grace_period_seconds=int(os.environ.get("PROVIDER_REFRESH_GRACE_SECONDS", "0")),
)

# DEBUG is off, so send server errors to stderr (the server's log file) instead of email.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        "oauth2_provider": {"handlers": ["console"], "level": "ERROR"},
    },
}
