"""The refresh failure policy and expiry arithmetic, against `responses` fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone

from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus, EventKind
from apps.connections.refresh import (
    FAILURE_THRESHOLD,
    ConnectionNeedsReauth,
    connection_refresh,
    get_fresh_credentials,
)
from apps.plugins.errors import TransientProviderError
from tests.connections.conftest import REVOKE_URL, TOKEN_URL, add_token, form_of, token_body
from tests.factories import AuthVersionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_connection(tenant):
    return ConnectionFactory(
        tenant=tenant,
        access_token="old-access-token",
        refresh_token="old-refresh-token",
        expires_at=timezone.now() + timedelta(seconds=30),
        next_refresh_at=timezone.now() - timedelta(seconds=1),
    )


def stored(connection: Connection) -> Connection:
    return Connection.objects.get(pk=connection.pk)


def test_refresh_stores_new_tokens_and_resets_failures(fake_provider, due_connection):
    due_connection.failure_count = 3
    due_connection.save()
    add_token(
        fake_provider, body=token_body(access_token="fresh-access", refresh_token="rotated-refresh")
    )
    connection_refresh(connection_id=due_connection.pk)
    after = stored(due_connection)
    assert (after.access_token, after.refresh_token) == ("fresh-access", "rotated-refresh")
    assert after.failure_count == 0
    assert after.last_refreshed_at is not None
    assert after.next_refresh_at == after.expires_at - timedelta(seconds=300)
    assert form_of(fake_provider.calls[0])["refresh_token"] == "old-refresh-token"
    assert ConnectionEvent.objects.filter(kind=EventKind.REFRESHED).count() == 1


def test_refresh_keeps_old_refresh_token_when_provider_sends_none(fake_provider, due_connection):
    add_token(fake_provider, body=token_body(access_token="fresh-access", refresh_token=None))
    connection_refresh(connection_id=due_connection.pk)
    after = stored(due_connection)
    assert after.access_token == "fresh-access"
    assert after.refresh_token == "old-refresh-token"


def test_refresh_not_due_makes_no_call(fake_provider, tenant):
    connection = ConnectionFactory(
        tenant=tenant,
        expires_at=timezone.now() + timedelta(hours=1),
        next_refresh_at=timezone.now() + timedelta(minutes=55),
    )
    connection_refresh(connection_id=connection.pk)
    assert len(fake_provider.calls) == 0


def test_refresh_skips_when_refreshed_since_it_was_scheduled(fake_provider, due_connection):
    scheduled_at = timezone.now() - timedelta(seconds=5)
    Connection.objects.filter(pk=due_connection.pk).update(last_refreshed_at=timezone.now())
    connection_refresh(connection_id=due_connection.pk, scheduled_at=scheduled_at)
    assert len(fake_provider.calls) == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"error": "server_error"}},
        {"status": 503, "body": "<html>maintenance</html>", "content_type": "text/html"},
        {"status": 200, "body": "<html>login</html>", "content_type": "text/html"},
        {"status": 200, "body": "{not json", "content_type": "application/json"},
        {"status": 429, "json": {"error": "slow_down"}},
        {"body": requests.exceptions.ConnectTimeout("timed out")},
        {"body": requests.exceptions.ConnectionError("refused")},
    ],
    ids=["500", "503-html", "200-html", "garbage-json", "429", "timeout", "refused"],
)
def test_transient_failure_keeps_tokens_and_status(fake_provider, due_connection, answer):
    fake_provider.add(responses.POST, TOKEN_URL, **answer)
    with pytest.raises(TransientProviderError):
        connection_refresh(connection_id=due_connection.pk)
    after = stored(due_connection)
    assert after.status == ConnectionStatus.ACTIVE
    assert (after.access_token, after.refresh_token) == ("old-access-token", "old-refresh-token")
    assert after.failure_count == 1
    assert after.last_error
    assert after.next_refresh_at > timezone.now()
    assert ConnectionEvent.objects.filter(kind=EventKind.REFRESH_FAILED).count() == 1


def test_repeated_transient_failures_mark_error_then_success_recovers(
    fake_provider, due_connection
):
    for _ in range(FAILURE_THRESHOLD):
        add_token(fake_provider, status=503, body={"error": "temporarily_unavailable"})
        with pytest.raises(TransientProviderError):
            connection_refresh(connection_id=due_connection.pk, force=True)
        if stored(due_connection).failure_count < FAILURE_THRESHOLD:
            assert stored(due_connection).status == ConnectionStatus.ACTIVE
    after = stored(due_connection)
    assert after.status == ConnectionStatus.ERROR
    assert after.access_token == "old-access-token"
    assert after.next_refresh_at > timezone.now() + timedelta(minutes=20)
    add_token(fake_provider, body=token_body(access_token="recovered"))
    connection_refresh(connection_id=due_connection.pk, force=True)
    after = stored(due_connection)
    assert (after.status, after.failure_count, after.access_token) == (
        ConnectionStatus.ACTIVE,
        0,
        "recovered",
    )


def test_invalid_grant_marks_needs_reauth_clears_tokens_and_revokes(fake_provider, due_connection):
    add_token(
        fake_provider,
        status=400,
        body={"error": "invalid_grant", "error_description": "Token revoked"},
    )
    fake_provider.add(responses.POST, REVOKE_URL, status=200)
    with pytest.raises(ConnectionNeedsReauth, match="Token revoked"):
        connection_refresh(connection_id=due_connection.pk)
    after = stored(due_connection)
    assert after.status == ConnectionStatus.NEEDS_REAUTH
    assert after.access_token is None
    assert after.refresh_token is None
    assert after.next_refresh_at is None
    revoked = [form_of(c)["token"] for c in fake_provider.calls if c.request.url == REVOKE_URL]
    assert revoked == ["old-refresh-token", "old-access-token"]
    kinds = list(
        ConnectionEvent.objects.order_by("created_at", "id").values_list("kind", flat=True)
    )
    assert kinds == [EventKind.NEEDS_REAUTH, EventKind.REVOKED]
    with pytest.raises(ConnectionNeedsReauth):
        connection_refresh(connection_id=due_connection.pk, force=True)
    assert len([c for c in fake_provider.calls if c.request.url == TOKEN_URL]) == 1


def test_revoke_answering_503_is_retried_later(
    fake_provider, due_connection, django_capture_on_commit_callbacks
):
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})
    fake_provider.add(responses.POST, REVOKE_URL, status=503)
    fake_provider.add(responses.POST, REVOKE_URL, status=200)
    fake_provider.add(responses.POST, REVOKE_URL, status=200)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConnectionNeedsReauth):
        connection_refresh(connection_id=due_connection.pk)
    revokes = [c for c in fake_provider.calls if c.request.url == REVOKE_URL]
    assert len(revokes) == 3
    assert [form_of(c)["token"] for c in revokes[1:]] == ["old-refresh-token", "old-access-token"]
    assert ConnectionEvent.objects.filter(kind=EventKind.REVOKE_FAILED).count() == 1
    assert ConnectionEvent.objects.filter(kind=EventKind.REVOKED).count() == 1


def test_fresh_credentials_return_valid_token_without_a_call(fake_provider, tenant):
    connection = ConnectionFactory(tenant=tenant, expires_at=timezone.now() + timedelta(hours=1))
    assert get_fresh_credentials(connection=connection).access_token == connection.access_token
    assert len(fake_provider.calls) == 0


def test_fresh_credentials_refresh_inside_min_validity(fake_provider, tenant):
    connection = ConnectionFactory(tenant=tenant, expires_at=timezone.now() + timedelta(seconds=90))
    add_token(fake_provider, body=token_body(access_token="longer-lived"))
    assert (
        get_fresh_credentials(connection=connection, min_validity=60).access_token
        == connection.access_token
    )
    assert (
        get_fresh_credentials(connection=connection, min_validity=120).access_token
        == "longer-lived"
    )
    assert len(fake_provider.calls) == 1


def test_fresh_credentials_refuse_needs_reauth(tenant):
    connection = ConnectionFactory(
        tenant=tenant, status=ConnectionStatus.NEEDS_REAUTH, access_token=None
    )
    with pytest.raises(ConnectionNeedsReauth, match="reconnected"):
        get_fresh_credentials(connection=connection)


def test_expired_code_grant_without_refresh_token_needs_reauth(fake_provider, tenant):
    connection = ConnectionFactory(
        tenant=tenant, refresh_token=None, expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ConnectionNeedsReauth):
        get_fresh_credentials(connection=connection)
    assert stored(connection).status == ConnectionStatus.NEEDS_REAUTH
    assert not [c for c in fake_provider.calls if c.request.url == TOKEN_URL]


def test_client_credentials_refresh_asks_for_a_new_token(fake_provider, tenant):
    version = AuthVersionFactory(
        grant_type="client_credentials", refresh_request=None, authorization_url=""
    )
    connection = ConnectionFactory(
        tenant=tenant,
        auth_version=version,
        refresh_token=None,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    add_token(fake_provider, body=token_body(access_token="cc-new", refresh_token=None))
    assert get_fresh_credentials(connection=connection).access_token == "cc-new"
    assert form_of(fake_provider.calls[0])["grant_type"] == "client_credentials"


class TestExpiryArithmetic:
    """expires_at and next_refresh_at from what the provider sends."""

    def refresh_with(self, fake_provider, connection, **token):
        add_token(fake_provider, body=token_body(**token))
        connection_refresh(connection_id=connection.pk, force=True)
        return stored(connection)

    def test_no_expiry_and_no_default_with_refresh_token_uses_keepalive(
        self, fake_provider, due_connection
    ):
        after = self.refresh_with(fake_provider, due_connection, expires_in=None)
        assert after.expires_at is None
        assert timedelta(hours=23) < after.next_refresh_at - timezone.now() <= timedelta(hours=24)

    def test_no_expiry_no_refresh_token_is_never_on_a_timer(self, fake_provider, tenant):
        version = AuthVersionFactory(
            grant_type="client_credentials", refresh_request=None, authorization_url=""
        )
        connection = ConnectionFactory(tenant=tenant, auth_version=version, refresh_token=None)
        after = self.refresh_with(fake_provider, connection, expires_in=None, refresh_token=None)
        assert after.expires_at is None
        assert after.next_refresh_at is None

    def test_default_expires_in_applies_when_provider_sends_none(self, fake_provider, tenant):
        version = AuthVersionFactory(default_expires_in=7200, keepalive_seconds=None)
        connection = ConnectionFactory(tenant=tenant, auth_version=version)
        after = self.refresh_with(fake_provider, connection, expires_in=None)
        assert timedelta(minutes=119) < after.expires_at - timezone.now() <= timedelta(hours=2)
        assert after.next_refresh_at == after.expires_at - timedelta(seconds=300)

    def test_absolute_expires_at_is_used(self, fake_provider, tenant):
        version = AuthVersionFactory(
            token_response={"expires_at": "expiry"}, keepalive_seconds=None
        )
        connection = ConnectionFactory(tenant=tenant, auth_version=version)
        stamp = int((timezone.now() + timedelta(hours=5)).timestamp())
        after = self.refresh_with(fake_provider, connection, expires_in=None, expiry=stamp)
        assert int(after.expires_at.timestamp()) == stamp

    def test_long_lived_token_is_still_refreshed_within_keepalive(
        self, fake_provider, due_connection
    ):
        after = self.refresh_with(fake_provider, due_connection, expires_in=30 * 86400)
        assert after.next_refresh_at - timezone.now() <= timedelta(hours=24)

    def test_refresh_lead_is_the_clock_skew_margin(self, fake_provider, tenant):
        version = AuthVersionFactory(refresh_lead_seconds=600)
        connection = ConnectionFactory(tenant=tenant, auth_version=version)
        after = self.refresh_with(fake_provider, connection, expires_in=3600)
        assert after.expires_at - after.next_refresh_at == timedelta(seconds=600)
