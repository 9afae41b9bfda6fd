"""Webhook delivery task: retried with exponential backoff and jitter; never touches connections."""

from __future__ import annotations

import random

from celery import Task, shared_task

from apps.webhooks.services import WebhookAttemptFailed, webhook_deliver, webhook_delivery_give_up

MAX_RETRIES = 8


def backoff_seconds(retries: int) -> float:
    """10 s, 20 s, 40 s ... capped at one hour, with up to 20% jitter."""
    base = min(3600, 10 * 2**retries)
    return base + random.uniform(0, base * 0.2)  # noqa: S311 - jitter, not security


@shared_task(bind=True, name="webhooks.deliver", max_retries=MAX_RETRIES, acks_late=True)
def deliver_webhook(self: Task, delivery_id: str) -> None:
    """Send one webhook delivery; retry later when the receiver fails."""
    try:
        webhook_deliver(delivery_id=delivery_id)
    except WebhookAttemptFailed as exc:
        if self.request.retries >= self.max_retries:
            webhook_delivery_give_up(delivery_id=delivery_id)
            return
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc
