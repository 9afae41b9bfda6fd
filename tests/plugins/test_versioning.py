"""Draft / published / archived: published versions are frozen at the model level."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.plugins.models import AuthField, AuthVersion, PublishedVersionImmutable, VersionStatus
from apps.plugins.plugin_files import import_plugin_data
from apps.plugins.services import (
    auth_version_archive,
    auth_version_clone,
    auth_version_publish,
    auth_version_set_client_secret,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(plugin_data) -> AuthVersion:
    import_plugin_data(plugin_data)
    return AuthVersion.objects.get()


def test_published_version_cannot_be_saved_with_changes(published):
    published.scopes = ["everything"]
    with pytest.raises(PublishedVersionImmutable, match="clone it"):
        published.save()
    assert AuthVersion.objects.get().scopes == ["read", "profile"]


def test_published_version_cannot_be_deleted(published):
    with pytest.raises(PublishedVersionImmutable):
        published.delete()


def test_fields_of_a_published_version_cannot_change(published):
    field = published.fields.first()
    field.label = "Changed"
    with pytest.raises(PublishedVersionImmutable):
        field.save()
    with pytest.raises(PublishedVersionImmutable):
        AuthField.objects.create(auth_version=published, key="extra", label="Extra")
    with pytest.raises(PublishedVersionImmutable):
        field.delete()


def test_client_secret_can_be_rotated_on_a_published_version(published):
    auth_version_set_client_secret(version=published, client_secret="new-secret")
    assert AuthVersion.objects.get().client_secret == "new-secret"


def test_clone_makes_an_editable_draft_with_the_next_number_and_fields(published):
    draft = auth_version_clone(version=published)
    assert (draft.version, draft.status) == (2, VersionStatus.DRAFT)
    assert draft.client_secret == published.client_secret
    assert list(draft.fields.values_list("key", flat=True)) == ["region", "api_key"]
    draft.scopes = ["read"]
    draft.save()
    assert AuthVersion.objects.get(pk=published.pk).scopes == ["read", "profile"]


def test_publish_validates_the_whole_config(published):
    draft = auth_version_clone(version=published)
    draft.test_request = None
    draft.save()
    with pytest.raises(ValidationError) as excinfo:
        auth_version_publish(version=draft)
    assert "test_request" in excinfo.value.message_dict
    assert AuthVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT


def test_publish_refuses_a_missing_client_secret(published):
    draft = auth_version_clone(version=published)
    draft.client_secret = None
    draft.save()
    with pytest.raises(ValidationError, match="client_secret"):
        auth_version_publish(version=draft)


def test_archive_freezes_a_published_version(published):
    auth_version_archive(version=published)
    archived = AuthVersion.objects.get()
    assert archived.status == VersionStatus.ARCHIVED
    archived.status = VersionStatus.PUBLISHED
    with pytest.raises(PublishedVersionImmutable):
        archived.save()
    archived.refresh_from_db()
    with pytest.raises(ValueError, match="Only published"):
        auth_version_archive(version=archived)
