"""Importing and exporting plugin files."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from apps.plugins.models import AuthField, AuthVersion, Plugin, VersionStatus
from apps.plugins.plugin_files import PluginFileError, export_plugin, import_plugin_data

pytestmark = pytest.mark.django_db


def test_import_creates_published_versions_for_every_grant(all_grants_data):
    result = import_plugin_data(all_grants_data)
    assert result.created == [1, 2, 3]
    versions = {v.version: v for v in AuthVersion.objects.filter(plugin__slug="acme")}
    assert {v.grant_type for v in versions.values()} == {
        "authorization_code",
        "client_credentials",
        "password",
    }
    assert all(v.status == VersionStatus.PUBLISHED for v in versions.values())
    assert versions[1].client_secret == "acme-very-secret-value"
    assert list(versions[1].fields.values_list("key", flat=True)) == ["region", "api_key"]


def test_same_file_twice_changes_nothing(plugin_data):
    import_plugin_data(plugin_data)
    stamp = AuthVersion.objects.get().updated_at
    again = import_plugin_data(plugin_data)
    assert again.unchanged == [1]
    assert not again.changed
    assert AuthVersion.objects.get().updated_at == stamp
    assert AuthField.objects.count() == 2


def test_draft_in_file_is_updated_in_place(plugin_data):
    plugin_data["auth_versions"][0]["status"] = "draft"
    import_plugin_data(plugin_data)
    plugin_data["auth_versions"][0]["scopes"] = ["read"]
    result = import_plugin_data(plugin_data)
    assert result.updated == [1]
    assert AuthVersion.objects.get().scopes == ["read"]


def test_changed_published_version_is_an_error_not_an_overwrite(plugin_data):
    import_plugin_data(plugin_data)
    plugin_data["auth_versions"][0]["scopes"] = ["read", "write"]
    with pytest.raises(PluginFileError, match="scopes.*new version number"):
        import_plugin_data(plugin_data)
    assert AuthVersion.objects.get().scopes == ["read", "profile"]


def test_rotated_client_secret_updates_a_published_version(plugin_data):
    import_plugin_data(plugin_data)
    plugin_data["auth_versions"][0]["client_secret"] = "rotated-secret"
    result = import_plugin_data(plugin_data)
    assert result.updated == [1]
    assert AuthVersion.objects.get().client_secret == "rotated-secret"


def test_env_secrets_are_read_from_the_environment(plugin_data, monkeypatch):
    monkeypatch.setenv("ACME_SECRET", "from-the-env")
    plugin_data["auth_versions"][0]["client_secret"] = "env:ACME_SECRET"
    import_plugin_data(plugin_data)
    assert AuthVersion.objects.get().client_secret == "from-the-env"


def test_unset_env_secret_imports_a_draft_with_a_warning(plugin_data, monkeypatch):
    monkeypatch.delenv("ACME_MISSING", raising=False)
    plugin_data["auth_versions"][0]["client_secret"] = "env:ACME_MISSING"
    result = import_plugin_data(plugin_data)
    version = AuthVersion.objects.get()
    assert version.status == VersionStatus.DRAFT
    assert version.client_secret is None
    assert "ACME_MISSING" in result.warnings[0]


def test_import_is_atomic(plugin_data):
    broken = json.loads(json.dumps(plugin_data["auth_versions"][0]))
    broken.update(version=2, connection_label="{{ me.name ")
    plugin_data["auth_versions"].append(broken)
    with pytest.raises(PluginFileError, match=r"auth_versions\[1\]\.connection_label"):
        import_plugin_data(plugin_data)
    assert not Plugin.objects.exists()
    assert not AuthVersion.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grant_type": "implicit"}, "grant_type: one of"),
        ({"token_request": "http://acme.example.com/token"}, "token_request.*https"),
        ({"authorization_url": None}, "authorization_url: Required"),
        ({"test_request": None}, "test_request: Required"),
        ({"allowed_urls": ["https://other.test/"]}, "allowed_urls: Must cover the test API URL"),
        ({"connection_label": "{{ nope.name }}"}, "connection_label"),
        ({"unique_identifier": "{% for x in y %}"}, "unique_identifier"),
        ({"color": "blue"}, "unknown keys color"),
        ({"token_request": {"url": "https://a.test/t", "body_format": "xml"}}, "token_request"),
        ({"expired_token_statuses": [200]}, "expired_token_statuses"),
        ({"fields": [{"key": "Bad Key", "label": "x", "type": "text"}]}, "Bad Key"),
        ({"fields": [{"key": "region", "label": "x", "type": "select"}]}, "needs choices"),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_key(plugin_data, change, message):
    plugin_data["auth_versions"][0].update(change)
    with pytest.raises(PluginFileError, match=message):
        import_plugin_data(plugin_data)
    assert not AuthVersion.objects.exists()


def test_export_leaves_secrets_out_by_default(plugin_data):
    plugin_data["auth_versions"][0]["fields"][1]["default"] = "default-api-key"
    import_plugin_data(plugin_data)
    text = json.dumps(export_plugin(Plugin.objects.get()))
    assert "acme-very-secret-value" not in text
    assert "default-api-key" not in text
    with_secrets = json.dumps(export_plugin(Plugin.objects.get(), include_secrets=True))
    assert "acme-very-secret-value" in with_secrets
    assert "default-api-key" in with_secrets


def test_round_trip_export_import_export_is_identical(all_grants_data):
    import_plugin_data(all_grants_data)
    first = export_plugin(Plugin.objects.get(), include_secrets=True)
    Plugin.objects.all().delete()
    import_plugin_data(first)
    assert export_plugin(Plugin.objects.get(), include_secrets=True) == first


def test_commands_round_trip_through_yaml_files(all_grants_data, tmp_path):
    source = tmp_path / "acme.yaml"
    source.write_text(yaml.safe_dump(all_grants_data))
    out = StringIO()
    call_command("import_plugin", str(source), stdout=out, stderr=StringIO())
    assert "acme: created v1, v2, v3" in out.getvalue()
    exported = StringIO()
    call_command("export_plugin", "acme", stdout=exported)
    assert "acme-very-secret-value" not in exported.getvalue()
    second = tmp_path / "again.yaml"
    second.write_text(exported.getvalue())
    out = StringIO()
    call_command("import_plugin", str(second), stdout=out, stderr=StringIO())
    assert "unchanged v1, v2, v3" in out.getvalue()
    assert AuthVersion.objects.get(version=1).client_secret == "acme-very-secret-value"


def test_command_reports_broken_files_and_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: [unclosed")
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 1"):
        call_command("import_plugin", str(bad), stdout=StringIO(), stderr=err)
    assert "not valid YAML" in err.getvalue()


def test_catalog_option_imports_by_name(monkeypatch):
    out = StringIO()
    call_command("import_plugin", catalog="github", stdout=out, stderr=StringIO())
    assert Plugin.objects.filter(slug="github").exists()
    with pytest.raises(CommandError, match="No catalogue entry"):
        call_command("import_plugin", catalog="nope", stdout=StringIO(), stderr=StringIO())
