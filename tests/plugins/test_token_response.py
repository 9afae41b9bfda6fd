"""Token endpoint answers: parsing, expiry, mapping paths and error classification."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.plugins.errors import InvalidGrant, ProviderError, TransientProviderError
from apps.plugins.token_response import classify_error_response, parse_token_response

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
JSON = "application/json; charset=utf-8"


def parse(
    body: Any,
    *,
    status: int = 200,
    content_type: str | None = JSON,
    mapping: dict | None = None,
    default_expires_in: int | None = None,
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_token_response(
        status=status,
        content_type=content_type,
        body=raw,
        mapping=mapping,
        default_expires_in=default_expires_in,
        now=NOW,
    )


def test_json_response_gives_token_set():
    tokens = parse(
        {
            "access_token": "at",
            "refresh_token": "rt",
            "token_type": "bearer",
            "expires_in": 3600,
            "scope": "read write",
        }
    )
    assert tokens.access_token == "at"
    assert tokens.refresh_token == "rt"
    assert tokens.token_type == "Bearer"
    assert tokens.expires_at == NOW + timedelta(seconds=3600)
    assert tokens.scopes == ["read", "write"]
    assert tokens.raw["expires_in"] == 3600


def test_form_encoded_response_is_parsed():
    tokens = parse(
        b"access_token=gho_abc&scope=repo%2Cgist&token_type=bearer",
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert tokens.access_token == "gho_abc"
    assert tokens.scopes == ["repo", "gist"]


def test_form_encoded_response_without_content_type_is_sniffed():
    assert parse(
        b"access_token=abc&expires_in=60", content_type=None
    ).expires_at == NOW + timedelta(seconds=60)


def test_nested_mapping_paths_are_followed():
    body = {
        "ok": True,
        "access_token": "xoxb-bot",
        "authed_user": {"access_token": "xoxp-user", "scope": "users:read,chat:write"},
    }
    tokens = parse(
        body, mapping={"access_token": "authed_user.access_token", "scope": "authed_user.scope"}
    )
    assert tokens.access_token == "xoxp-user"
    assert tokens.scopes == ["users:read", "chat:write"]


def test_empty_mapping_entries_fall_back_to_rfc_names():
    assert parse({"access_token": "at"}, mapping={"access_token": None}).access_token == "at"


def test_expires_in_as_numeric_string():
    assert parse({"access_token": "a", "expires_in": "120"}).expires_at == NOW + timedelta(
        seconds=120
    )


def test_expires_at_as_epoch_seconds():
    epoch = int((NOW + timedelta(hours=1)).timestamp())
    assert parse({"access_token": "a", "expires_at": epoch}).expires_at == NOW + timedelta(hours=1)


def test_expires_at_as_epoch_milliseconds():
    epoch_ms = int((NOW + timedelta(hours=1)).timestamp() * 1000)
    assert parse({"access_token": "a", "expires_at": epoch_ms}).expires_at == NOW + timedelta(
        hours=1
    )


def test_expires_at_as_iso_8601():
    tokens = parse({"access_token": "a", "expires_at": "2026-01-01T13:00:00Z"})
    assert tokens.expires_at == NOW + timedelta(hours=1)


def test_naive_iso_expires_at_is_utc():
    tokens = parse({"access_token": "a", "expires_at": "2026-01-01T13:00:00"})
    assert tokens.expires_at == NOW + timedelta(hours=1)


def test_expires_in_wins_over_expires_at():
    tokens = parse({"access_token": "a", "expires_in": 60, "expires_at": "2030-01-01T00:00:00Z"})
    assert tokens.expires_at == NOW + timedelta(seconds=60)


def test_default_expires_in_applies_when_provider_sends_none():
    assert parse({"access_token": "a"}, default_expires_in=900).expires_at == NOW + timedelta(
        seconds=900
    )


def test_no_expiry_anywhere_means_never_expires():
    assert parse({"access_token": "a"}).expires_at is None


def test_zero_expires_in_falls_back_to_default():
    assert parse({"access_token": "a", "expires_in": 0}).expires_at is None


def test_non_numeric_expires_in_is_a_provider_error_naming_the_path():
    with pytest.raises(ProviderError, match="expires_in"):
        parse({"access_token": "a", "expires_in": "soon"})


def test_missing_token_type_defaults_to_bearer():
    assert parse({"access_token": "a"}).token_type == "Bearer"


def test_other_token_types_are_kept():
    assert parse({"access_token": "a", "token_type": "MAC"}).token_type == "MAC"


def test_scope_as_list_is_kept():
    assert parse({"access_token": "a", "scope": ["x", "y"]}).scopes == ["x", "y"]


def test_missing_refresh_token_is_none():
    assert parse({"access_token": "a", "refresh_token": ""}).refresh_token is None


def test_missing_access_token_names_the_path():
    with pytest.raises(ProviderError, match="authed_user.access_token") as excinfo:
        parse({"ok": True, "team": {}}, mapping={"access_token": "authed_user.access_token"})
    assert type(excinfo.value) is ProviderError


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Bad gateway</body></html>", "text/html"),
        (b"<!doctype html><p>login</p>", None),
        (b"", JSON),
        (b"   ", None),
        (b"not json at all", "text/plain"),
        (b"{broken json", JSON),
        (b"[1, 2]", JSON),
    ],
)
def test_unreadable_bodies_are_transient(body, content_type):
    with pytest.raises(TransientProviderError):
        parse(body, content_type=content_type)


def test_unreadable_error_body_is_transient_never_a_dead_grant():
    with pytest.raises(TransientProviderError):
        parse(b"<html>Unauthorized</html>", status=401, content_type="text/html")


def test_invalid_grant_error_is_a_dead_grant():
    with pytest.raises(InvalidGrant) as excinfo:
        parse({"error": "invalid_grant", "error_description": "Token expired"}, status=400)
    assert excinfo.value.status == 400
    assert excinfo.value.error == "invalid_grant"
    assert excinfo.value.error_description == "Token expired"
    assert "invalid_grant" in str(excinfo.value)
    assert "Token expired" in str(excinfo.value)


def test_github_style_200_with_error_is_classified():
    with pytest.raises(InvalidGrant):
        parse(b"error=bad_verification_code&error_description=The+code+is+wrong", content_type=None)


def test_slack_style_ok_false_invalid_refresh_token_is_a_dead_grant():
    with pytest.raises(InvalidGrant):
        parse({"ok": False, "error": "invalid_refresh_token"})


def test_other_client_error_is_a_provider_error_with_details():
    with pytest.raises(ProviderError) as excinfo:
        parse({"error": "invalid_client", "error_description": "Bad secret"}, status=401)
    assert type(excinfo.value) is ProviderError
    assert (excinfo.value.error, excinfo.value.error_description) == (
        "invalid_client",
        "Bad secret",
    )


def test_server_error_is_transient():
    with pytest.raises(TransientProviderError):
        parse({"error": "invalid_grant"}, status=503)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": "invalid_grant"}, InvalidGrant),
        (401, {"error": "invalid_grant"}, InvalidGrant),
        (200, {"ok": False, "error": "invalid_refresh_token"}, InvalidGrant),
        (200, {"ok": False, "error": "token_revoked"}, InvalidGrant),
        (200, {"ok": False, "error": "token_expired"}, ProviderError),
        (400, {"error": "invalid_request"}, ProviderError),
        (403, {"error": "unauthorized_client"}, ProviderError),
        (400, {"error": "temporarily_unavailable"}, TransientProviderError),
        (200, {"ok": False, "error": "ratelimited"}, TransientProviderError),
        (429, {"error": "invalid_grant"}, TransientProviderError),
        (429, None, TransientProviderError),
        (500, None, TransientProviderError),
        (502, {"error": "bad_gateway"}, TransientProviderError),
        (404, None, TransientProviderError),
    ],
)
def test_classify_error_response(status, body, expected):
    assert type(classify_error_response(status, body)) is expected


def test_classify_reads_nested_error_objects():
    exc = classify_error_response(
        401, {"error": {"code": "InvalidAuthenticationToken", "message": "Token is empty."}}
    )
    assert (exc.error, exc.error_description) == ("InvalidAuthenticationToken", "Token is empty.")


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        parse_token_response(
            status=200,
            content_type=JSON,
            body=b'{"access_token": "a"}',
            mapping=None,
            default_expires_in=None,
            now=datetime(2026, 1, 1),
        )


def test_token_set_repr_hides_tokens():
    tokens = parse({"access_token": "at-secret-value", "refresh_token": "rt-secret-value"})
    assert "secret-value" not in repr(tokens)
