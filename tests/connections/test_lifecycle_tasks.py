"""Beat tasks, the refresh_due command, purging, health checks and the SQLite claim lock."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection as db
from django.utils import timezone

from apps.connections import locking
from apps.connections.models import Connection, ConnectionEvent, EventKind
from apps.connections.refresh import CLAIM_DELAY, claim_due_connections, schedule_due_refreshes
from apps.connections.tasks import health_checks, refresh_connection, schedule_refreshes
from apps.oauth.models import AuthorizationAttempt
from apps.oauth.tasks import purge_authorization_attempts
from tests.connections.conftest import ME, add_me, add_token, token_body
from tests.factories import AuthVersionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


def due(tenant, **kwargs) -> Connection:
    return ConnectionFactory(
        tenant=tenant,
        expires_at=timezone.now() + timedelta(seconds=60),
        next_refresh_at=timezone.now() - timedelta(seconds=1),
        **kwargs,
    )


def test_claim_takes_only_due_schedulable_connections_and_pushes_them_forward(tenant):
    now = timezone.now()
    ready = due(tenant)
    due(tenant, status="needs_reauth")
    due(tenant, status="revoked")
    ConnectionFactory(tenant=tenant, next_refresh_at=now + timedelta(minutes=10))
    ConnectionFactory(tenant=tenant, next_refresh_at=None)
    assert claim_due_connections(now=now, limit=100) == [str(ready.pk)]
    assert Connection.objects.get(pk=ready.pk).next_refresh_at == now + CLAIM_DELAY
    assert claim_due_connections(now=now, limit=100) == []


def test_schedule_works_in_batches(tenant):
    for _ in range(7):
        due(tenant)
    messages: list[list[str]] = []
    assert (
        schedule_due_refreshes(
            enqueue=lambda ids, at: messages.append(ids), batch_size=3, message_size=2
        )
        == 7
    )
    assert [len(ids) for ids in messages] == [2, 1, 2, 1, 1]
    assert len({cid for ids in messages for cid in ids}) == 7


def test_beat_task_refreshes_due_connections(fake_provider, tenant):
    connection = due(tenant)
    add_token(fake_provider, body=token_body(access_token="from-beat"))
    assert schedule_refreshes() == 1
    assert Connection.objects.get(pk=connection.pk).access_token == "from-beat"


def test_duplicate_task_message_does_no_harm(fake_provider, tenant):
    connection = due(tenant)
    add_token(fake_provider, body=token_body(access_token="once"))
    scheduled_at = timezone.now().isoformat()
    refresh_connection.delay(str(connection.pk), scheduled_at)
    refresh_connection.delay(str(connection.pk), scheduled_at)
    assert len(fake_provider.calls) == 1
    assert ConnectionEvent.objects.filter(kind=EventKind.REFRESHED).count() == 1


def test_task_for_a_deleted_connection_is_a_no_op(fake_provider):
    refresh_connection.delay("00000000-0000-0000-0000-000000000000", timezone.now().isoformat())
    assert len(fake_provider.calls) == 0


def test_refresh_due_command_refreshes_with_a_summary(fake_provider, tenant):
    due(tenant)
    ConnectionFactory(tenant=tenant, next_refresh_at=timezone.now() + timedelta(hours=1))
    add_token(fake_provider)
    out = StringIO()
    call_command("refresh_due", stdout=out, stderr=StringIO())
    assert "1 refreshed, 0 failed, of 1 due." in out.getvalue()


def test_refresh_due_all_refreshes_every_active_connection(fake_provider, tenant):
    due(tenant)
    ConnectionFactory(tenant=tenant, next_refresh_at=timezone.now() + timedelta(hours=1))
    add_token(fake_provider)
    add_token(fake_provider)
    out = StringIO()
    call_command("refresh_due", all=True, stdout=out, stderr=StringIO())
    assert "2 refreshed" in out.getvalue()


def test_purge_deletes_only_expired_attempts(tenant):
    version = AuthVersionFactory()
    common = {
        "tenant": tenant,
        "auth_version": version,
        "redirect_uri": "http://testserver/oauth/callback/",
    }
    AuthorizationAttempt.objects.create(
        state_hash="a" * 64,
        browser_binding_hash="b",
        expires_at=timezone.now() - timedelta(seconds=1),
        **common,
    )
    live = AuthorizationAttempt.objects.create(
        state_hash="c" * 64,
        browser_binding_hash="d",
        expires_at=timezone.now() + timedelta(minutes=5),
        **common,
    )
    assert purge_authorization_attempts() == 1
    assert list(AuthorizationAttempt.objects.all()) == [live]
    assert purge_authorization_attempts() == 0


def test_health_checks_test_connections_whose_version_asks(fake_provider, tenant):
    checked = ConnectionFactory(
        tenant=tenant, auth_version=AuthVersionFactory(health_check_seconds=3600)
    )
    ConnectionFactory(tenant=tenant)
    ConnectionFactory(
        tenant=tenant,
        auth_version=AuthVersionFactory(health_check_seconds=3600),
        last_tested_at=timezone.now() - timedelta(minutes=5),
    )
    add_me(fake_provider)
    assert health_checks() == 1
    stored = Connection.objects.get(pk=checked.pk)
    assert stored.last_tested_at is not None
    assert stored.me == ME


def test_claim_lock_serialises_where_row_locks_are_missing(fake_provider, tenant, monkeypatch):
    """The SQLite path: a claim column instead of SELECT FOR UPDATE."""
    monkeypatch.setattr(db.features, "has_select_for_update", False)
    monkeypatch.setattr(locking, "CLAIM_SECONDS", 60)
    connection = due(tenant)
    with locking.locked_connection(connection.pk) as held:
        assert Connection.objects.get(pk=held.pk).refresh_lock_until is not None
        with (
            pytest.raises(locking.ConnectionBusy),
            locking.locked_connection(connection.pk, wait_seconds=0.2),
        ):
            pass
    assert Connection.objects.get(pk=connection.pk).refresh_lock_until is None
    Connection.objects.filter(pk=connection.pk).update(
        refresh_lock_until=timezone.now() - timedelta(seconds=1)
    )
    with locking.locked_connection(connection.pk, wait_seconds=0.2):
        pass  # an expired claim (a crashed worker) does not block forever
