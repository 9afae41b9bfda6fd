"""A real Celery worker and beat (not eager) on Redis refresh a connection ahead of expiry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection as db

from apps.connections.models import Connection, ConnectionEvent, EventKind
from apps.connections.services import connect_with_code
from tests.provider.server import pkce_pair, query_params

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[2]
REDIRECT_URI = "http://testserver/oauth/callback/"


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_worker_and_beat_refresh_a_connection_ahead_of_expiry(
    tenant, oauth_provider_reset, provider_version, tmp_path
):
    provider = oauth_provider_reset
    version = provider_version("pkce", refresh_lead_seconds=3590)
    verifier, challenge = pkce_pair()
    location = provider.login_and_authorize(
        provider.authorization_url("pkce", redirect_uri=REDIRECT_URI, code_challenge=challenge)
    )
    connection = connect_with_code(
        tenant=tenant, auth_version=version, code=query_params(location)["code"],
        redirect_uri=REDIRECT_URI, code_verifier=verifier,
    )  # fmt: skip
    old_access, expires_at = connection.access_token, connection.expires_at
    db_settings = db.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{db_settings['USER']}@{db_settings['HOST']}:{db_settings['PORT']}/{db_settings['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "REFRESH_SWEEP_SECONDS": "1",
    }
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the test process itself enqueues nothing
    worker = start(
        ["worker", "--pool=threads", "-c", "4", "--loglevel=INFO"], env, tmp_path / "worker.log"
    )
    beat = start(
        ["beat", "-s", str(tmp_path / "schedule"), "--loglevel=INFO"], env, tmp_path / "beat.log"
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ConnectionEvent.objects.filter(
                connection_ref=connection.pk, kind=EventKind.REFRESHED
            ).exists():
                break
            time.sleep(0.5)
        else:
            pytest.fail(
                "no refresh within 60 s\n"
                + (tmp_path / "worker.log").read_text()[-3000:]
                + (tmp_path / "beat.log").read_text()[-2000:]
            )
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(20)
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.access_token != old_access
    assert stored.last_refreshed_at < expires_at
    assert stored.status == "active"
    assert provider.token_requests("refresh_token") == 1
    assert provider.token_is_active(stored.access_token)
