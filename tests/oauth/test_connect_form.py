"""The connect form shows the auth version's fields as the staff configured them."""

from __future__ import annotations

import pytest

from apps.connections.models import Connection
from apps.oauth.models import AuthorizationAttempt
from tests.factories import AuthVersionFactory

pytestmark = pytest.mark.django_db

FIELDS = [
    {
        "key": "region",
        "label": "API region",
        "type": "select",
        "help_text": "Where your data lives.",
        "choices": [{"value": "eu", "label": "Europe"}, "us"],
    },
    {"key": "api_key", "label": "API key", "type": "password", "secret": True},
    {"key": "site", "label": "Site URL", "type": "url", "required": False},
]


@pytest.fixture
def version(db):
    return AuthVersionFactory(fields=FIELDS)


def test_the_form_shows_labels_help_choices_and_password_inputs(web_client, version):
    html = web_client.get(f"/connect/{version.plugin.slug}/").content.decode()

    assert "API region" in html
    assert "Where your data lives." in html
    assert '<option value="eu">Europe</option>' in html
    assert '<option value="us">us</option>' in html
    assert 'type="password" name="api_key"' in html
    assert "(optional)" in html


def test_missing_required_fields_are_form_errors(web_client, version):
    response = web_client.post(f"/connect/{version.plugin.slug}/", {"region": "eu"})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not AuthorizationAttempt.objects.exists()


def test_valid_fields_are_kept_encrypted_on_the_attempt(web_client, version):
    response = web_client.post(
        f"/connect/{version.plugin.slug}/", {"region": "us", "api_key": "k-123"}
    )

    assert response.status_code == 302
    attempt = AuthorizationAttempt.objects.get()
    assert attempt.field_values == {"region": "us", "api_key": "k-123", "site": ""}


def test_password_versions_ask_for_username_and_password(web_client):
    version = AuthVersionFactory(grant_type="password")

    html = web_client.get(f"/connect/{version.plugin.slug}/").content.decode()

    assert 'name="username"' in html
    assert 'type="password" name="password"' in html


def test_a_secret_is_never_rendered_back(web_client, fake_provider):
    version = AuthVersionFactory(grant_type="password")
    fake_provider.add(
        "POST", "https://provider.example/oauth/token", status=401, json={"error": "invalid_client"}
    )

    response = web_client.post(
        f"/connect/{version.plugin.slug}/", {"username": "u", "password": "hunter2-secret"}
    )

    assert response.status_code == 400
    assert "invalid_client" in response.content.decode()
    assert "hunter2-secret" not in response.content.decode()
    assert not Connection.objects.exists()
