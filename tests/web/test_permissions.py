"""Who may open which portal page: anonymous users log in, members read, managers manage."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MEMBER_PAGES = ["/", "/plugins/", "/connections/", "/members/"]
MANAGER_PAGES = ["/settings/api-keys/", "/settings/webhooks/"]
MANAGER_POSTS = [
    "/members/invite/",
    "/settings/api-keys/",
    "/settings/webhooks/",
    "/settings/webhooks/rotate-secret/",
]


@pytest.mark.parametrize("path", MEMBER_PAGES + MANAGER_PAGES)
def test_anonymous_user_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_member_sees_member_pages(member_client, path):
    assert member_client.get(path).status_code == 200


@pytest.mark.parametrize("path", MANAGER_PAGES)
def test_member_is_refused_manager_pages(member_client, path):
    response = member_client.get(path)
    assert response.status_code == 403
    assert "Only owners and admins" in response.content.decode()


@pytest.mark.parametrize("path", MANAGER_POSTS)
def test_member_cannot_post_manager_actions(member_client, tenant, path):
    response = member_client.post(path, {"name": "x", "email": "x@example.com", "role": "member"})
    assert response.status_code == 403
    assert not tenant.api_keys.exists()
    assert not tenant.invitations.exists()


@pytest.mark.parametrize("path", MEMBER_PAGES + MANAGER_PAGES)
def test_admin_and_owner_see_every_page(admin_client, owner_client, path):
    assert admin_client.get(path).status_code == 200
    assert owner_client.get(path).status_code == 200


@pytest.mark.parametrize("path", MEMBER_PAGES + MANAGER_PAGES)
def test_user_without_a_tenant_is_told_so(path):
    client = Client()
    client.force_login(UserFactory())
    response = client.get(path)
    assert response.status_code == 403
    assert "No organisation yet" in response.content.decode()


def test_navigation_hides_settings_from_members(member_client, admin_client):
    assert "/settings/api-keys/" not in member_client.get("/").content.decode()
    assert "/settings/api-keys/" in admin_client.get("/").content.decode()
