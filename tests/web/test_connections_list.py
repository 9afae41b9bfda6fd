"""Connections list: the tenant's connections only, filters, badges, humanized times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _labels(response) -> list[str]:
    return [c.label for c in response.context["page"].object_list]


def test_lists_only_the_tenants_connections_linking_to_detail(web_client, tenant, other_tenant):
    mine = ConnectionFactory(tenant=tenant, label="Mine")
    ConnectionFactory(tenant=other_tenant, label="Theirs")
    response = web_client.get("/connections/")
    assert _labels(response) == ["Mine"]
    assert f'href="/connections/{mine.pk}/"' in response.content.decode()


def test_connections_needing_attention_come_first(web_client, tenant):
    ConnectionFactory(tenant=tenant, label="Fine", status="active")
    ConnectionFactory(tenant=tenant, label="Broken", status="error")
    assert _labels(web_client.get("/connections/")) == ["Broken", "Fine"]


def test_filters_by_status_plugin_and_search(web_client, tenant):
    github = ConnectionFactory(tenant=tenant, label="octocat", status="active")
    ConnectionFactory(tenant=tenant, label="Team chat", status="needs_reauth")
    ConnectionFactory(tenant=tenant, label="End user", external_user_id="customer-42")
    assert _labels(web_client.get("/connections/?status=needs_reauth")) == ["Team chat"]
    assert _labels(web_client.get(f"/connections/?plugin={github.plugin.slug}")) == ["octocat"]
    assert _labels(web_client.get("/connections/?q=OCTO")) == ["octocat"]
    assert _labels(web_client.get("/connections/?q=customer-42")) == ["End user"]


def test_another_tenants_plugin_filter_shows_nothing_of_theirs(web_client, other_tenant):
    theirs = ConnectionFactory(tenant=other_tenant, label="Theirs")
    response = web_client.get(f"/connections/?plugin={theirs.plugin.slug}")
    assert _labels(response) == []
    assert "Theirs" not in response.content.decode()


def test_invalid_status_filter_is_ignored(web_client, tenant):
    ConnectionFactory(tenant=tenant, label="Mine")
    assert _labels(web_client.get("/connections/?status=bogus&q=Mine")) == ["Mine"]


def test_status_badges_and_humanized_times(web_client, tenant):
    now = timezone.now()
    ConnectionFactory(
        tenant=tenant,
        status="needs_reauth",
        expires_at=now + timedelta(hours=3, minutes=5),
        last_refreshed_at=now - timedelta(minutes=12),
    )
    ConnectionFactory(tenant=tenant, status="error", expires_at=now - timedelta(minutes=30))
    page = web_client.get("/connections/").content.decode()
    assert "Needs re-auth" in page
    assert "badge-err" in page
    assert "in 3\xa0hours" in page
    assert "expired 30\xa0minutes ago" in page
    assert "12\xa0minutes ago" in page


def test_empty_state_points_to_the_catalogue(web_client):
    assert 'href="/plugins/"' in web_client.get("/connections/").content.decode()


def test_paginates(web_client, tenant):
    for _ in range(27):
        ConnectionFactory(tenant=tenant)
    first = web_client.get("/connections/?status=active")
    assert len(first.context["page"].object_list) == 25
    assert "status=active&amp;page=2" in first.content.decode()
    assert len(web_client.get("/connections/?page=2").context["page"].object_list) == 2
