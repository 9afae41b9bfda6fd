"""Helpers for `responses` fakes of a provider at https://provider.example (fixture: fake_provider)."""

from __future__ import annotations

import json

import responses

from tests.factories import PROVIDER_BASE

TOKEN_URL = f"{PROVIDER_BASE}/oauth/token"
REVOKE_URL = f"{PROVIDER_BASE}/oauth/revoke"
ME_URL = f"{PROVIDER_BASE}/api/me"
ME = {"id": "acct-42", "name": "Jane Doe", "email": "jane@example.com"}


def token_body(**overrides) -> dict:
    body = {
        "access_token": "new-access-token-abcdef",
        "refresh_token": "new-refresh-token-abcdef",
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "read profile",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def add_token(mock, *, status: int = 200, body=None, **kwargs):
    """Register one token endpoint answer (dict bodies as JSON)."""
    if isinstance(body, dict) or body is None:
        kwargs.setdefault("json", token_body() if body is None else body)
    else:
        kwargs["body"] = body
    return mock.add(responses.POST, TOKEN_URL, status=status, **kwargs)


def add_me(mock, *, status: int = 200, body=None):
    return mock.add(responses.GET, ME_URL, status=status, json=ME if body is None else body)


def form_of(call) -> dict:
    from urllib.parse import parse_qs

    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode()
    return {key: values[0] for key, values in parse_qs(body or "").items()}


def json_of(call) -> dict:
    return json.loads(call.request.body)
