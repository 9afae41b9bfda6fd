"""Template context of the portal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    """Whether self-serve sign-up is offered (login page link)."""
    return {"signup_enabled": settings.SIGNUP_ENABLED}
