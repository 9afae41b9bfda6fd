"""Parse token endpoint answers into a TokenSet, and classify provider error answers.

Error classification (used for token, refresh and revoke endpoint answers, by the HTTP client too):

- 429 and 5xx, and `temporarily_unavailable` / `server_error` / rate-limit codes: transient.
- A body that cannot be read (HTML, empty, garbage): transient, never a dead grant, because a
  proxy or an outage page is the usual cause.
- The dead-grant codes below: InvalidGrant, whatever the 2xx/4xx status (GitHub and Slack answer
  HTTP 200 with an error body).
- Any other error: ProviderError carrying the provider's error and error_description.

`token_expired` is deliberately NOT a dead grant: Slack uses it for an expired *access* token,
which a refresh can fix; treating it as dead would force users to reconnect for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from apps.plugins.errors import InvalidGrant, ProviderError, TransientProviderError

__all__ = [
    "DEAD_GRANT_ERRORS",
    "DEFAULT_TOKEN_PATHS",
    "TokenSet",
    "classify_error_response",
    "parse_body",
    "parse_token_response",
]

DEFAULT_TOKEN_PATHS: Mapping[str, str] = {
    "access_token": "access_token",
    "refresh_token": "refresh_token",
    "expires_in": "expires_in",
    "expires_at": "expires_at",
    "token_type": "token_type",
    "scope": "scope",
}
# The grant (authorization code or refresh token) is gone: retrying cannot help.
DEAD_GRANT_ERRORS = frozenset(
    {
        "invalid_grant",  # RFC 6749 5.2
        "invalid_refresh_token",  # Slack
        "token_revoked",  # Slack
        "bad_verification_code",  # GitHub: code expired or already used
        "code_already_used",  # Slack
    }
)
TRANSIENT_ERRORS = frozenset(
    {"temporarily_unavailable", "server_error", "slow_down", "ratelimited", "rate_limited"}
)
# Milliseconds since the epoch are bigger than any plausible seconds value (year 5138).
_EPOCH_MILLISECONDS_THRESHOLD = 100_000_000_000


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one token endpoint answer."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"
    expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def parse_body(content_type: str | None, body: bytes) -> dict[str, Any] | None:
    """A JSON object or form-encoded body as a dict; None when it is empty or neither."""
    text = body.decode("utf-8", "replace").strip() if body else ""
    if not text:
        return None
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "text/html" or text.startswith("<"):
        return None
    if "json" in media_type or text[0] in "{[":
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    if "=" not in text or any(char.isspace() for char in text):
        return None
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return None


def classify_error_response(status: int | None, parsed: Mapping[str, Any] | None) -> ProviderError:
    """The exception for a provider error answer (see the module docstring for the rules)."""
    error, description = _error_fields(parsed)
    if status is not None and (status == 429 or status >= 500):
        return TransientProviderError(
            _message(status, error, description, fallback="provider unavailable"),
            status=status,
            error=error,
            error_description=description,
        )
    if parsed is None:
        return TransientProviderError(
            _message(status, None, None, fallback="unreadable answer (HTML, empty or not JSON)"),
            status=status,
        )
    if error in DEAD_GRANT_ERRORS:
        exc_class: type[ProviderError] = InvalidGrant
    elif error in TRANSIENT_ERRORS:
        exc_class = TransientProviderError
    else:
        exc_class = ProviderError
    return exc_class(
        _message(status, error, description, fallback="error"),
        status=status,
        error=error,
        error_description=description,
    )


def parse_token_response(
    *,
    status: int,
    content_type: str | None,
    body: bytes,
    mapping: Mapping[str, str | None] | None,
    default_expires_in: int | None,
    now: datetime,
) -> TokenSet:
    """Parse a token endpoint answer (JSON or form-encoded) using the auth version's paths."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parsed = parse_body(content_type, body)
    if not 200 <= status < 300 or parsed is None or _is_error_body(parsed):
        raise classify_error_response(status, parsed)
    paths = {
        **DEFAULT_TOKEN_PATHS,
        **{key: value for key, value in (mapping or {}).items() if value},
    }

    access_token = _lookup(parsed, paths["access_token"])
    if not isinstance(access_token, str) or not access_token:
        raise ProviderError(
            f"The token response has no access token at {paths['access_token']!r}", status=status
        )
    refresh_token = _lookup(parsed, paths["refresh_token"])
    token_type = _lookup(parsed, paths["token_type"])
    token_type = str(token_type) if token_type else "Bearer"
    if token_type.lower() == "bearer":
        token_type = "Bearer"
    return TokenSet(
        access_token=access_token,
        refresh_token=str(refresh_token) if refresh_token else None,
        token_type=token_type,
        expires_at=_expires_at(parsed, paths, default_expires_in, now, status),
        scopes=_scopes(_lookup(parsed, paths["scope"])),
        raw=dict(parsed),
    )


def _is_error_body(parsed: Mapping[str, Any]) -> bool:
    return bool(parsed.get("error")) or parsed.get("ok") is False


def _error_fields(parsed: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    if not parsed:
        return None, None
    error = parsed.get("error")
    description = parsed.get("error_description") or parsed.get("message")
    if isinstance(error, Mapping):
        # {"error": {"code": ..., "message": ...}} (Microsoft Graph, Google APIs).
        description = description or error.get("message")
        error = error.get("code") or error.get("status") or error.get("type")
    if error is not None:
        error = str(error)
    if description is not None:
        description = str(description)
    return error or None, description or None


def _message(
    status: int | None, error: str | None, description: str | None, *, fallback: str
) -> str:
    prefix = f"Provider answered HTTP {status}" if status is not None else "Provider answered"
    detail = error or fallback
    if description:
        detail = f"{detail}: {description}"
    return f"{prefix}: {detail}"


def _lookup(data: Any, path: str) -> Any:
    """Follow a dotted path through dicts (and lists, by numeric segment); None when absent."""
    value = data
    for segment in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(segment)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return None
        if value is None:
            return None
    return value


def _expires_at(
    parsed: Mapping[str, Any],
    paths: Mapping[str, str],
    default_expires_in: int | None,
    now: datetime,
    status: int,
) -> datetime | None:
    expires_in = _lookup(parsed, paths["expires_in"])
    if expires_in not in (None, ""):
        seconds = _number(expires_in, paths["expires_in"], status)
        # 0 or less is not a lifetime; some providers send it for "does not expire".
        if seconds > 0:
            return now + timedelta(seconds=seconds)
    expires_at = _lookup(parsed, paths["expires_at"])
    if expires_at not in (None, ""):
        return _absolute_time(expires_at, paths["expires_at"], status)
    if default_expires_in:
        return now + timedelta(seconds=default_expires_in)
    return None


def _number(value: Any, path: str, status: int) -> float:
    if isinstance(value, bool):
        raise ProviderError(f"The token response's {path!r} is not a number", status=status)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ProviderError(
            f"The token response's {path!r} is not a number", status=status
        ) from None


def _absolute_time(value: Any, path: str, status: int) -> datetime:
    """Epoch seconds (or milliseconds) or an ISO 8601 timestamp; naive timestamps are UTC."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ProviderError(
                f"The token response's {path!r} is neither epoch seconds nor ISO 8601",
                status=status,
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    seconds = _number(value, path, status)
    if seconds > _EPOCH_MILLISECONDS_THRESHOLD:
        seconds /= 1000
    return datetime.fromtimestamp(seconds, tz=UTC)


def _scopes(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item]
    return [part for part in str(value).replace(",", " ").split() if part]
