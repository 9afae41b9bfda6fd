"""Secrets shown exactly once: stashed in the session by a POST, popped by the next page view."""

from __future__ import annotations

from django.http import HttpRequest

_PREFIX = "web.once."


def stash_once(request: HttpRequest, *, key: str, value: str) -> None:
    """Keep `value` in the session until the next `pop_once` for `key`."""
    request.session[_PREFIX + key] = value


def pop_once(request: HttpRequest, *, key: str) -> str | None:
    """The stashed value for `key`, removed from the session so a reload never shows it again."""
    return request.session.pop(_PREFIX + key, None)
