"""Every catalogue file imports, validates and round-trips."""

from __future__ import annotations

import pytest

from apps.plugins.models import AuthVersion, VersionStatus
from apps.plugins.plugin_files import (
    CATALOG_DIR,
    catalog_files,
    export_plugin,
    import_plugin_data,
    import_plugin_file,
    load_plugin_file,
)
from apps.plugins.services import auth_version_validate

pytestmark = pytest.mark.django_db
CATALOG = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))


def test_catalogue_has_at_least_fifteen_providers():
    assert len(CATALOG) >= 15


@pytest.fixture
def provider_credentials(monkeypatch):
    """Set every env: placeholder the catalogue mentions, as a deployment would."""
    import re

    for path in catalog_files("all"):
        for name in re.findall(r"env:([A-Z0-9_]+)", path.read_text()):
            monkeypatch.setenv(name, f"value-of-{name.lower()}")


@pytest.mark.parametrize("name", CATALOG)
def test_catalogue_file_imports_published_and_valid(name, provider_credentials):
    result = import_plugin_file(CATALOG_DIR / f"{name}.yaml")
    assert result.created
    assert not result.warnings
    for version in AuthVersion.objects.filter(plugin=result.plugin):
        assert version.status == VersionStatus.PUBLISHED
        auth_version_validate(version=version, for_publish=True)


@pytest.mark.parametrize("name", CATALOG)
def test_catalogue_file_import_is_idempotent_and_round_trips(name, provider_credentials):
    path = CATALOG_DIR / f"{name}.yaml"
    first = import_plugin_file(path)
    again = import_plugin_file(path)
    assert not again.changed
    exported = export_plugin(first.plugin)
    import_plugin_data(exported, source="export")
    assert export_plugin(first.plugin) == exported
    assert load_plugin_file(path)["slug"] == first.plugin.slug


def test_catalogue_without_credentials_imports_drafts_with_warnings(monkeypatch):
    result = import_plugin_file(CATALOG_DIR / "google.yaml")
    assert result.warnings
    assert "GOOGLE_CLIENT_ID" in result.warnings[0]
    assert AuthVersion.objects.get(plugin=result.plugin).status == VersionStatus.DRAFT
