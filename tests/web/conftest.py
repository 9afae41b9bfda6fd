"""Fixtures for the portal: a tenant with an owner, an admin and a member, and their clients."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.tenants.models import Membership, Role
from tests.factories import MembershipFactory


@pytest.fixture
def owner(tenant) -> Membership:
    return MembershipFactory(tenant=tenant, role=Role.OWNER)


@pytest.fixture
def admin(tenant) -> Membership:
    return MembershipFactory(tenant=tenant, role=Role.ADMIN)


@pytest.fixture
def plain_member(tenant) -> Membership:
    return MembershipFactory(tenant=tenant, role=Role.MEMBER)


def _client_for(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return _client_for(owner)


@pytest.fixture
def admin_client(admin) -> Client:
    return _client_for(admin)


@pytest.fixture
def member_client(plain_member) -> Client:
    return _client_for(plain_member)
