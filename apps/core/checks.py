"""Deployment checks: `python manage.py check --deploy` refuses unsafe production settings."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

_DEV_MARKERS = ("insecure-dev", "ZGV2LW9ubHk")


@register(Tags.security)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every FIELD_ENCRYPTION_KEYS entry must be a valid Fernet key."""
    errors = []
    for index, key in enumerate(settings.FIELD_ENCRYPTION_KEYS):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEYS[{index}] is not a Fernet key (32 url-safe base64 bytes).",
                    hint='Generate one: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"',
                    id="plugsmith.E001",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Development fallbacks and http URLs have no place in production."""
    warnings: list[Warning] = []
    if any(m in settings.FIELD_ENCRYPTION_KEYS[0] for m in _DEV_MARKERS):
        warnings.append(
            Warning("FIELD_ENCRYPTION_KEYS uses the development key.", id="plugsmith.W001")
        )
    if not settings.PUBLIC_BASE_URL.startswith("https://"):
        warnings.append(
            Warning(
                "PUBLIC_BASE_URL is not https: providers will reject the OAuth redirect URL.",
                id="plugsmith.W002",
            )
        )
    if settings.ALLOW_INSECURE_LOOPBACK:
        warnings.append(
            Warning(
                "ALLOW_INSECURE_LOOPBACK is on: plain-http calls to loopback are allowed.",
                id="plugsmith.W003",
            )
        )
    if settings.DEMO_PROVIDER_ENABLED:
        warnings.append(Warning("DEMO_PROVIDER_ENABLED is on.", id="plugsmith.W004"))
    return warnings
