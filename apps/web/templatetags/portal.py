"""Template helpers of the portal: badges, plugin icons, humanized times, navigation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince, timeuntil

from apps.connections.models import ConnectionStatus

register = template.Library()

STATUS_TONES = {
    ConnectionStatus.ACTIVE: "ok",
    ConnectionStatus.NEEDS_REAUTH: "warn",
    ConnectionStatus.REVOKED: "muted",
    ConnectionStatus.ERROR: "err",
}


def _short(delta: str) -> str:
    # "3 hours, 5 minutes" reads better as "3 hours" in a table cell.
    return delta.split(",")[0]


@register.filter
def expires_in(value: datetime | None) -> str:
    """'in 3 hours', 'expired 5 minutes ago' or 'never'."""
    if value is None:
        return "never"
    now = timezone.now()
    if value > now:
        return f"in {_short(timeuntil(value, now))}"
    return f"expired {_short(timesince(value, now))} ago"


@register.filter
def ago(value: datetime | None) -> str:
    """'5 minutes ago', or 'never'."""
    if value is None:
        return "never"
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{_short(timesince(value))} ago"


@register.inclusion_tag("web/_status_badge.html")
def status_badge(status: str) -> dict[str, Any]:
    """A coloured badge for a connection status."""
    try:
        label = ConnectionStatus(status).label
    except ValueError:
        label = status
    return {"label": label, "tone": STATUS_TONES.get(status, "muted")}


@register.inclusion_tag("web/_plugin_icon.html")
def plugin_icon(plugin: Any, size: str = "md") -> dict[str, Any]:
    """The plugin's icon: an https image, an emoji, or its initial on a tile."""
    icon = (plugin.icon or "").strip()
    return {
        "image": icon if icon.startswith("https://") else "",
        "emoji": icon if icon and not icon.startswith(("https://", "http://")) else "",
        "initial": (plugin.name or "?")[:1].upper(),
        "size": size,
    }


@register.simple_tag
def nav_current(request: HttpRequest, prefix: str) -> str:
    """`aria-current="page"` for the navigation link of the current section."""
    path = request.path
    current = path == "/" if prefix == "/" else path.startswith(prefix)
    return mark_safe('aria-current="page"') if current else ""
