"""Beat batches: one lock query, parallel provider calls, one write, and the per-connection rules."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from apps.connections import refresh
from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus, EventKind
from apps.connections.refresh import refresh_scheduled_batch
from apps.connections.tasks import refresh_batch, schedule_refreshes
from apps.webhooks.models import WebhookDelivery
from tests.connections.conftest import REVOKE_URL, TOKEN_URL
from tests.factories import AuthVersionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


def due(tenant, auth_version, **kwargs) -> Connection:
    return ConnectionFactory(
        tenant=tenant,
        auth_version=auth_version,
        expires_at=timezone.now() + timedelta(seconds=60),
        next_refresh_at=timezone.now() - timedelta(seconds=1),
        **kwargs,
    )


def answer_by_refresh_token(mock, answers: dict[str, tuple[int, dict]]) -> list[str]:
    """Token endpoint answering per refresh token; returns the refresh tokens it was sent, in order."""
    seen: list[str] = []
    lock = threading.Lock()

    def callback(request):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        token = parse_qs(body)["refresh_token"][0]
        with lock:
            seen.append(token)
        status, body = answers.get(
            token,
            (
                200,
                {"access_token": f"a-{token}", "refresh_token": f"n-{token}", "expires_in": 3600},
            ),
        )
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    mock.add_callback(responses.POST, TOKEN_URL, callback=callback)
    return seen


def test_a_batch_refreshes_every_due_connection_once_with_one_event_each(fake_provider, tenant):
    version = AuthVersionFactory()
    connections = [due(tenant, version, refresh_token=f"rt-{i}") for i in range(6)]
    seen = answer_by_refresh_token(fake_provider, {})
    scheduled_at = timezone.now()

    result = refresh_scheduled_batch(
        connection_ids=[str(c.pk) for c in connections], scheduled_at=scheduled_at
    )

    assert sorted(result.refreshed) == sorted(str(c.pk) for c in connections)
    assert sorted(seen) == sorted(f"rt-{i}" for i in range(6))
    for i, connection in enumerate(connections):
        stored = Connection.objects.get(pk=connection.pk)
        assert stored.access_token == f"a-rt-{i}"
        assert stored.refresh_token == f"n-rt-{i}"
        assert stored.last_refreshed_at >= scheduled_at
        assert stored.next_refresh_at > timezone.now() + timedelta(minutes=30)
        assert stored.updated_at >= scheduled_at
    events = ConnectionEvent.objects.filter(kind=EventKind.REFRESHED)
    assert sorted(str(e.connection_ref) for e in events) == sorted(str(c.pk) for c in connections)
    assert all(e.detail["rotated"] is True for e in events)

    # The same schedule again (a duplicated message): nothing is sent twice.
    again = refresh_scheduled_batch(
        connection_ids=[str(c.pk) for c in connections], scheduled_at=scheduled_at
    )
    assert len(again.not_needed) == 6
    assert not again.refreshed
    assert len(seen) == 6


def test_each_connection_of_a_batch_gets_its_own_outcome(fake_provider, tenant):
    version = AuthVersionFactory(revoke_request=REVOKE_URL)
    ok = due(tenant, version, refresh_token="rt-ok")
    dead = due(tenant, version, refresh_token="rt-dead")
    broken = due(tenant, version, refresh_token="rt-500", access_token="kept-access")
    garbage = due(tenant, version, refresh_token="rt-garbage", access_token="kept-too")
    recently = due(tenant, version, refresh_token="rt-recent")
    Connection.objects.filter(pk=recently.pk).update(
        last_refreshed_at=timezone.now() + timedelta(seconds=5)
    )
    reauth = due(tenant, version, refresh_token="rt-reauth", status=ConnectionStatus.NEEDS_REAUTH)
    no_refresh_token = due(tenant, version, refresh_token=None)
    seen = answer_by_refresh_token(
        fake_provider,
        {
            "rt-dead": (400, {"error": "invalid_grant"}),
            "rt-500": (500, {"error": "server_error"}),
            "rt-garbage": (200, {"unexpected": "shape"}),
        },
    )
    fake_provider.add(responses.POST, REVOKE_URL, status=200)
    ids = [str(c.pk) for c in (ok, dead, broken, garbage, recently, reauth, no_refresh_token)]

    result = refresh_scheduled_batch(connection_ids=ids, scheduled_at=timezone.now())

    assert result.refreshed == [str(ok.pk)]
    assert sorted(result.dead) == sorted([str(dead.pk), str(no_refresh_token.pk)])
    assert sorted(result.failed) == sorted([str(broken.pk), str(garbage.pk)])
    assert sorted(result.not_needed) == sorted([str(recently.pk), str(reauth.pk)])
    assert sorted(seen) == ["rt-500", "rt-dead", "rt-garbage", "rt-ok"]

    assert Connection.objects.get(pk=ok.pk).access_token == "a-rt-ok"
    for kept, access in ((broken, "kept-access"), (garbage, "kept-too")):
        stored = Connection.objects.get(pk=kept.pk)
        assert stored.access_token == access
        assert stored.status == ConnectionStatus.ACTIVE
        assert stored.failure_count == 1
        assert stored.last_error
    stored_dead = Connection.objects.get(pk=dead.pk)
    assert stored_dead.status == ConnectionStatus.NEEDS_REAUTH
    assert stored_dead.access_token is None
    assert stored_dead.refresh_token is None
    revoked = [c.request.body for c in fake_provider.calls if c.request.url == REVOKE_URL]
    # rt-dead's access and refresh tokens, and the access token of the one without a refresh token
    assert len(revoked) == 3
    assert any(b"rt-dead" in body for body in revoked)
    assert Connection.objects.get(pk=no_refresh_token.pk).status == ConnectionStatus.NEEDS_REAUTH
    assert Connection.objects.get(pk=reauth.pk).refresh_token == "rt-reauth"


def test_an_unexpected_error_in_one_call_does_not_undo_the_others(
    fake_provider, tenant, monkeypatch
):
    version = AuthVersionFactory()
    good = due(tenant, version, refresh_token="rt-good")
    bad = due(tenant, version, refresh_token="rt-bad", access_token="still-here")
    answer_by_refresh_token(fake_provider, {})
    real_send = refresh.http_client.send

    def send(built, **kwargs):
        if "rt-bad" in str(built.body):
            raise RuntimeError("a bug")
        return real_send(built, **kwargs)

    monkeypatch.setattr(refresh.http_client, "send", send)
    result = refresh_scheduled_batch(
        connection_ids=[str(good.pk), str(bad.pk)], scheduled_at=timezone.now()
    )
    assert result.refreshed == [str(good.pk)]
    assert result.failed == [str(bad.pk)]
    assert Connection.objects.get(pk=good.pk).access_token == "a-rt-good"
    stored_bad = Connection.objects.get(pk=bad.pk)
    assert stored_bad.access_token == "still-here"
    assert stored_bad.failure_count == 1


def test_refreshed_events_of_a_batch_become_webhook_deliveries(fake_provider, tenant):
    tenant.webhook_url = "https://hooks.example.com/plugsmith"
    tenant.webhook_secret = "whsec-test"
    tenant.webhook_events = ["connection.refreshed"]
    tenant.save()
    version = AuthVersionFactory()
    connections = [due(tenant, version, refresh_token=f"rt-{i}") for i in range(3)]
    answer_by_refresh_token(fake_provider, {})
    refresh_scheduled_batch(
        connection_ids=[str(c.pk) for c in connections], scheduled_at=timezone.now()
    )
    deliveries = WebhookDelivery.objects.filter(event_type="connection.refreshed")
    assert deliveries.count() == 3
    assert {d.payload["data"]["connection"]["id"] for d in deliveries} == {
        str(c.pk) for c in connections
    }


def test_without_row_locks_the_batch_refreshes_one_by_one(fake_provider, tenant, monkeypatch):
    version = AuthVersionFactory()
    connections = [due(tenant, version, refresh_token=f"rt-{i}") for i in range(3)]
    seen = answer_by_refresh_token(fake_provider, {"rt-2": (400, {"error": "invalid_grant"})})
    monkeypatch.setattr(db.features, "has_select_for_update_skip_locked", False)
    result = refresh_scheduled_batch(
        connection_ids=[str(c.pk) for c in connections] + ["00000000-0000-0000-0000-000000000000"],
        scheduled_at=timezone.now(),
    )
    assert sorted(seen) == ["rt-0", "rt-1", "rt-2"]
    assert sorted(result.refreshed) == sorted(str(c.pk) for c in connections[:2])
    assert result.dead == [str(connections[2].pk)]
    assert result.not_needed == ["00000000-0000-0000-0000-000000000000"]


def test_beat_tick_sends_batches_that_the_worker_refreshes(fake_provider, tenant, settings):
    settings.REFRESH_BATCH_SIZE = 2
    version = AuthVersionFactory()
    connections = [due(tenant, version, refresh_token=f"rt-{i}") for i in range(5)]
    seen = answer_by_refresh_token(fake_provider, {})
    assert schedule_refreshes() == 5
    assert sorted(seen) == sorted(f"rt-{i}" for i in range(5))
    assert all(
        Connection.objects.get(pk=c.pk).access_token.startswith("a-rt-") for c in connections
    )


@pytest.mark.django_db(transaction=True)
def test_a_connection_locked_elsewhere_is_handed_to_its_own_task(
    fake_provider, tenant, monkeypatch
):
    version = AuthVersionFactory()
    free, held = (
        due(tenant, version, refresh_token="rt-free"),
        due(tenant, version, refresh_token="rt-held"),
    )
    seen = answer_by_refresh_token(fake_provider, {})
    queued: list[tuple] = []
    monkeypatch.setattr(
        "apps.connections.tasks.refresh_connection.delay", lambda *args: queued.append(args)
    )
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        from django.db import connections

        with transaction.atomic():
            Connection.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        scheduled_at = timezone.now().isoformat()
        counts = refresh_batch([str(free.pk), str(held.pk)], scheduled_at)
    finally:
        release.set()
        holder.join()
    assert counts == {"refreshed": 1, "failed": 0, "dead": 0, "not_needed": 0, "busy": 1}
    assert seen == ["rt-free"]
    assert queued == [(str(held.pk), scheduled_at)]
