"""Dashboard: status counts, 14 days of refreshes and failures, connections needing attention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connections.models import ConnectionEvent
from apps.web.selectors import connection_activity
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _event(connection, kind: str, days_ago: int = 0) -> None:
    ConnectionEvent.objects.create(
        connection=connection,
        connection_ref=connection.pk,
        tenant=connection.tenant,
        kind=kind,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def test_counts_connections_by_status(web_client, tenant, other_tenant):
    for status in ["active", "active", "needs_reauth", "error", "revoked"]:
        ConnectionFactory(tenant=tenant, status=status)
    ConnectionFactory(tenant=other_tenant, status="active")
    response = web_client.get("/")
    assert response.context["counts"] == {
        "active": 2,
        "needs_reauth": 1,
        "revoked": 1,
        "error": 1,
    }
    assert response.context["total"] == 5


def test_connections_needing_attention_are_listed_with_a_reconnect_link(web_client, tenant):
    broken = ConnectionFactory(tenant=tenant, status="needs_reauth", label="Broken Slack")
    ConnectionFactory(tenant=tenant, status="active", label="Fine GitHub")
    page = web_client.get("/").content.decode()
    assert "Broken Slack" in page
    assert f"/connections/{broken.pk}/" in page
    assert f"/connect/{broken.plugin.slug}/?reconnect={broken.pk}" in page
    assert "Fine GitHub" not in page


def test_all_healthy_message_when_nothing_needs_attention(web_client):
    assert "All connections are healthy." in web_client.get("/").content.decode()


def test_activity_counts_refreshes_and_failures_per_day_for_14_days(tenant, other_tenant):
    connection = ConnectionFactory(tenant=tenant)
    _event(connection, "refreshed")
    _event(connection, "refreshed")
    _event(connection, "refresh_failed")
    _event(connection, "needs_reauth", days_ago=3)
    _event(connection, "tested")
    _event(connection, "refreshed", days_ago=14)
    _event(ConnectionFactory(tenant=other_tenant), "refreshed")
    days = connection_activity(tenant=tenant)
    assert len(days) == 14
    assert days[-1].day == timezone.now().date()
    assert (days[-1].refreshed, days[-1].failed) == (2, 1)
    assert (days[-4].refreshed, days[-4].failed) == (0, 1)
    assert sum(d.refreshed for d in days) == 2


def test_chart_renders_an_accessible_svg(web_client, tenant):
    _event(ConnectionFactory(tenant=tenant), "refreshed")
    page = web_client.get("/").content.decode()
    assert 'role="img"' in page
    assert "1 refreshed, 0 failed" in page
    assert page.count('class="bar-ok"') == 14
