"""GET /tenant/, /plugins/ and /events/."""

from __future__ import annotations

import pytest

from apps.connections.services import record_event
from tests.factories import AuthVersionFactory, ConnectionFactory, PluginFactory

pytestmark = pytest.mark.django_db


def test_tenant_is_the_keys_tenant(api_client, tenant):
    body = api_client.get("/api/v1/tenant/").json()

    assert body == {"id": str(tenant.pk), "slug": tenant.slug, "name": tenant.name}


def test_plugins_lists_published_versions_and_fields_without_secrets(api_client):
    plugin = PluginFactory(slug="acme", name="Acme")
    AuthVersionFactory(
        plugin=plugin,
        version=1,
        client_secret="version-client-secret-abcd",
        fields=[
            {"key": "region", "label": "Region", "default": "eu", "required": False},
            {"key": "token", "label": "Token", "secret": True, "default": "secret-default-zz"},
        ],
    )
    AuthVersionFactory(plugin=plugin, version=2, publish=False)
    AuthVersionFactory(
        plugin=plugin, version=3, grant_type="client_credentials", client_id="", client_secret=""
    )
    AuthVersionFactory(plugin=PluginFactory(slug="draft-only"), publish=False)

    response = api_client.get("/api/v1/plugins/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "version-client-secret-abcd" not in text
    assert "secret-default-zz" not in text
    assert "client_id" not in response.json()[0]["auth_versions"][1]
    [acme] = response.json()
    assert acme["slug"] == "acme"
    assert [v["version"] for v in acme["auth_versions"]] == [3, 1]
    v1 = acme["auth_versions"][1]
    assert v1["grant_type"] == "authorization_code"
    fields = {field["key"]: field for field in v1["fields"]}
    assert fields["region"]["default"] == "eu"
    assert fields["token"] == {
        "key": "token",
        "label": "Token",
        "type": "text",
        "required": False,
        "secret": True,
        "choices": [],
        "default": None,
        "help_text": "",
    }
    v3_keys = [field["key"] for field in acme["auth_versions"][0]["fields"]]
    assert v3_keys == ["client_id", "client_secret"]


def test_events_are_the_tenants_newest_first_and_filterable(api_client, tenant, other_tenant):
    mine = ConnectionFactory(tenant=tenant)
    theirs = ConnectionFactory(tenant=other_tenant)
    for kind in ("created", "refreshed", "tested"):
        record_event(tenant_id=tenant.pk, connection_id=mine.pk, kind=kind)
    record_event(tenant_id=other_tenant.pk, connection_id=theirs.pk, kind="created")

    everything = api_client.get("/api/v1/events/").json()["results"]
    refreshed = api_client.get("/api/v1/events/?kind=refreshed").json()["results"]
    for_theirs = api_client.get(f"/api/v1/events/?connection={theirs.pk}").json()["results"]

    assert [event["kind"] for event in everything] == ["tested", "refreshed", "created"]
    assert {event["connection_id"] for event in everything} == {str(mine.pk)}
    assert [event["kind"] for event in refreshed] == ["refreshed"]
    assert for_theirs == []


@pytest.mark.parametrize("query", ["kind=exploded", "connection=12", "cursor=garbage"])
def test_events_reject_bad_filters(api_client, query):
    response = api_client.get(f"/api/v1/events/?{query}")

    assert response.status_code in (400, 404)
    assert set(response.json()) >= {"error", "detail"}
