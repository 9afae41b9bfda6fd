"""Plugin-builder fixtures: a complete plugin file for each grant type."""

from __future__ import annotations

import copy
from typing import Any

import pytest

AUTH_CODE_VERSION: dict[str, Any] = {
    "version": 1,
    "status": "published",
    "grant_type": "authorization_code",
    "client_id": "acme-client",
    "client_secret": "acme-very-secret-value",
    "authorization_url": "https://{{ fields.region }}.acme.test/oauth/authorize",
    "scopes": ["read", "profile"],
    "authorization_params": {"access_type": "offline"},
    "pkce": True,
    "fields": [
        {
            "key": "region",
            "label": "Region",
            "type": "select",
            "choices": ["eu", "us"],
            "help_text": "Data region",
        },
        {
            "key": "api_key",
            "label": "API key",
            "type": "password",
            "secret": True,
            "required": False,
        },
    ],
    "token_request": "https://{{ fields.region }}.acme.test/oauth/token",
    "refresh_request": "https://{{ fields.region }}.acme.test/oauth/token",
    "revoke_request": "https://{{ fields.region }}.acme.test/oauth/revoke",
    "test_request": "https://{{ fields.region }}.acme.test/api/me",
    "connection_label": "{{ me.name }}'s Acme",
    "unique_identifier": "${context.authData.region}:{{ me.id }}",
    "allowed_urls": ["https://{{ fields.region }}.acme.test/api/"],
    "request_params": {
        "headers": {"Authorization": "Bearer {{ access_token }}"},
        "query": {"api_version": "2"},
        "body": {},
    },
}

ACME_PLUGIN: dict[str, Any] = {
    "slug": "acme",
    "name": "Acme CRM",
    "description": "Acme's CRM",
    "icon": "🅰️",
    "api_base_url": "https://{{ fields.region }}.acme.test/api/",
    "auth_versions": [AUTH_CODE_VERSION],
}

CLIENT_CREDENTIALS_VERSION: dict[str, Any] = {
    "version": 2,
    "status": "published",
    "grant_type": "client_credentials",
    "fields": [
        {"key": "client_id", "label": "Client ID", "type": "text"},
        {"key": "client_secret", "label": "Client secret", "type": "password", "secret": True},
    ],
    "token_request": {"url": "https://eu.acme.test/oauth/token", "client_auth": "basic"},
    "test_request": "https://eu.acme.test/api/me",
    "connection_label": "{{ me.name }}",
    "unique_identifier": "{{ me.id }}",
    "allowed_urls": ["https://eu.acme.test/api/", "https://{{ fields.region }}.acme.test/api/"],
}

PASSWORD_VERSION: dict[str, Any] = {
    "version": 3,
    "status": "published",
    "grant_type": "password",
    "client_id": "acme-legacy",
    "client_secret": "legacy-secret",
    "fields": [
        {"key": "username", "label": "Username", "type": "text"},
        {"key": "password", "label": "Password", "type": "password", "secret": True},
    ],
    "token_request": "https://eu.acme.test/oauth/token",
    "test_request": "https://eu.acme.test/api/me",
    "connection_label": "{{ me.name }}",
    "unique_identifier": "{{ me.id }}",
    "allowed_urls": ["https://eu.acme.test/api/", "https://{{ fields.region }}.acme.test/api/"],
}


@pytest.fixture
def plugin_data() -> dict[str, Any]:
    """A plugin file with one published authorization-code version (deep copy: mutate freely)."""
    return copy.deepcopy(ACME_PLUGIN)


@pytest.fixture
def all_grants_data() -> dict[str, Any]:
    """A plugin file with one published version per grant type."""
    data = copy.deepcopy(ACME_PLUGIN)
    data["auth_versions"] += [
        copy.deepcopy(CLIENT_CREDENTIALS_VERSION),
        copy.deepcopy(PASSWORD_VERSION),
    ]
    return data
