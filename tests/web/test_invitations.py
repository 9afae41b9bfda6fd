"""Invitations: emailed single-use links, accepted by an existing or a new user."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.tenants.models import Invitation, Membership, Role
from apps.tenants.web import SESSION_KEY
from apps.web.services import invitation_token_hash
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def invite(admin_client, django_capture_on_commit_callbacks):
    """Invite an address through the members page; return the accept path."""

    def send(email: str = "new@example.com", role: str = Role.MEMBER) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post("/members/invite/", {"email": email, "role": role})
        assert response.status_code == 302, response.content.decode()
        return re.search(r"https?://[^/]+(/invitations/\S+/)", mail.outbox[-1].body).group(1)

    return send


def test_invitation_is_emailed_and_stored_hashed(invite, tenant):
    path = invite("New@Example.com", Role.ADMIN)
    token = path.split("/")[2]
    invitation = Invitation.objects.get()
    assert invitation.email == "new@example.com"
    assert invitation.role == Role.ADMIN
    assert invitation.token_hash == invitation_token_hash(token)
    assert token not in invitation.token_hash
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    assert mail.outbox[0].to == ["new@example.com"]
    assert tenant.name in mail.outbox[0].subject


def test_invite_link_is_shown_once_to_the_inviter(admin_client, invite):
    path = invite()
    assert path in admin_client.get("/members/").content.decode()
    assert path not in admin_client.get("/members/").content.decode()


def test_new_user_signs_up_on_the_invitation_page_and_lands_in_the_tenant(invite, tenant):
    path = invite(role=Role.ADMIN)
    client = Client()
    page = client.get(path)
    assert "Create account and join" in page.content.decode()
    response = client.post(path, {"password1": PASSWORD, "password2": PASSWORD}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    membership = Membership.objects.get(user__email="new@example.com")
    assert (membership.tenant, membership.role) == (tenant, Role.ADMIN)
    assert client.session[SESSION_KEY] == str(tenant.id)
    assert f"You joined {tenant.name} as admin." in response.content.decode()
    assert Invitation.objects.get().accepted_by == membership.user


def test_existing_user_is_asked_to_log_in_then_accepts(invite, tenant):
    user = UserFactory(username="new@example.com")
    other = MembershipFactory(user=user).tenant
    path = invite()
    client = Client()
    assert "Log in to accept" in client.get(path).content.decode()
    assert client.post(path)["Location"].startswith("/accounts/login/?next=/invitations/")
    client.force_login(user)
    response = client.post(path)
    assert response["Location"] == "/"
    assert Membership.objects.filter(user=user, tenant=tenant, role=Role.MEMBER).exists()
    assert client.session[SESSION_KEY] == str(tenant.id)
    assert Membership.objects.filter(user=user, tenant=other).exists()


def test_invitation_for_another_email_is_refused(invite, tenant):
    path = invite()
    someone_else = UserFactory(username="someone@example.com")
    client = Client()
    client.force_login(someone_else)
    assert "Log out and sign in as new@example.com" in client.get(path).content.decode()
    response = client.post(path, follow=True)
    assert "This invitation is for new@example.com" in response.content.decode()
    assert not Membership.objects.filter(user=someone_else, tenant=tenant).exists()
    assert Invitation.objects.get().accepted_at is None


def test_invitation_link_works_once(invite):
    path = invite()
    Client().post(path, {"password1": PASSWORD, "password2": PASSWORD})
    response = Client().get(path)
    assert response.status_code == 404
    assert "This invitation is not valid" in response.content.decode()


def test_expired_invitation_is_refused(invite):
    path = invite()
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert Client().get(path).status_code == 404


def test_unknown_token_is_404(client):
    assert client.get("/invitations/not-a-real-token/").status_code == 404


def test_reinviting_replaces_the_pending_invitation(invite):
    first = invite()
    second = invite()
    assert Invitation.objects.count() == 1
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_inviting_an_existing_member_is_refused(admin_client, plain_member):
    response = admin_client.post(
        "/members/invite/", {"email": plain_member.user.email, "role": "member"}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_admin_cannot_invite_an_owner(admin_client):
    response = admin_client.post("/members/invite/", {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_owner_can_invite_an_owner(owner_client):
    owner_client.post("/members/invite/", {"email": "x@example.com", "role": "owner"})
    assert Invitation.objects.get().role == Role.OWNER


def test_invalid_email_shows_the_form_error(admin_client):
    response = admin_client.post("/members/invite/", {"email": "nope", "role": "member"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_pending_invitation_is_listed_and_can_be_revoked(admin_client, invite):
    path = invite("listed@example.com")
    assert "listed@example.com" in admin_client.get("/members/").content.decode()
    invitation = Invitation.objects.get()
    response = admin_client.post(f"/members/invitations/{invitation.pk}/revoke/", follow=True)
    assert "Invitation to listed@example.com revoked." in response.content.decode()
    assert Client().get(path).status_code == 404


def test_another_tenants_invitation_cannot_be_revoked(admin_client):
    foreign = Invitation.objects.create(
        tenant=MembershipFactory().tenant,
        email="theirs@example.com",
        token_hash="0" * 64,
        expires_at=timezone.now() + timedelta(days=1),
    )
    assert admin_client.post(f"/members/invitations/{foreign.pk}/revoke/").status_code == 404
    assert Invitation.objects.filter(pk=foreign.pk).exists()
