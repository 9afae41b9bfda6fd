"""Health probes for /healthz."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection


def database_status() -> str:
    """'ok' when a trivial query succeeds, else the error class."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def broker_status() -> str:
    """'ok' when the Celery broker accepts a connection within two seconds."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def last_heartbeat() -> str | None:
    """When beat and a worker last ran the heartbeat task (ISO 8601), if ever."""
    from apps.core.tasks import HEARTBEAT_CACHE_KEY

    try:
        return cache.get(HEARTBEAT_CACHE_KEY)
    except Exception:
        return None
