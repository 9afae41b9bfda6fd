"""Signed tenant webhooks for connection events."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus, EventKind
from apps.plugins.models import AuthVersion, Plugin
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from apps.webhooks.services import webhook_secret_rotate
from apps.webhooks.signing import SIGNATURE_HEADER, sign, verify
from apps.webhooks.tasks import MAX_RETRIES, backoff_seconds

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A loopback webhook receiver that answers with scripted statuses and records requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def connection(tenant):
    plugin = Plugin.objects.create(slug="acme", name="Acme")
    version = AuthVersion.objects.create(plugin=plugin, version=1, grant_type="authorization_code")
    return Connection.objects.create(
        tenant=tenant,
        plugin=plugin,
        auth_version=version,
        label="Jane at Acme",
        unique_identifier="42",
        access_token="at-secret-123",
        refresh_token="rt-secret-456",
    )


@pytest.fixture
def subscribed(tenant, receiver):
    tenant.webhook_url = receiver.url
    tenant.save()
    secret = webhook_secret_rotate(tenant=tenant)
    return secret


def record(connection, kind, **detail):
    return ConnectionEvent.objects.create(
        connection=connection,
        connection_ref=connection.id,
        tenant=connection.tenant,
        kind=kind,
        detail=detail,
    )


def test_event_is_posted_with_a_valid_signature(connection, subscribed, receiver):
    record(connection, EventKind.NEEDS_REAUTH, error="invalid_grant")
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert verify(secret=subscribed, body=body, header=headers[SIGNATURE_HEADER])
    payload = json.loads(body)
    assert payload["type"] == "connection.needs_reauth"
    assert payload["data"]["connection"]["id"] == str(connection.id)
    assert payload["data"]["detail"] == {"error": "invalid_grant"}
    assert headers["Plugsmith-Event"] == "connection.needs_reauth"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )


def test_payload_never_contains_tokens(connection, subscribed, receiver):
    record(connection, EventKind.CREATED)
    _, body = receiver.requests[0]
    assert b"at-secret-123" not in body
    assert b"rt-secret-456" not in body
    assert subscribed.encode() not in body


def test_failing_receiver_is_retried_and_never_touches_the_connection(
    connection, subscribed, receiver
):
    receiver.statuses = [500, 503]
    record(connection, EventKind.REVOKED)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.access_token == "at-secret-123"


def test_receiver_that_never_recovers_ends_failed(connection, subscribed, receiver):
    receiver.statuses = [500] * (MAX_RETRIES + 1)
    record(connection, EventKind.DELETED)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_RETRIES + 1
    assert "HTTP 500" in delivery.last_error


def test_refreshed_is_off_by_default_and_can_be_subscribed(
    connection, subscribed, receiver, tenant
):
    record(connection, EventKind.REFRESHED)
    assert not WebhookDelivery.objects.exists()
    tenant.webhook_events = [*tenant.webhook_events, "connection.refreshed"]
    tenant.save()
    record(connection, EventKind.REFRESHED)
    assert WebhookDelivery.objects.get().event_type == "connection.refreshed"


def test_no_webhook_url_means_no_delivery(connection, tenant):
    record(connection, EventKind.CREATED)
    assert not WebhookDelivery.objects.exists()


def test_events_without_a_webhook_type_are_not_sent(connection, subscribed, receiver):
    record(connection, EventKind.TESTED)
    assert not WebhookDelivery.objects.exists()


def test_unreachable_receiver_records_the_error(connection, tenant):
    tenant.webhook_url = "http://127.0.0.1:9/hooks"
    tenant.save()
    webhook_secret_rotate(tenant=tenant)
    record(connection, EventKind.CREATED)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error


def test_private_network_receiver_is_refused(connection, tenant, settings):
    settings.ALLOW_INSECURE_LOOPBACK = False
    tenant.webhook_url = "https://10.0.0.5/hooks"
    tenant.save()
    webhook_secret_rotate(tenant=tenant)
    record(connection, EventKind.CREATED)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.response_status is None


def test_signature_verification_rejects_tampering_and_old_timestamps():
    body = b'{"a":1}'
    header = sign(secret="s", body=body, timestamp=1_700_000_000)
    assert verify(secret="s", body=body, header=header, now=1_700_000_010)
    assert not verify(secret="s", body=b'{"a":2}', header=header, now=1_700_000_010)
    assert not verify(secret="other", body=body, header=header, now=1_700_000_010)
    assert not verify(secret="s", body=body, header=header, now=1_700_001_000)
    assert not verify(secret="s", body=body, header="garbage")


def test_backoff_grows_and_is_capped():
    assert 10 <= backoff_seconds(0) <= 12
    assert 40 <= backoff_seconds(2) <= 48
    assert backoff_seconds(20) <= 3600 * 1.2


def test_rotated_secret_is_stored_encrypted(tenant):
    secret = webhook_secret_rotate(tenant=tenant)
    assert secret.startswith("whsec_")
    tenant.refresh_from_db()
    assert tenant.webhook_secret == secret
