"""The tenant portal in a real browser: sign-up, invitations, secrets shown once, isolation, looks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connections.models import ConnectionEvent
from apps.tenants.models import Membership, Role
from apps.tenants.services import api_key_create
from tests.factories import (
    AuthVersionFactory,
    ConnectionFactory,
    MembershipFactory,
    PluginFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def owner_of(tenant_name: str = "Acme") -> Membership:
    return MembershipFactory(
        role=Role.OWNER, tenant__name=tenant_name, user=UserFactory(username="owner@acme.test")
    )


def test_sign_up_invite_and_accept_in_a_second_browser(new_context, live_server):
    owner = new_context().new_page()
    owner.goto("/signup/")
    owner.get_by_label("Work email").fill("founder@rocket.test")
    owner.get_by_label("Organisation name").fill("Rocket Labs")
    owner.get_by_label("Password", exact=True).fill(PASSWORD)
    owner.get_by_label("Confirm password").fill(PASSWORD)
    owner.get_by_role("button", name="Create account").click()
    owner.wait_for_url(f"{live_server.url}/")
    assert "Rocket Labs is ready" in owner.locator(".messages").inner_text()

    owner.get_by_role("link", name="Members").click()
    owner.get_by_label("Email address").fill("new.admin@rocket.test")
    owner.get_by_label("Role", exact=True).select_option("admin")
    owner.get_by_role("button", name="Send invitation").click()
    assert "Invitation sent to new.admin@rocket.test" in owner.locator(".messages").inner_text()
    link = owner.locator("#invite-link").input_value()
    assert re.search(r"/invitations/[\w-]{40,}/$", link)

    invitee = new_context().new_page()
    invitee.goto(link)
    assert invitee.get_by_role("heading", name="Join Rocket Labs").is_visible()
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Confirm password").fill(PASSWORD)
    invitee.get_by_role("button", name="Create account and join").click()
    invitee.wait_for_url(f"{live_server.url}/")
    assert "You joined Rocket Labs as admin" in invitee.locator(".messages").inner_text()
    selected = invitee.locator("#tenant-select option:checked").inner_text()
    assert selected == "Rocket Labs · Admin"
    assert invitee.get_by_role("link", name="API keys").is_visible()

    invitee.goto(link)  # single use
    assert invitee.get_by_role("heading", name="This invitation is not valid").is_visible()


def test_new_api_key_is_shown_once_and_never_after_a_reload(page, log_in):
    owner_of()
    log_in(page, "owner@acme.test", PASSWORD)
    page.goto("/settings/api-keys/")
    page.get_by_label("Key name").fill("Production backend")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-api-key").input_value()
    assert secret.startswith("psk_")
    assert page.get_by_role("button", name="Copy").is_visible()

    page.reload()
    assert page.locator("#new-api-key").count() == 0
    assert secret not in page.content()
    assert page.get_by_role("cell", name="Production backend", exact=True).is_visible()


def test_member_of_one_tenant_gets_404_for_another_tenants_objects(page, log_in):
    owner_of()
    foreign_key = api_key_create(tenant=MembershipFactory().tenant, name="Theirs").api_key
    foreign = ConnectionFactory(label="Their secret account")
    log_in(page, "owner@acme.test", PASSWORD)

    response = page.goto(f"/settings/api-keys/{foreign_key.pk}/revoke/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()

    page.goto(f"/connections/?plugin={foreign.plugin.slug}")
    assert "Their secret account" not in page.content()
    assert page.get_by_text("No connection matches these filters.").is_visible()


def _seed_portal(owner: Membership) -> None:
    tenant = owner.tenant
    icons = {"GitHub": "🐙", "Google": "🔎", "Slack": "💬", "Salesforce": "☁️", "Xero": ""}
    versions = {}
    for name, icon in icons.items():
        plugin = PluginFactory(
            slug=name.lower(), name=name, icon=icon, description=f"Connect {name} accounts."
        )
        versions[name] = AuthVersionFactory(plugin=plugin)
    now = timezone.now()
    statuses = [
        ("GitHub", "octocat", "active"),
        ("Google", "ops@acme.test", "active"),
        ("Slack", "Acme workspace", "needs_reauth"),
        ("Salesforce", "Acme CRM", "error"),
        ("Google", "old@acme.test", "revoked"),
    ]
    for i, (name, label, status) in enumerate(statuses):
        connection = ConnectionFactory(
            tenant=tenant,
            auth_version=versions[name],
            label=label,
            status=status,
            expires_at=now + timedelta(minutes=50 - i * 30),
            last_refreshed_at=now - timedelta(minutes=10 * i) if i % 2 == 0 else None,
            last_error="invalid_grant: token revoked by user" if status != "active" else "",
        )
        for day in range(14):
            for _ in range((day * 37 + i * 5) % 11 // 2):
                ConnectionEvent.objects.create(
                    connection=connection,
                    connection_ref=connection.pk,
                    tenant=tenant,
                    kind="refreshed",
                    created_at=now - timedelta(days=day),
                )
            if (day + i) % 6 == 0:
                ConnectionEvent.objects.create(
                    connection=connection,
                    connection_ref=connection.pk,
                    tenant=tenant,
                    kind="refresh_failed",
                    created_at=now - timedelta(days=day),
                )
    api_key_create(tenant=tenant, name="Production backend", created_by=owner.user)
    MembershipFactory(tenant=tenant, role=Role.ADMIN, user=UserFactory(username="ada@acme.test"))


def test_screenshots_of_the_main_pages(new_context, log_in, screenshot):
    owner = owner_of()
    _seed_portal(owner)
    pages = {
        "dashboard": "/",
        "catalogue": "/plugins/",
        "connections": "/connections/",
        "api-keys": "/settings/api-keys/",
        "webhooks": "/settings/webhooks/",
        "members": "/members/",
    }
    for size, viewport in {"desktop": None, "375": {"width": 375, "height": 812}}.items():
        anonymous = new_context(viewport=viewport).new_page()
        for name, path in {"signup": "/signup/", "login": "/accounts/login/"}.items():
            anonymous.goto(path)
            screenshot(anonymous, f"{name}-{size}")
        page = new_context(viewport=viewport).new_page()
        log_in(page, "owner@acme.test", PASSWORD)
        for name, path in pages.items():
            page.goto(path)
            screenshot(page, f"{name}-{size}")
            if viewport:
                overflow = page.evaluate("document.documentElement.scrollWidth")
                assert overflow <= viewport["width"], f"{path} scrolls sideways at 375px"
