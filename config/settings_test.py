"""Test settings: real PostgreSQL and Redis, fixed test keys, eager Celery unless a test asks otherwise."""

import os

_TEST_ENV = {
    "DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/plugsmith",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "SECRET_KEY": "test-secret-key-that-is-long-enough-for-django-checks-0123456789abcdef",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1wcmltYXJ5LWtleS0wMDAwMDAwMDAwMDAwMDA=",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "ALLOW_INSECURE_LOOPBACK": "true",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "PUBLIC_BASE_URL": "http://testserver",
    "CELERY_TASK_ALWAYS_EAGER": "true",
    "EMAIL_URL": "smtp://localhost:25",
    "ENV_FILE": "/nonexistent",
}
for _name, _value in _TEST_ENV.items():
    os.environ.setdefault(_name, _value)

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Eager tasks run their retries inline (Celery only does so when eager errors do not propagate).
CELERY_TASK_EAGER_PROPAGATES = False
