"""The web session's current tenant and the switcher."""

from __future__ import annotations

import pytest

from apps.tenants.models import Role
from apps.tenants.web import SESSION_KEY
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_in_two_tenants():
    user = UserFactory()
    first = MembershipFactory(user=user, role=Role.OWNER).tenant
    second = MembershipFactory(user=user, role=Role.MEMBER).tenant
    return user, first, second


def test_first_membership_is_the_default_tenant(client, user_in_two_tenants):
    user, first, _ = user_in_two_tenants
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["current_membership"].tenant == first
    assert client.session[SESSION_KEY] == str(first.id)


def test_switching_to_a_member_tenant_changes_the_current_tenant(client, user_in_two_tenants):
    user, _, second = user_in_two_tenants
    client.force_login(user)
    response = client.post("/tenants/switch/", {"tenant": str(second.id), "next": "/"})
    assert response.status_code == 302
    page = client.get("/")
    assert page.context["current_membership"].tenant == second
    assert page.context["current_membership"].role == Role.MEMBER


def test_switching_to_a_foreign_tenant_is_refused(client, user_in_two_tenants):
    user, first, _ = user_in_two_tenants
    foreign = TenantFactory()
    client.force_login(user)
    client.post("/tenants/switch/", {"tenant": str(foreign.id)})
    page = client.get("/")
    assert page.context["current_membership"].tenant == first
    assert "not a member" in page.content.decode()


def test_session_pointing_at_a_lost_membership_falls_back(client, user_in_two_tenants):
    user, first, second = user_in_two_tenants
    client.force_login(user)
    client.post("/tenants/switch/", {"tenant": str(second.id)})
    second.memberships.filter(user=user).delete()
    assert client.get("/").context["current_membership"].tenant == first


def test_malformed_tenant_id_is_refused(client, user_in_two_tenants):
    user, first, _ = user_in_two_tenants
    client.force_login(user)
    response = client.post("/tenants/switch/", {"tenant": "not-a-uuid"})
    assert response.status_code == 302
    assert client.get("/").context["current_membership"].tenant == first


def test_switch_never_redirects_off_site(client, user_in_two_tenants):
    user, _, second = user_in_two_tenants
    client.force_login(user)
    response = client.post(
        "/tenants/switch/", {"tenant": str(second.id), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
