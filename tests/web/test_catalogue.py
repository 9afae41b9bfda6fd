"""Plugin catalogue: published plugins only, searchable, linking to the connect page."""

from __future__ import annotations

import pytest

from tests.factories import AuthVersionFactory, ConnectionFactory, PluginFactory

pytestmark = pytest.mark.django_db


def _plugin(name: str, *, published: bool = True, **kwargs):
    plugin = PluginFactory(slug=name.lower(), name=name, **kwargs)
    AuthVersionFactory(plugin=plugin, publish=published)
    return plugin


def test_lists_only_plugins_with_a_published_version(web_client):
    _plugin("GitHub")
    _plugin("Drafty", published=False)
    PluginFactory(slug="bare", name="Bare")
    page = web_client.get("/plugins/").content.decode()
    assert "GitHub" in page
    assert 'href="/connect/github/"' in page
    assert "Drafty" not in page
    assert "Bare" not in page


def test_a_plugin_with_two_published_versions_is_listed_once(web_client):
    plugin = _plugin("GitHub")
    AuthVersionFactory(plugin=plugin)
    assert list(web_client.get("/plugins/").context["plugins"]) == [plugin]


def test_search_matches_name_and_description(web_client):
    _plugin("GitHub", description="Code hosting")
    _plugin("Slack", description="Team chat")
    assert [p.name for p in web_client.get("/plugins/?q=chat").context["plugins"]] == ["Slack"]
    assert [p.name for p in web_client.get("/plugins/?q=GIT").context["plugins"]] == ["GitHub"]
    assert "No plugin matches" in web_client.get("/plugins/?q=zzz").content.decode()


def test_icons_emoji_url_or_initial(web_client):
    _plugin("Emoji", icon="🐙")
    _plugin("Image", icon="https://cdn.example.com/icon.png")
    _plugin("Plain")
    page = web_client.get("/plugins/").content.decode()
    assert "🐙" in page
    assert '<img src="https://cdn.example.com/icon.png"' in page
    assert ">P</span>" in page


def test_http_icon_is_not_loaded(web_client):
    _plugin("Insecure", icon="http://cdn.example.com/icon.png")
    assert "http://cdn.example.com" not in web_client.get("/plugins/").content.decode()


def test_shows_the_tenants_own_connection_count(web_client, tenant, other_tenant):
    plugin = _plugin("GitHub")
    version = plugin.auth_versions.get()
    ConnectionFactory(tenant=tenant, auth_version=version)
    ConnectionFactory(tenant=other_tenant, auth_version=version)
    ConnectionFactory(tenant=other_tenant, auth_version=version)
    assert web_client.get("/plugins/").context["plugins"][0].connected == 1
