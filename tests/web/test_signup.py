"""Self-serve sign-up creates a user, a tenant and an owner membership, then signs in."""

from __future__ import annotations

import pytest

from apps.tenants.models import Membership, Role
from apps.tenants.web import SESSION_KEY
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "email": "Founder@Rocket.test",
    "tenant_name": "Rocket Labs",
    "password1": "correct horse battery staple",
    "password2": "correct horse battery staple",
}


def test_signup_creates_owner_of_a_new_tenant_and_signs_in(client):
    response = client.post("/signup/", GOOD, follow=True)
    assert response.redirect_chain == [("/", 302)]
    membership = Membership.objects.get(user__email="founder@rocket.test")
    assert membership.role == Role.OWNER
    assert membership.tenant.name == "Rocket Labs"
    assert client.session[SESSION_KEY] == str(membership.tenant_id)
    assert "Rocket Labs is ready" in response.content.decode()


def test_signup_refuses_an_existing_email(client):
    UserFactory(username="founder@rocket.test", email="founder@rocket.test")
    response = client.post("/signup/", GOOD)
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not Membership.objects.exists()


def test_signup_refuses_mismatched_passwords(client):
    response = client.post("/signup/", {**GOOD, "password2": "something else entirely"})
    assert "The two passwords differ." in response.content.decode()
    assert not Membership.objects.exists()


def test_signup_refuses_a_weak_password(client):
    response = client.post("/signup/", {**GOOD, "password1": "12345678", "password2": "12345678"})
    assert "too common" in response.content.decode()


def test_signup_is_404_when_disabled(client, settings):
    settings.SIGNUP_ENABLED = False
    assert client.get("/signup/").status_code == 404
    assert client.post("/signup/", GOOD).status_code == 404
    assert "Create an account" not in client.get("/accounts/login/").content.decode()


def test_signed_in_user_is_sent_to_the_dashboard(web_client):
    response = web_client.get("/signup/")
    assert response.status_code == 302
    assert response["Location"] == "/"
