"""Webhook settings: https endpoint, subscribed events, secret rotation shown once, deliveries."""

from __future__ import annotations

import re

import pytest

from apps.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_saves_an_https_url_and_events(admin_client, tenant):
    response = admin_client.post(
        "/settings/webhooks/",
        {"url": "https://hooks.example.com/in", "events": ["connection.created"]},
        follow=True,
    )
    tenant.refresh_from_db()
    assert tenant.webhook_url == "https://hooks.example.com/in"
    assert tenant.webhook_events == ["connection.created"]
    assert "Webhook URL saved." in response.content.decode()


def test_refuses_plain_http_when_debug_is_off(admin_client, tenant):
    response = admin_client.post("/settings/webhooks/", {"url": "http://hooks.example.com/in"})
    assert response.status_code == 400
    assert "Enter a valid https:// URL." in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.webhook_url == ""


def test_allows_plain_http_in_debug(admin_client, tenant, settings):
    settings.DEBUG = True
    admin_client.post("/settings/webhooks/", {"url": "http://localhost:9000/in"})
    tenant.refresh_from_db()
    assert tenant.webhook_url == "http://localhost:9000/in"


def test_empty_url_turns_webhooks_off(admin_client, tenant):
    tenant.webhook_url = "https://hooks.example.com/in"
    tenant.save()
    response = admin_client.post("/settings/webhooks/", {"url": ""}, follow=True)
    tenant.refresh_from_db()
    assert tenant.webhook_url == ""
    assert "Webhooks turned off." in response.content.decode()


def test_rotated_secret_is_shown_once_and_stored(admin_client, tenant):
    response = admin_client.post("/settings/webhooks/rotate-secret/")
    assert response["Location"] == "/settings/webhooks/"
    page = admin_client.get("/settings/webhooks/")
    assert page["Cache-Control"] == "no-store"
    secret = re.search(r'value="(whsec_[^"]+)"', page.content.decode()).group(1)
    tenant.refresh_from_db()
    assert tenant.webhook_secret == secret
    assert secret not in admin_client.get("/settings/webhooks/").content.decode()


def test_rotation_replaces_the_old_secret(admin_client, tenant):
    admin_client.post("/settings/webhooks/rotate-secret/")
    tenant.refresh_from_db()
    first = tenant.webhook_secret
    admin_client.post("/settings/webhooks/rotate-secret/")
    tenant.refresh_from_db()
    assert tenant.webhook_secret != first


def test_rotation_needs_post(admin_client):
    assert admin_client.get("/settings/webhooks/rotate-secret/").status_code == 405


def test_empty_deliveries_state(admin_client):
    assert "No deliveries yet." in admin_client.get("/settings/webhooks/").content.decode()


def test_recent_deliveries_of_the_tenant_only(admin_client, tenant, other_tenant):
    payload = {"type": "connection.created"}
    WebhookDelivery.objects.create(
        tenant=tenant,
        event_type="connection.created",
        url="https://a.example/",
        payload=payload,
        status="delivered",
        response_status=204,
        attempts=1,
    )
    WebhookDelivery.objects.create(
        tenant=other_tenant,
        event_type="connection.deleted",
        url="https://b.example/",
        payload=payload,
    )
    page = admin_client.get("/settings/webhooks/").content.decode()
    assert '<td data-label="Event"><code>connection.created</code>' in page
    assert "HTTP 204" in page
    assert '<td data-label="Event"><code>connection.deleted</code>' not in page
