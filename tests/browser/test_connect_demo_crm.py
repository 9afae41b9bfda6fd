"""Connecting the Demo CRM in a real browser: our app on `live_server`, the demo provider in its own process.

The live server answers on localhost and the provider on 127.0.0.1: cookies are per host, so
signing in at the provider leaves the portal session alone, as with `make run`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from apps.connections.models import Connection, ConnectionEvent
from apps.demo_provider.demo import DEMO_TENANT_NAME, DEMO_USER_EMAIL
from apps.demo_provider.plugins import demo_crm_plugin, demo_crm_service_plugin
from apps.plugins.plugin_files import import_plugin_data
from apps.tenants.models import Role
from tests.factories import ConnectionFactory, MembershipFactory, UserFactory
from tests.provider.server import ProviderServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
# The demo's names, so the screenshots in docs/images/ show what `make run` shows.
EMAIL = DEMO_USER_EMAIL


@pytest.fixture(scope="module")
def crm_provider(live_server) -> Iterator[ProviderServer]:
    """The demo provider, started after the live server so it can redirect back to it."""
    assert urlsplit(live_server.url).hostname != "127.0.0.1", (
        "portal and provider would share cookies"
    )
    server = ProviderServer(redirect_uris=[f"{live_server.url}/oauth/callback/"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def demo_crm(crm_provider, live_server, settings) -> ProviderServer:
    """The Demo CRM plugins (as `manage.py demo` imports them) pointing at the provider."""
    settings.PUBLIC_BASE_URL = live_server.url
    crm_provider.reset()
    for build, client in ((demo_crm_plugin, "pkce"), (demo_crm_service_plugin, "service")):
        credentials = crm_provider.client(client)
        import_plugin_data(
            build(
                provider_base_url=crm_provider.base_url,
                client_id=credentials["client_id"],
                client_secret=credentials["client_secret"],
            )
        )
    MembershipFactory(
        role=Role.OWNER, tenant__name=DEMO_TENANT_NAME, user=UserFactory(username=EMAIL)
    )
    return crm_provider


def sign_in_at_provider(page, provider: ProviderServer) -> None:
    """Fill the demo provider's login form (the page the Connect button leads to)."""
    page.wait_for_url(re.compile(re.escape(provider.login_url)))
    page.get_by_label("Username").fill(provider.username)
    page.get_by_label("Password").fill(provider.password)
    page.get_by_role("button", name="Sign in").click()


def test_connect_reconnect_refresh_and_disconnect(page, log_in, live_server, demo_crm, screenshot):
    log_in(page, EMAIL, PASSWORD)
    page.get_by_role("link", name="Plugins", exact=True).click()

    page.get_by_role("link", name="Connect Demo CRM", exact=True).click()
    screenshot(page, "connect-provider-login")
    sign_in_at_provider(page, demo_crm)
    assert page.get_by_role(
        "heading", name="Allow Demo PKCE app to access your account?"
    ).is_visible()
    screenshot(page, "connect-provider-consent")
    page.get_by_role("button", name="Approve").click()

    page.wait_for_url(re.compile(rf"{live_server.url}/connections/[0-9a-f-]+/$"))
    connection = Connection.objects.get()
    assert page.get_by_role("heading", name="Dana Demo").is_visible()
    assert page.locator("h1 .badge").inner_text() == "Active"
    assert page.get_by_text("read", exact=True).is_visible()

    page.get_by_role("button", name="Refresh now").click()
    assert "Refreshed: new access token" in page.locator(".messages").inner_text()
    page.get_by_role("button", name="Test").click()
    assert "The connection works" in page.locator(".messages").inner_text()
    assert page.locator("#events").get_by_text("Refreshed").is_visible()
    screenshot(page, "connection-page")
    page.set_viewport_size({"width": 375, "height": 812})
    screenshot(page, "connection-page-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("link", name="Reconnect").click()
    # Still signed in at the provider: straight to the consent page.
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/")
    assert Connection.objects.count() == 1
    assert ConnectionEvent.objects.filter(kind="reconnected").count() == 1

    page.get_by_role("link", name="Plugins", exact=True).click()
    assert page.get_by_text("1 connected").is_visible()
    screenshot(page, "catalogue-demo")
    page.go_back()

    access_token = Connection.objects.get().access_token
    assert demo_crm.token_is_active(access_token)
    page.get_by_role("link", name="Disconnect").click()
    assert page.get_by_role("heading", name="Disconnect “Dana Demo”?").is_visible()
    page.get_by_role("button", name="Disconnect").click()
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/")
    assert "Dana Demo was disconnected." in page.locator(".messages").inner_text()
    assert page.locator("h1 .badge").inner_text() == "Revoked"
    assert Connection.objects.get().status == "revoked"
    assert not demo_crm.token_is_active(access_token)


def test_denied_consent_shows_the_providers_error_and_creates_nothing(page, log_in, demo_crm):
    log_in(page, EMAIL, PASSWORD)
    page.goto("/connect/demo-crm/")
    sign_in_at_provider(page, demo_crm)
    page.get_by_role("button", name="Deny").click()

    assert page.get_by_role("heading", name="The account was not connected").is_visible()
    assert "Access was denied at the provider" in page.get_by_role("alert").inner_text()
    assert not Connection.objects.exists()


def test_service_account_connects_without_a_sign_in(page, log_in, live_server, demo_crm):
    log_in(page, EMAIL, PASSWORD)
    page.goto("/plugins/")
    page.get_by_role("link", name="Connect Demo CRM service account").click()

    page.wait_for_url(re.compile(rf"{live_server.url}/connections/[0-9a-f-]+/$"))
    assert page.get_by_role("heading", name="Demo service app").is_visible()
    assert demo_crm.token_requests("client_credentials") == 1


def test_member_of_another_tenant_gets_404_for_its_connection_page(page, log_in, demo_crm):
    theirs = ConnectionFactory(label="Their CRM account")
    log_in(page, EMAIL, PASSWORD)

    for path in (f"/connections/{theirs.pk}/", f"/connections/{theirs.pk}/disconnect/"):
        response = page.goto(path)
        assert response.status == 404
        assert "Their CRM account" not in page.content()
