"""Refresh under real concurrency: real PostgreSQL row locks, real threads, a real provider."""

from __future__ import annotations

import json
import queue
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import close_old_connections, connections
from django.utils import timezone

from apps.connections.models import Connection, ConnectionStatus
from apps.connections.refresh import (
    ConnectionNeedsReauth,
    connection_refresh,
    get_fresh_credentials,
    refresh_scheduled_batch,
    schedule_due_refreshes,
)
from apps.connections.services import connect_with_code
from apps.webhooks.services import webhook_secret_rotate
from apps.webhooks.signing import SIGNATURE_HEADER, verify
from tests.factories import AuthVersionFactory, ConnectionFactory, PluginFactory
from tests.provider.server import pkce_pair, query_params
from tests.webhooks.test_webhooks import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
REDIRECT_URI = "http://testserver/oauth/callback/"


def in_threads(count: int, work) -> list:
    """Run `work()` in `count` threads started together; return results (exceptions included)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def real_connection(tenant, oauth_provider_reset, provider_version):
    """A connection made through the provider's real authorization code flow (rotating refresh tokens)."""
    provider = oauth_provider_reset
    version = provider_version("pkce")
    verifier, challenge = pkce_pair()
    location = provider.login_and_authorize(
        provider.authorization_url("pkce", redirect_uri=REDIRECT_URI, code_challenge=challenge)
    )
    return connect_with_code(
        tenant=tenant,
        auth_version=version,
        code=query_params(location)["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )


def expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_sixteen_concurrent_callers_share_exactly_one_refresh(
    real_connection, oauth_provider_reset
):
    provider = oauth_provider_reset
    first_refresh_token = real_connection.refresh_token
    for round_number in (1, 2):
        expire(real_connection)
        provider.expire_access_tokens()
        before = provider.token_requests("refresh_token")

        def fetch() -> str:
            connection = Connection.objects.select_related("auth_version", "plugin").get(
                pk=real_connection.pk
            )
            return get_fresh_credentials(connection=connection).access_token

        results = in_threads(16, fetch)
        assert not [r for r in results if isinstance(r, Exception)], results
        assert len(set(results)) == 1
        assert provider.token_requests("refresh_token") - before == 1, f"round {round_number}"
        stored = Connection.objects.get(pk=real_connection.pk)
        assert stored.status == ConnectionStatus.ACTIVE
        assert stored.access_token == results[0]
        assert provider.token_is_active(results[0])
    assert stored.refresh_token != first_refresh_token


def test_invalid_grant_marks_needs_reauth_and_sends_a_signed_webhook(
    real_connection, oauth_provider_reset, tenant
):
    provider = oauth_provider_reset
    receiver = Receiver()
    try:
        tenant.webhook_url = receiver.url
        tenant.save()
        secret = webhook_secret_rotate(tenant=tenant)
        old_access = real_connection.access_token
        provider.fail_next(
            status=400, body={"error": "invalid_grant", "error_description": "revoked by admin"}
        )
        with pytest.raises(ConnectionNeedsReauth):
            connection_refresh(connection_id=real_connection.pk, force=True)
        stored = Connection.objects.get(pk=real_connection.pk)
        assert stored.status == ConnectionStatus.NEEDS_REAUTH
        assert stored.access_token is None
        assert not provider.token_is_active(old_access)
        [(headers, body)] = [
            r for r in receiver.requests if r[0]["Plugsmith-Event"] == "connection.needs_reauth"
        ]
        assert verify(secret=secret, body=body, header=headers[SIGNATURE_HEADER])
        assert json.loads(body)["data"]["detail"]["provider_error"] == "invalid_grant"
    finally:
        receiver.server.shutdown()


class CountingTokenServer:
    """A loopback token endpoint that counts refreshes per refresh token and rotates them."""

    def __init__(self, delay: float = 0.0) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                token = form["refresh_token"][0]
                with server.lock:
                    server.counts[token] += 1
                body = json.dumps(
                    {
                        "access_token": f"a-{token}",
                        "refresh_token": f"r2-{token}",
                        "expires_in": 3600,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_two_sweeps_and_two_workers_refresh_each_connection_exactly_once(tenant):
    server = CountingTokenServer()
    try:
        plugin = PluginFactory(api_base_url="http://127.0.0.1/")
        version = AuthVersionFactory(
            plugin=plugin, refresh_request=server.url, token_request=server.url
        )
        past = timezone.now() - timedelta(seconds=5)
        for i in range(200):
            ConnectionFactory(
                tenant=tenant,
                auth_version=version,
                refresh_token=f"rt-{i}",
                next_refresh_at=past,
                expires_at=timezone.now() + timedelta(seconds=60),
            )
        work: queue.Queue = queue.Queue()

        def sweep() -> int:
            # Every message is enqueued twice: a duplicate delivery must do no harm.
            def enqueue(connection_ids: list[str], scheduled_at: str) -> None:
                work.put((connection_ids, scheduled_at))
                work.put((connection_ids, scheduled_at))

            return schedule_due_refreshes(enqueue=enqueue, batch_size=25, message_size=5)

        def worker() -> int:
            done = 0
            while True:
                try:
                    connection_ids, scheduled_at = work.get(timeout=5)
                except queue.Empty:
                    return done
                close_old_connections()
                at = timezone.datetime.fromisoformat(scheduled_at)
                # As the refresh_batch task: a batch, then one by one what another worker held.
                result = refresh_scheduled_batch(connection_ids=connection_ids, scheduled_at=at)
                for connection_id in result.busy:
                    connection_refresh(connection_id=connection_id, scheduled_at=at)
                done += 1

        def caller() -> int:
            # A service asking for credentials meanwhile: its refreshes count too, once.
            close_old_connections()
            for connection in Connection.objects.select_related("auth_version", "plugin"):
                get_fresh_credentials(connection=connection, min_validity=120)
            return 0

        results = in_threads(5, lambda: None)  # warm up thread-local connections
        assert results == [None] * 5
        sweeps_and_workers = [sweep, sweep, worker, worker, caller]
        results = in_threads(5, lambda: sweeps_and_workers.pop()())
        assert not [r for r in results if isinstance(r, Exception)], results
        assert len(server.counts) == 200
        assert set(server.counts.values()) == {1}
        assert Connection.objects.filter(refresh_token__isnull=False).count() == 200
        assert all(c.refresh_token.startswith("r2-rt-") for c in Connection.objects.all())
    finally:
        server.httpd.shutdown()
