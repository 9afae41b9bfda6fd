"""Webhook deliveries: create one per subscribed event, attempt it, rotate the signing secret."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.connections.models import ConnectionEvent, EventKind
from apps.plugins.errors import PlugsmithError
from apps.plugins.http_client import send
from apps.plugins.request_spec import BuiltRequest
from apps.tenants.models import Tenant
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from apps.webhooks.signing import SIGNATURE_HEADER, sign

EVENT_TYPES: dict[str, str] = {
    EventKind.CREATED: "connection.created",
    EventKind.RECONNECTED: "connection.reconnected",
    EventKind.REFRESHED: "connection.refreshed",
    EventKind.NEEDS_REAUTH: "connection.needs_reauth",
    EventKind.REVOKED: "connection.revoked",
    EventKind.DELETED: "connection.deleted",
}
RESPONSE_CAP_BYTES = 64 * 1024
TIMEOUT = (5, 10)


class WebhookAttemptFailed(Exception):
    """One delivery attempt did not get a 2xx answer; the task retries it later."""


def _payload(event: ConnectionEvent, event_type: str, delivery_id: str) -> dict[str, Any]:
    connection = event.connection
    data: dict[str, Any] = {"id": str(event.connection_ref)}
    if connection is not None:
        data.update(
            plugin=connection.plugin.slug,
            label=connection.label,
            status=connection.status,
            external_user_id=connection.external_user_id or None,
        )
    return {
        "id": delivery_id,
        "type": event_type,
        "created_at": event.created_at.isoformat(),
        "tenant": {"id": str(event.tenant_id), "slug": event.tenant.slug},
        "data": {"connection": data, "detail": event.detail},
    }


def webhook_delivery_create(*, event: ConnectionEvent) -> WebhookDelivery | None:
    """A pending delivery when the tenant has a webhook subscribed to this event, else None."""
    event_type = EVENT_TYPES.get(event.kind)
    tenant = event.tenant
    if event_type is None or not tenant.webhook_url or not tenant.webhook_secret:
        return None
    if event_type not in (tenant.webhook_events or []):
        return None
    delivery = WebhookDelivery(
        tenant=tenant, event=event, event_type=event_type, url=tenant.webhook_url
    )
    delivery.payload = _payload(event, event_type, str(delivery.id))
    delivery.save()
    return delivery


def webhook_deliver(*, delivery_id: Any) -> WebhookDelivery:
    """Attempt one delivery; raises WebhookAttemptFailed unless the receiver answered 2xx."""
    delivery = WebhookDelivery.objects.select_related("tenant").get(pk=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        return delivery  # a duplicate task message: already settled
    secret = delivery.tenant.webhook_secret or ""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    request = BuiltRequest(
        method="POST",
        url=delivery.url,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret=secret, body=body, timestamp=int(time.time())),
            "Plugsmith-Event": delivery.event_type,
            "Plugsmith-Delivery": str(delivery.id),
        },
        body=body,
        secrets=(secret,) if secret else (),
    )
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    try:
        response = send(request, timeout=TIMEOUT, max_bytes=RESPONSE_CAP_BYTES)
    except PlugsmithError as exc:
        delivery.last_error = str(exc)[:1000]
        delivery.response_status = None
        delivery.save(
            update_fields=["attempts", "last_attempt_at", "last_error", "response_status"]
        )
        raise WebhookAttemptFailed(delivery.last_error) from exc
    delivery.response_status = response.status
    if not response.ok:
        delivery.last_error = f"Receiver answered HTTP {response.status}"
        delivery.save(
            update_fields=["attempts", "last_attempt_at", "last_error", "response_status"]
        )
        raise WebhookAttemptFailed(delivery.last_error)
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = timezone.now()
    delivery.last_error = ""
    delivery.save()
    return delivery


def webhook_delivery_give_up(*, delivery_id: Any) -> None:
    """Mark a delivery failed after its last retry."""
    WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED
    )


@transaction.atomic
def webhook_secret_rotate(*, tenant: Tenant) -> str:
    """A new signing secret for the tenant (returned once; stored encrypted)."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    tenant.webhook_secret = secret
    tenant.save(update_fields=["webhook_secret"])
    return secret
