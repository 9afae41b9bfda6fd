"""Production settings: strict deployment checks, loud failure on a missing secret."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: the test process's own (test settings) variables must not leak in.
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    base |= {"DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "/nonexistent", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "plugsmith.example.com",
    "PUBLIC_BASE_URL": "https://plugsmith.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def test_check_deploy_passes_with_a_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_missing_secret_fails_loudly_in_production(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_development_defaults_are_flagged_by_the_deploy_check():
    result = manage(
        "check", "--deploy", **{**PRODUCTION, "DEBUG": "true", "FIELD_ENCRYPTION_KEYS": ""}
    )
    assert "plugsmith.W001" in result.stderr + result.stdout


def test_a_malformed_encryption_key_is_an_error():
    result = manage("check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"})
    assert result.returncode != 0
    assert "plugsmith.E001" in result.stderr + result.stdout
