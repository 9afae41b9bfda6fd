"""`manage.py demo`: everything a newcomer needs, created once, idempotent, refused when disabled.

The demo provider's app is installed only when DEMO_PROVIDER_ENABLED is on at start, so the
enabled runs happen in a subprocess on a fresh SQLite database, as `make run` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.demo_provider.demo import DEMO_PROVIDER_PASSWORD, DEMO_USER_EMAIL, DEMO_USER_PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[2]

# Printed as JSON by the subprocess after the command ran.
INSPECT = """
import json
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model
from apps.plugins.models import AuthVersion, Plugin
from apps.tenants.models import Membership, Tenant
user = get_user_model().objects.get(username="demo@plugsmith.local")
crm = AuthVersion.objects.filter(plugin__slug="demo-crm").latest("version")
service = AuthVersion.objects.filter(plugin__slug="demo-crm-service").latest("version")
print(json.dumps({
    "users": get_user_model().objects.count(),
    "tenants": list(Tenant.objects.values_list("slug", "name")),
    "roles": list(Membership.objects.values_list("tenant__slug", "user__username", "role")),
    "staff": [user.is_staff, user.is_superuser],
    "password_ok": user.check_password("plugsmith-demo"),
    "plugins": sorted(Plugin.objects.values_list("slug", flat=True)),
    "versions": AuthVersion.objects.count(),
    "crm": [crm.version, crm.grant_type, crm.status, crm.pkce, crm.test_request, crm.connection_label,
            crm.unique_identifier, crm.request_params, crm.refresh_lead_seconds,
            bool(crm.revoke_request), bool(crm.refresh_request), crm.client_id],
    "service": [service.grant_type, service.status, service.client_id],
    "redirect_uris": get_application_model().objects.get(client_id="demo-pkce").redirect_uris,
    "crm_secret_matches": crm.client_secret
        == get_application_model().objects.get(client_id="demo-pkce").client_secret,
}))
"""


def _run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """A migrated SQLite database with the demo provider enabled, as `make run` has it."""
    workdir = tmp_path_factory.mktemp("demo")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE="/nonexistent",
        DEBUG="true",
        DEMO_PROVIDER_ENABLED="true",
        DATABASE_URL=f"sqlite:///{workdir / 'demo.sqlite3'}",
        PUBLIC_BASE_URL="http://localhost:8000",
        DEMO_PROVIDER_BASE_URL="http://127.0.0.1:8000",
    )
    _run(env, "migrate", "--noinput", "-v", "0")
    return env


@pytest.fixture(scope="module")
def first_run(demo_env) -> str:
    return _run(demo_env, "demo")


def _inspect(env: dict[str, str]) -> dict:
    return json.loads(_run(env, "shell", "-c", INSPECT).strip().splitlines()[-1])


def test_creates_the_tenant_user_provider_and_plugins(demo_env, first_run):
    state = _inspect(demo_env)

    assert state["tenants"] == [["demo", "Demo Company"]]
    assert state["roles"] == [["demo", DEMO_USER_EMAIL, "owner"]]
    assert state["staff"] == [True, True]
    assert state["password_ok"]
    assert state["users"] == 2  # the portal's demo user and the provider's resource owner
    assert state["plugins"] == ["demo-crm", "demo-crm-service"]
    assert state["crm"] == [
        1,
        "authorization_code",
        "published",
        True,
        "http://127.0.0.1:8000/demo-provider/api/me",
        "{{ me.name }}",
        "{{ me.id }}",
        {"headers": {"Authorization": "Bearer {{ access_token }}"}},
        30,
        True,
        True,
        "demo-pkce",
    ]
    assert state["service"] == ["client_credentials", "published", "demo-service"]
    assert state["redirect_uris"] == "http://localhost:8000/oauth/callback/"
    assert state["crm_secret_matches"]


def test_prints_where_to_go_and_both_logins(first_run):
    assert "open http://localhost:8000/" in first_run
    assert f"{DEMO_USER_EMAIL} / {DEMO_USER_PASSWORD}" in first_run
    assert f"demo / {DEMO_PROVIDER_PASSWORD}" in first_run
    assert "http://127.0.0.1:8000/demo-provider/" in first_run
    assert "Demo CRM: created v1" in first_run


def test_second_run_changes_nothing(demo_env, first_run):
    before = _inspect(demo_env)

    second = _run(demo_env, "demo")

    assert "Demo CRM: unchanged v1" in second
    assert "Demo CRM service account: unchanged v1" in second
    assert _inspect(demo_env) == before


def test_a_moved_provider_gets_a_new_plugin_version(demo_env, first_run, tmp_path):
    copy = tmp_path / "moved.sqlite3"
    shutil.copyfile(demo_env["DATABASE_URL"].removeprefix("sqlite:///"), copy)
    moved = {
        **demo_env,
        "DATABASE_URL": f"sqlite:///{copy}",
        "DEMO_PROVIDER_BASE_URL": "http://127.0.0.1:8001",
    }

    output = _run(moved, "demo")

    assert "Demo CRM: created v2" in output
    crm = _inspect(moved)["crm"]
    assert crm[:2] == [2, "authorization_code"]
    assert crm[4] == "http://127.0.0.1:8001/demo-provider/api/me"


@override_settings(DEMO_PROVIDER_ENABLED=False)
def test_refuses_when_the_demo_provider_is_disabled(db):
    with pytest.raises(CommandError, match="DEMO_PROVIDER_ENABLED=true"):
        call_command("demo")
