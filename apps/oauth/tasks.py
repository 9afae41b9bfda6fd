"""Housekeeping for connect flows."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.oauth.models import AuthorizationAttempt, ConnectSession

KEEP_FINISHED = timedelta(days=1)


@shared_task(name="oauth.purge_authorization_attempts")
def purge_authorization_attempts() -> int:
    """Hourly: delete expired authorization attempts and connect sessions (idempotent)."""
    now = timezone.now()
    attempts, _ = AuthorizationAttempt.objects.filter(expires_at__lt=now).delete()
    sessions, _ = ConnectSession.objects.filter(expires_at__lt=now - KEEP_FINISHED).delete()
    return attempts + sessions
