"""Connection services against a faked provider: bad answers, upsert, refresh, test, disconnect."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from apps.connections import services
from apps.connections.models import Connection, ConnectionEvent
from apps.plugins.errors import (
    InvalidGrant,
    ProviderError,
    TemplateError,
    TransientProviderError,
    UrlNotAllowedError,
)
from tests.connections.conftest import (
    ME,
    ME_URL,
    REVOKE_URL,
    add_me,
    add_token,
    form_of,
    token_body,
)
from tests.factories import AuthVersionFactory, ConnectionFactory, TenantFactory

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = (
    "label",
    "unique_identifier",
    "status",
    "access_token",
    "refresh_token",
    "token_response",
    "expires_at",
    "field_values",
    "auth_version_id",
    "failure_count",
)


def snapshot(connection: Connection) -> dict:
    fresh = Connection.objects.get(pk=connection.pk)
    return {name: getattr(fresh, name) for name in SNAPSHOT_FIELDS}


def connect(tenant, version, **kwargs):
    return services.connect_with_code(
        tenant=tenant,
        auth_version=version,
        code="the-authorization-code",
        redirect_uri="http://testserver/oauth/callback/",
        code_verifier="the-code-verifier",
        **kwargs,
    )


@pytest.fixture
def version(db):
    return AuthVersionFactory()


# Connecting


def test_connect_sends_the_code_and_verifier_and_stores_the_connection(
    fake_provider, tenant, version
):
    token_call = add_token(fake_provider)
    add_me(fake_provider)

    connection = connect(tenant, version)

    sent = form_of(token_call.calls[0])
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "the-authorization-code"
    assert sent["code_verifier"] == "the-code-verifier"
    assert sent["redirect_uri"] == "http://testserver/oauth/callback/"
    assert connection.label == "Jane Doe"
    assert connection.unique_identifier == "acct-42"
    assert connection.me == ME
    assert connection.token_type == "Bearer"
    assert connection.granted_scopes == ["read", "profile"]
    assert connection.next_refresh_at == connection.expires_at - timedelta(seconds=300)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"body": "<html><body>Bad gateway</body></html>", "content_type": "text/html"},
            "unreadable answer",
        ),
        ({"body": ""}, "unreadable answer"),
        ({"body": '{"access_token": ', "content_type": "application/json"}, "unreadable answer"),
        ({"body": {"token_type": "bearer"}}, "no access token"),
        ({"body": "x" * (1024 * 1024 + 1), "content_type": "application/json"}, "too large"),
        (
            {"status": 401, "body": {"error": "invalid_client", "error_description": "Bad client"}},
            "invalid_client: Bad client",
        ),
        (
            {"status": 400, "body": {"error": "invalid_grant", "error_description": "Code used"}},
            "invalid_grant: Code used",
        ),
    ],
)
def test_bad_token_answers_give_a_clear_error_and_create_nothing(
    fake_provider, tenant, version, answer, expected
):
    add_token(fake_provider, **answer)

    with pytest.raises(ProviderError) as excinfo:
        connect(tenant, version)

    assert expected in str(excinfo.value)
    assert not Connection.objects.exists()
    assert not ConnectionEvent.objects.exists()


def test_invalid_grant_is_typed(fake_provider, tenant, version):
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})

    with pytest.raises(InvalidGrant):
        connect(tenant, version)


def test_the_code_exchange_is_never_retried(fake_provider, tenant, version):
    token_call = add_token(fake_provider, status=503, body={"error": "temporarily_unavailable"})

    with pytest.raises(TransientProviderError):
        connect(tenant, version)

    assert token_call.call_count == 1


def test_failed_reconnect_records_an_event_and_leaves_the_connection_as_it_was(
    fake_provider, tenant, version
):
    existing = ConnectionFactory(tenant=tenant, auth_version=version, unique_identifier="acct-42")
    before = snapshot(existing)
    add_token(fake_provider, body="<html>oops</html>", content_type="text/html")

    with pytest.raises(ProviderError):
        connect(tenant, version, reconnect=existing)

    assert snapshot(existing) == before
    event = ConnectionEvent.objects.get()
    assert event.kind == "reconnect_failed"
    assert event.connection_ref == existing.pk
    assert "unreadable answer" in event.detail["message"]


def test_a_failing_test_api_gives_its_error_and_creates_nothing(fake_provider, tenant, version):
    add_token(fake_provider)
    fake_provider.add(
        responses.GET, ME_URL, status=403, json={"error": "insufficient_scope", "message": "No"}
    )

    with pytest.raises(ProviderError) as excinfo:
        connect(tenant, version)

    assert "The test API answered HTTP 403: No" in str(excinfo.value)
    assert not Connection.objects.exists()


def test_a_test_api_answering_html_is_a_clear_error(fake_provider, tenant, version):
    add_token(fake_provider)
    fake_provider.add(responses.GET, ME_URL, body="<html></html>", content_type="text/html")

    with pytest.raises(ProviderError, match="did not answer with JSON"):
        connect(tenant, version)

    assert not Connection.objects.exists()


@pytest.mark.parametrize("template_field", ["connection_label", "unique_identifier"])
def test_a_template_with_a_missing_value_names_it_and_creates_nothing(
    fake_provider, tenant, template_field
):
    version = AuthVersionFactory(**{template_field: "{{ me.account.number }}"})
    add_token(fake_provider)
    add_me(fake_provider)

    with pytest.raises(TemplateError, match=r"me\.account\.number"):
        connect(tenant, version)

    assert not Connection.objects.exists()


def test_the_test_call_is_held_to_allowed_urls(fake_provider, tenant):
    version = AuthVersionFactory(allowed_urls=["https://api.elsewhere.example/"])
    add_token(fake_provider)

    with pytest.raises(UrlNotAllowedError):
        connect(tenant, version)

    assert not Connection.objects.exists()


def test_connecting_the_same_account_again_updates_it(fake_provider, tenant, version):
    add_token(fake_provider)
    add_me(fake_provider)
    first = connect(tenant, version, field_values={"region": "eu"})
    newer = AuthVersionFactory(plugin=version.plugin)
    Connection.objects.filter(pk=first.pk).update(status="needs_reauth", failure_count=4)

    second = connect(tenant, newer, field_values={"region": "us"})

    assert second.pk == first.pk
    assert Connection.objects.count() == 1
    second.refresh_from_db()
    assert second.auth_version == newer
    assert second.field_values == {"region": "us"}
    assert (second.status, second.failure_count) == ("active", 0)
    assert list(ConnectionEvent.objects.order_by("id").values_list("kind", flat=True)) == [
        "created",
        "reconnected",
    ]


def test_the_same_account_in_another_tenant_is_another_connection(fake_provider, tenant, version):
    add_token(fake_provider)
    add_me(fake_provider)

    first = connect(tenant, version)
    second = connect(TenantFactory(), version)

    assert first.pk != second.pk


def test_an_insert_race_becomes_an_update(fake_provider, tenant, version, monkeypatch):
    existing = ConnectionFactory(tenant=tenant, auth_version=version, unique_identifier="acct-42")
    add_token(fake_provider)
    add_me(fake_provider)
    # The other request's row is not visible to our first lookup, as under a real race.
    real_lookup = services._locked_connection
    calls = []

    def late_lookup(**lookup):
        calls.append(lookup)
        return None if len(calls) == 1 else real_lookup(**lookup)

    monkeypatch.setattr(services, "_locked_connection", late_lookup)

    connection = connect(tenant, version)

    assert connection.pk == existing.pk
    assert Connection.objects.count() == 1
    assert ConnectionEvent.objects.get().kind == "reconnected"


def test_reconnecting_with_another_account_is_refused(fake_provider, tenant, version):
    existing = ConnectionFactory(tenant=tenant, auth_version=version, unique_identifier="acct-1")
    before = snapshot(existing)
    add_token(fake_provider)
    add_me(fake_provider)

    with pytest.raises(services.ConnectError, match="You signed in as Jane Doe"):
        connect(tenant, version, reconnect=existing)

    assert snapshot(existing) == before
    assert Connection.objects.count() == 1
    assert ConnectionEvent.objects.get().kind == "reconnect_failed"


@pytest.mark.parametrize(
    ("token_fields", "default_expires_in", "expected_seconds"),
    [
        ({"expires_in": 120}, None, 120),
        ({"expires_in": None, "expires_at": "2099-01-01T00:00:00Z"}, None, None),
        ({"expires_in": None}, 600, 600),
        ({"expires_in": None}, None, None),
    ],
)
def test_expiry_comes_from_expires_in_expires_at_or_the_default(
    fake_provider, tenant, token_fields, default_expires_in, expected_seconds
):
    version = AuthVersionFactory(default_expires_in=default_expires_in)
    add_token(fake_provider, body=token_body(**token_fields))
    add_me(fake_provider)

    connection = connect(tenant, version)

    if "expires_at" in token_fields:
        assert connection.expires_at.year == 2099
    elif expected_seconds is None:
        assert connection.expires_at is None
        # A refresh token without expiry is still refreshed every keepalive_seconds.
        assert connection.next_refresh_at > timezone.now() + timedelta(seconds=86000)
    else:
        lifetime = (connection.expires_at - timezone.now()).total_seconds()
        assert expected_seconds - 5 < lifetime <= expected_seconds


def test_no_refresh_token_and_no_expiry_means_no_scheduled_refresh(fake_provider, tenant, version):
    add_token(fake_provider, body=token_body(expires_in=None, refresh_token=None))
    add_me(fake_provider)

    connection = connect(tenant, version)

    assert connection.expires_at is None
    assert connection.next_refresh_at is None


def test_events_never_contain_secrets(fake_provider, tenant, version):
    add_token(fake_provider)
    add_me(fake_provider)
    connection = connect(tenant, version)
    fake_provider.add(responses.POST, REVOKE_URL, status=503, body="down")
    services.disconnect(connection=connection)

    dumped = str(list(ConnectionEvent.objects.values("detail")))
    for secret in (
        "new-access-token",
        "new-refresh-token",
        "the-authorization-code",
        "client-secret",
    ):
        assert secret not in dumped


# Refresh


def test_refresh_keeps_the_old_refresh_token_when_the_provider_sends_none(fake_provider):
    connection = ConnectionFactory(refresh_token="old-refresh-token-xyz")
    call = add_token(fake_provider, body=token_body(refresh_token=None, access_token="fresh-at-1"))

    services.refresh_tokens(connection)

    connection.refresh_from_db()
    assert form_of(call.calls[0])["refresh_token"] == "old-refresh-token-xyz"
    assert form_of(call.calls[0])["grant_type"] == "refresh_token"
    assert connection.access_token == "fresh-at-1"
    assert connection.refresh_token == "old-refresh-token-xyz"
    assert connection.last_refreshed_at is not None
    assert connection.next_refresh_at == connection.expires_at - timedelta(seconds=300)
    assert ConnectionEvent.objects.get().kind == "refreshed"


def test_refresh_stores_a_rotated_refresh_token(fake_provider):
    connection = ConnectionFactory(refresh_token="old-refresh-token-xyz")
    add_token(fake_provider, body=token_body(refresh_token="rotated-refresh-token"))

    services.refresh_tokens(connection)

    connection.refresh_from_db()
    assert connection.refresh_token == "rotated-refresh-token"


def test_client_credentials_refresh_asks_for_a_new_token_the_same_way(fake_provider):
    version = AuthVersionFactory(grant_type="client_credentials", refresh_request=None)
    connection = ConnectionFactory(auth_version=version, refresh_token=None)
    call = add_token(fake_provider, body=token_body(refresh_token=None, access_token="cc-2"))

    services.refresh_tokens(connection)

    assert form_of(call.calls[0])["grant_type"] == "client_credentials"
    connection.refresh_from_db()
    assert connection.access_token == "cc-2"


def test_refresh_failure_leaves_the_connection_unchanged(fake_provider):
    connection = ConnectionFactory()
    before = snapshot(connection)
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})

    with pytest.raises(InvalidGrant):
        services.refresh_tokens(connection)

    assert snapshot(connection) == before


# Test


def test_test_connection_updates_label_me_and_last_tested_at(fake_provider):
    connection = ConnectionFactory(label="Old label")
    add_me(fake_provider)

    services.test_connection(connection=connection)

    connection.refresh_from_db()
    assert connection.label == "Jane Doe"
    assert connection.me == ME
    assert connection.last_tested_at is not None
    assert ConnectionEvent.objects.get().kind == "tested"


def test_an_expired_token_status_refreshes_once_then_retests(fake_provider):
    connection = ConnectionFactory()
    fake_provider.add(responses.GET, ME_URL, status=401, json={"error": "invalid_token"})
    add_me(fake_provider)
    refresh = add_token(fake_provider)

    services.test_connection(connection=connection)

    connection.refresh_from_db()
    assert refresh.call_count == 1
    assert connection.status == "active"
    assert connection.access_token == "new-access-token-abcdef"
    kinds = list(ConnectionEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["refreshed", "tested"]


def test_still_expired_after_refresh_marks_needs_reauth(fake_provider):
    version = AuthVersionFactory(expired_token_statuses=[401, 403])
    connection = ConnectionFactory(auth_version=version)
    fake_provider.add(responses.GET, ME_URL, status=403, json={"error": "expired"})
    refresh = add_token(fake_provider)

    with pytest.raises(ProviderError):
        services.test_connection(connection=connection)

    connection.refresh_from_db()
    assert refresh.call_count == 1
    assert connection.status == "needs_reauth"
    kinds = list(ConnectionEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["refreshed", "needs_reauth"]


def test_a_dead_refresh_token_marks_needs_reauth(fake_provider):
    connection = ConnectionFactory()
    fake_provider.add(responses.GET, ME_URL, status=401, json={"error": "invalid_token"})
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})

    with pytest.raises(InvalidGrant):
        services.test_connection(connection=connection)

    connection.refresh_from_db()
    assert connection.status == "needs_reauth"
    kinds = list(ConnectionEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["refresh_failed", "needs_reauth"]


def test_a_failing_test_api_records_test_failed_and_keeps_the_status(fake_provider):
    connection = ConnectionFactory()
    fake_provider.add(responses.GET, ME_URL, status=500, body="boom")

    with pytest.raises(ProviderError):
        services.test_connection(connection=connection)

    connection.refresh_from_db()
    assert connection.status == "active"
    assert "HTTP 500" in connection.last_error
    assert ConnectionEvent.objects.get().kind == "test_failed"


# Disconnect


def test_disconnect_revokes_refresh_and_access_tokens(fake_provider):
    connection = ConnectionFactory(access_token="at-123456789", refresh_token="rt-123456789")
    revoke = fake_provider.add(responses.POST, REVOKE_URL, status=200)

    services.disconnect(connection=connection)

    sent = [form_of(call) for call in revoke.calls]
    assert [(s["token"], s["token_type_hint"]) for s in sent] == [
        ("rt-123456789", "refresh_token"),
        ("at-123456789", "access_token"),
    ]
    connection.refresh_from_db()
    assert connection.status == "revoked"
    assert (connection.access_token, connection.refresh_token) == (None, None)
    assert ConnectionEvent.objects.get().kind == "revoked"


def test_a_failing_revoke_is_recorded_but_never_blocks(fake_provider):
    connection = ConnectionFactory()
    fake_provider.add(responses.POST, REVOKE_URL, status=500, body="down")

    services.disconnect(connection=connection)

    connection.refresh_from_db()
    assert connection.status == "revoked"
    assert connection.access_token is None
    kinds = set(ConnectionEvent.objects.values_list("kind", flat=True))
    assert kinds == {"revoke_failed", "revoked"}


def test_disconnect_without_a_revoke_request_just_clears_tokens(fake_provider):
    version = AuthVersionFactory(revoke_request=None)
    connection = ConnectionFactory(auth_version=version)

    services.disconnect(connection=connection)

    connection.refresh_from_db()
    assert connection.status == "revoked"
    assert connection.access_token is None
    assert not fake_provider.calls
