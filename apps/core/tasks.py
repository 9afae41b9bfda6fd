"""Housekeeping tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "core:last-heartbeat"


@shared_task(name="core.heartbeat")
def heartbeat() -> str:
    """Record that beat and a worker are alive (shown by /healthz as last_heartbeat)."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=None)
    return now
