"""bulk_update_by_pk: one UPDATE that stores what save(update_fields=...) would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.connections.models import Connection
from apps.core.db import bulk_update_by_pk
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

FIELDS = [
    "access_token", "refresh_token", "token_response", "granted_scopes", "expires_at",
    "failure_count", "last_error", "field_values",
]  # fmt: skip


def test_stores_each_row_its_own_values_in_one_statement(tenant):
    rows = [ConnectionFactory(tenant=tenant) for _ in range(3)]
    untouched = ConnectionFactory(tenant=tenant, access_token="leave-me")
    later = timezone.now() + timedelta(hours=1)
    for i, row in enumerate(rows):
        row.access_token = f"access-{i}"
        row.refresh_token = None if i == 1 else f"refresh-'{i}'; DROP TABLE x"
        row.token_response = {"n": i, "ok": True, "nested": {"list": [1.5, None]}}
        row.granted_scopes = ["read", f"scope-{i}"]
        row.expires_at = None if i == 2 else later
        row.failure_count = i
        row.last_error = f"error {i}"
        row.field_values = {"subdomain": f"acme-{i}"}
        row.label = "not saved"

    with CaptureQueriesContext(db) as queries:
        assert bulk_update_by_pk(rows, FIELDS) == 3
    assert len(queries) == 1

    for row in rows:
        stored = Connection.objects.get(pk=row.pk)
        for name in FIELDS:
            assert getattr(stored, name) == getattr(row, name), name
        assert stored.label != "not saved"
    assert Connection.objects.get(pk=untouched.pk).access_token == "leave-me"


def test_secrets_are_encrypted_in_the_row(tenant):
    row = ConnectionFactory(tenant=tenant)
    row.access_token = "bulk-plaintext-token"
    bulk_update_by_pk([row], ["access_token"])
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token FROM connections_connection WHERE id = %s", [row.pk])
        (raw,) = cursor.fetchone()
    assert "bulk-plaintext-token" not in raw
    assert Connection.objects.get(pk=row.pk).access_token == "bulk-plaintext-token"


def test_nothing_to_update_is_no_query():
    assert bulk_update_by_pk([], ["access_token"]) == 0


@pytest.mark.skipif(db.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_connection_lookup_is_prepared_on_postgresql(tenant):
    from apps.connections.selectors import connection_get_for_tenant

    assert db.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    row = ConnectionFactory(tenant=tenant)

    def prepared() -> list[str]:
        with db.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [statement for (statement,) in cursor.fetchall()]

    for _ in range(4):
        assert connection_get_for_tenant(tenant=tenant, connection_id=row.pk) == row
    assert any('FROM "connections_connection"' in statement for statement in prepared())


@pytest.mark.skipif(db.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_without_a_threshold_nothing_is_prepared(tenant, monkeypatch):
    from apps.connections.selectors import connection_get_for_tenant

    monkeypatch.setitem(db.settings_dict["OPTIONS"], "prepare_threshold", None)
    with db.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # psycopg forgets its prepared statements too
    row = ConnectionFactory(tenant=tenant)
    for _ in range(4):
        assert connection_get_for_tenant(tenant=tenant, connection_id=row.pk) == row
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
