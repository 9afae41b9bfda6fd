"""Writes for plugins and auth versions: validate, publish, clone, archive, rotate the secret."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.plugins.models import (
    AUTH_FIELD_ATTRIBUTES,
    AUTH_VERSION_CONFIG_FIELDS,
    AuthField,
    AuthVersion,
    VersionStatus,
)
from apps.plugins.validation import raise_for_errors, validate_auth_version

OAUTH_CALLBACK_PATH = "/oauth/callback/"


def oauth_redirect_uri() -> str:
    """The deployment's one OAuth redirect (callback) URL, to register at every provider."""
    return settings.PUBLIC_BASE_URL + OAUTH_CALLBACK_PATH


def field_keys_of(version: AuthVersion) -> list[str]:
    """The keys of a saved version's extra fields."""
    return list(version.fields.values_list("key", flat=True)) if version.pk else []


def auth_version_validate(*, version: AuthVersion, for_publish: bool = True) -> None:
    """Raise ValidationError (keyed by field) unless the version is valid."""
    raise_for_errors(
        validate_auth_version(version, field_keys=field_keys_of(version), for_publish=for_publish)
    )


@transaction.atomic
def auth_version_publish(*, version: AuthVersion) -> AuthVersion:
    """Validate the whole config, then freeze the draft as published."""
    if version.status != VersionStatus.DRAFT:
        raise ValueError(f"Only drafts can be published; this version is {version.status}.")
    auth_version_validate(version=version, for_publish=True)
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.save()
    return version


@transaction.atomic
def auth_version_clone(*, version: AuthVersion) -> AuthVersion:
    """A new draft with the next version number, copying the config and fields."""
    next_number = (version.plugin.auth_versions.aggregate(n=Max("version"))["n"] or 0) + 1
    draft = AuthVersion(plugin=version.plugin, version=next_number, status=VersionStatus.DRAFT)
    for name in AUTH_VERSION_CONFIG_FIELDS:
        setattr(draft, name, getattr(version, name))
    draft.save()
    for field in version.fields.all():
        AuthField.objects.create(
            auth_version=draft,
            **{name: getattr(field, name) for name in [*AUTH_FIELD_ATTRIBUTES, "order"]},
        )
    return draft


def auth_version_archive(*, version: AuthVersion) -> AuthVersion:
    """Stop offering a published version; its connections keep working."""
    if version.status != VersionStatus.PUBLISHED:
        raise ValueError(
            f"Only published versions can be archived; this version is {version.status}."
        )
    version.status = VersionStatus.ARCHIVED
    version.save(update_fields=["status", "updated_at"])
    return version


def auth_version_set_client_secret(*, version: AuthVersion, client_secret: str) -> AuthVersion:
    """Rotate the client secret, also on a published version (connections keep refreshing)."""
    version.client_secret = client_secret or None
    version.save(update_fields=["client_secret", "updated_at"])
    return version
