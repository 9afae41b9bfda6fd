"""Owners change roles and remove members, never leaving a tenant without an owner."""

from __future__ import annotations

import pytest

from apps.tenants.models import Membership, Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_members_page_lists_members_with_roles(member_client, owner, plain_member):
    page = member_client.get("/members/").content.decode()
    assert owner.user.email in page
    assert plain_member.user.email in page
    assert "Invite someone" not in page
    assert "/remove/" not in page


def test_owner_changes_a_role(owner_client, plain_member):
    response = owner_client.post(
        f"/members/{plain_member.pk}/role/", {"role": "admin"}, follow=True
    )
    plain_member.refresh_from_db()
    assert plain_member.role == Role.ADMIN
    assert f"{plain_member.user.email} is now admin." in response.content.decode()


def test_admin_cannot_change_roles(admin_client, plain_member):
    response = admin_client.post(f"/members/{plain_member.pk}/role/", {"role": "owner"})
    assert response.status_code == 403
    plain_member.refresh_from_db()
    assert plain_member.role == Role.MEMBER


def test_last_owner_cannot_be_demoted(owner_client, owner):
    response = owner_client.post(f"/members/{owner.pk}/role/", {"role": "member"}, follow=True)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert "at least one owner" in response.content.decode()


def test_an_owner_can_step_down_when_another_owner_exists(owner_client, owner, tenant):
    MembershipFactory(tenant=tenant, role=Role.OWNER)
    owner_client.post(f"/members/{owner.pk}/role/", {"role": "admin"})
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN


def test_invalid_role_is_refused(owner_client, plain_member):
    response = owner_client.post(f"/members/{plain_member.pk}/role/", {"role": "god"}, follow=True)
    assert "Choose a valid role." in response.content.decode()


def test_owner_removes_a_member(owner_client, plain_member):
    response = owner_client.post(f"/members/{plain_member.pk}/remove/", follow=True)
    assert not Membership.objects.filter(pk=plain_member.pk).exists()
    assert "was removed from" in response.content.decode()


def test_last_owner_cannot_be_removed(owner_client, owner):
    response = owner_client.post(f"/members/{owner.pk}/remove/", follow=True)
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert "at least one owner" in response.content.decode()


def test_admin_cannot_remove_members(admin_client, plain_member):
    assert admin_client.post(f"/members/{plain_member.pk}/remove/").status_code == 403
    assert Membership.objects.filter(pk=plain_member.pk).exists()


def test_another_tenants_member_is_404(owner_client):
    foreign = MembershipFactory()
    assert owner_client.post(f"/members/{foreign.pk}/remove/").status_code == 404
    assert owner_client.post(f"/members/{foreign.pk}/role/", {"role": "member"}).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_role_and_remove_need_post(owner_client, plain_member):
    assert owner_client.get(f"/members/{plain_member.pk}/remove/").status_code == 405
