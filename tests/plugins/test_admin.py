"""The plugin builder in Django admin, through the test client."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.plugins.models import AuthVersion, Plugin, VersionStatus
from apps.plugins.plugin_files import import_plugin_data
from apps.plugins.services import oauth_redirect_uri

pytestmark = pytest.mark.django_db
SECRET = "acme-very-secret-value"


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(
        "admin@example.com", "admin@example.com", "pw"
    )
    client.force_login(admin)
    return client


@pytest.fixture
def published(plugin_data) -> AuthVersion:
    import_plugin_data(plugin_data)
    return AuthVersion.objects.get()


def _form_data(plugin: Plugin, **overrides: str) -> dict[str, str]:
    data = {
        "plugin": str(plugin.pk),
        "version": "2",
        "grant_type": "authorization_code",
        "client_id": "admin-client",
        "client_secret": "typed-in-secret",
        "authorization_url": "https://eu.acme.test/oauth/authorize",
        "issuer": "",
        "scopes": "read profile",
        "scope_separator": " ",
        "authorization_params": '{"prompt": "consent"}',
        "pkce": "on",
        "token_request": "https://eu.acme.test/oauth/token",
        "token_response": "{}",
        "refresh_request": "https://eu.acme.test/oauth/token",
        "refresh_lead_seconds": "300",
        "default_expires_in": "",
        "keepalive_seconds": "86400",
        "revoke_request": "",
        "test_request": "https://eu.acme.test/api/me",
        "health_check_seconds": "",
        "connection_label": "{{ me.name }}",
        "allowed_urls": "https://eu.acme.test/api/",
        "unique_identifier": "{{ fields.tenant_code }}-{{ me.id }}",
        "request_params": '{"headers": {"Authorization": "Bearer {{ access_token }}"}}',
        "expired_token_statuses": "401",
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000",
        "fields-0-order": "0",
        "fields-0-key": "tenant_code",
        "fields-0-label": "Tenant code",
        "fields-0-type": "text",
        "fields-0-required": "on",
        "fields-0-default": "",
        "fields-0-choices": "[]",
        "fields-0-help_text": "",
    }
    data.update(overrides)
    return data


def test_add_form_follows_the_seed_steps_and_shows_the_redirect_url(staff_client, published):
    html = staff_client.get("/admin/plugins/authversion/add/").content.decode()
    steps = [
        "1. Extra user fields",
        "2. Copy your OAuth redirect URL",
        "3. Application credentials",
        "4. Authorization endpoint and scopes",
        "5. Access token API",
        "6. Refresh token API",
        "7. Revoke token API",
        "8. Test (me) API",
        "9. Connection label",
        "10. Allowed URLs",
        "11. Unique identifier",
        "12. Request parameters",
    ]
    positions = [html.index(step) for step in steps]
    assert positions == sorted(positions)
    assert oauth_redirect_uri() in html
    assert "Copy" in html


@pytest.mark.parametrize(
    ("grant", "absent"),
    [
        ("client_credentials", "Copy your OAuth redirect URL"),
        ("password", "Authorization endpoint"),
    ],
)
def test_direct_grants_skip_the_browser_steps(staff_client, grant, absent):
    html = staff_client.get(f"/admin/plugins/authversion/add/?grant_type={grant}").content.decode()
    assert absent not in html
    assert "Access token API" in html


def test_add_a_draft_with_fields_through_the_admin(staff_client, published):
    response = staff_client.post("/admin/plugins/authversion/add/", _form_data(published.plugin))
    assert response.status_code == 302, response.content.decode()[:3000]
    draft = AuthVersion.objects.get(version=2)
    assert draft.status == VersionStatus.DRAFT
    assert draft.client_secret == "typed-in-secret"
    assert draft.scopes == ["read", "profile"]
    assert draft.token_request == "https://eu.acme.test/oauth/token"
    assert list(draft.fields.values_list("key", flat=True)) == ["tenant_code"]


def test_bad_template_is_a_form_error_on_its_field(staff_client, published):
    response = staff_client.post(
        "/admin/plugins/authversion/add/",
        _form_data(
            published.plugin, connection_label="{{ me.name", unique_identifier="{{ nope.id }}"
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "connection_label" in errors
    assert "unique_identifier" in errors
    assert not AuthVersion.objects.filter(version=2).exists()


def test_invalid_json_and_http_urls_are_form_errors(staff_client, published):
    response = staff_client.post(
        "/admin/plugins/authversion/add/",
        _form_data(
            published.plugin, request_params="{not json", token_request="http://acme.example/token"
        ),
    )
    errors = response.context["adminform"].form.errors
    assert "Invalid JSON" in str(errors["request_params"])
    assert "https" in str(errors["token_request"])


def test_client_secret_is_never_rendered_back(staff_client, published):
    html = staff_client.get(f"/admin/plugins/authversion/{published.pk}/change/").content.decode()
    assert SECRET not in html
    assert "…" + SECRET[-4:] in html


def test_blank_secret_keeps_the_stored_one(staff_client, published):
    staff_client.post("/admin/plugins/authversion/add/", _form_data(published.plugin))
    draft = AuthVersion.objects.get(version=2)
    data = _form_data(published.plugin, client_secret="", scopes="read")
    data.update(
        {
            "fields-INITIAL_FORMS": "1",
            "fields-0-id": str(draft.fields.get().pk),
            "fields-0-auth_version": str(draft.pk),
        }
    )
    response = staff_client.post(f"/admin/plugins/authversion/{draft.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.client_secret == "typed-in-secret"
    assert draft.scopes == ["read"]


def test_published_version_page_is_read_only(staff_client, published):
    html = staff_client.get(f"/admin/plugins/authversion/{published.pk}/change/").content.decode()
    assert 'name="scopes"' not in html
    assert "Published: frozen" in html


def test_publish_and_clone_actions(staff_client, published):
    response = staff_client.post(
        "/admin/plugins/authversion/",
        {"action": "clone_versions", "_selected_action": [published.pk]},
        follow=True,
    )
    assert "cloned to draft v2" in response.content.decode()
    draft = AuthVersion.objects.get(version=2)
    response = staff_client.post(
        "/admin/plugins/authversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "v2 published" in response.content.decode()
    assert AuthVersion.objects.get(version=2).status == VersionStatus.PUBLISHED


def test_publish_action_reports_what_is_missing(staff_client, published):
    staff_client.post(
        "/admin/plugins/authversion/add/", _form_data(published.plugin, test_request="")
    )
    draft = AuthVersion.objects.get(version=2)
    response = staff_client.post(
        "/admin/plugins/authversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "not published" in response.content.decode()
    assert "test_request" in response.content.decode()
    assert AuthVersion.objects.get(version=2).status == VersionStatus.DRAFT


def test_preview_shows_authorization_url_and_masked_token_request(staff_client, published):
    html = staff_client.get(f"/admin/plugins/authversion/{published.pk}/change/").content.decode()
    assert (
        "https://&lt;region&gt;.acme.test/oauth/authorize?response_type=code" in html
        or "oauth/authorize?response_type=code" in html
    )
    assert "code_challenge_method=S256" in html
    assert "preview-state-not-valid" in html
    assert SECRET not in html


def test_plugin_list_and_search(staff_client, published):
    response = staff_client.get("/admin/plugins/plugin/?q=acme")
    assert response.status_code == 200
    assert "Acme CRM" in response.content.decode()
    assert (
        staff_client.get("/admin/plugins/authversion/?status__exact=published").status_code == 200
    )
