"""Every new connection event may become a webhook delivery (sent after the transaction commits)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.connections.models import ConnectionEvent
from apps.webhooks.services import webhook_delivery_create


@receiver(post_save, sender=ConnectionEvent, dispatch_uid="webhooks.on_connection_event")
def on_connection_event(
    sender: type, instance: ConnectionEvent, created: bool, **kwargs: Any
) -> None:
    """Create the delivery with the event (same transaction), enqueue it once committed."""
    if not created:
        return
    delivery = webhook_delivery_create(event=instance)
    if delivery is not None:
        from apps.webhooks.tasks import deliver_webhook

        transaction.on_commit(lambda: deliver_webhook.delay(str(delivery.id)))
