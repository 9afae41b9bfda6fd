"""Plugins, their auth versions (one OAuth 2.0 config each) and the extra user fields."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.core.fields import EncryptedTextField


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    PASSWORD = "password", "Password (ROPC, legacy)"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class ScopeSeparator(models.TextChoices):
    SPACE = " ", "Space (RFC 6749)"
    COMMA = ",", "Comma"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    PASSWORD = "password", "Password"
    SELECT = "select", "Select"
    URL = "url", "URL"
    NUMBER = "number", "Number"


# An auth version's configuration, in the plugin file's order (everything but plugin, version, status).
AUTH_VERSION_CONFIG_FIELDS = [
    "grant_type",
    "client_id",
    "client_secret",
    "authorization_url",
    "issuer",
    "scopes",
    "scope_separator",
    "authorization_params",
    "pkce",
    "token_request",
    "refresh_request",
    "revoke_request",
    "test_request",
    "token_response",
    "connection_label",
    "unique_identifier",
    "allowed_urls",
    "request_params",
    "refresh_lead_seconds",
    "default_expires_in",
    "keepalive_seconds",
    "expired_token_statuses",
    "health_check_seconds",
]
AUTH_FIELD_ATTRIBUTES = [
    "key",
    "label",
    "type",
    "required",
    "help_text",
    "secret",
    "default",
    "choices",
]


class PublishedVersionImmutable(Exception):
    """A published auth version (or its fields) was about to change."""


def _default_expired_statuses() -> list[int]:
    return [401]


def _default_request_params() -> dict[str, dict[str, str]]:
    return {"headers": {}, "query": {}, "body": {}}


class Plugin(models.Model):
    """A third-party API that tenants can connect to."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    icon = models.CharField(
        max_length=500, blank=True, help_text="An emoji or an https URL of a square image."
    )
    api_base_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="Base URL the proxy forwards to, e.g. https://api.example.com/v1/ "
        "(a template: https://{{ fields.subdomain }}.example.com/api/).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuthVersion(models.Model):
    """One OAuth 2.0 configuration of one grant type; immutable once published."""

    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="auth_versions")
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    grant_type = models.CharField(max_length=32, choices=GrantType.choices)

    client_id = models.CharField(max_length=500, blank=True)
    client_secret = EncryptedTextField(null=True, blank=True)

    authorization_url = models.CharField(max_length=2000, blank=True)
    issuer = models.CharField(max_length=500, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    scope_separator = models.CharField(
        max_length=1, choices=ScopeSeparator.choices, default=ScopeSeparator.SPACE
    )
    authorization_params = models.JSONField(default=dict, blank=True)
    pkce = models.BooleanField(default=True)

    token_request = models.JSONField(null=True, blank=True)
    refresh_request = models.JSONField(null=True, blank=True)
    revoke_request = models.JSONField(null=True, blank=True)
    test_request = models.JSONField(null=True, blank=True)
    token_response = models.JSONField(default=dict, blank=True)

    connection_label = models.CharField(max_length=500, blank=True)
    unique_identifier = models.CharField(max_length=500, blank=True)
    allowed_urls = models.JSONField(default=list, blank=True)
    request_params = models.JSONField(default=_default_request_params, blank=True)

    refresh_lead_seconds = models.PositiveIntegerField(default=300)
    default_expires_in = models.PositiveIntegerField(null=True, blank=True)
    keepalive_seconds = models.PositiveIntegerField(null=True, blank=True, default=86400)
    expired_token_statuses = models.JSONField(default=_default_expired_statuses, blank=True)
    health_check_seconds = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plugin__name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["plugin", "version"], name="uniq_authversion_plugin_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plugin} v{self.version} ({self.get_grant_type_display()}, {self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        stored = getattr(self, "_stored_status", None)
        if stored in (VersionStatus.PUBLISHED, VersionStatus.ARCHIVED):
            update_fields = set(kwargs.get("update_fields") or ())
            archiving = (
                stored == VersionStatus.PUBLISHED
                and self.status == VersionStatus.ARCHIVED
                and update_fields
                and update_fields <= {"status", "updated_at"}
            )
            # A provider-side secret rotation must reach every connection of the version.
            rotating_secret = bool(update_fields) and update_fields <= {
                "client_secret",
                "updated_at",
            }
            if not (archiving or rotating_secret):
                raise PublishedVersionImmutable(
                    f"{self.plugin} v{self.version} is {stored}: clone it to a new draft to change it."
                )
        super().save(*args, **kwargs)
        self._stored_status = self.status

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_stored_status", self.status) != VersionStatus.DRAFT:
            raise PublishedVersionImmutable(
                f"{self.plugin} v{self.version} is {self.status}: only drafts can be deleted."
            )
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> AuthVersion:
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status")
        return instance

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED

    @property
    def is_editable(self) -> bool:
        """Only drafts may change; published and archived versions are frozen."""
        return getattr(self, "_stored_status", self.status) == VersionStatus.DRAFT


class AuthField(models.Model):
    """An extra field the user fills in when connecting (region, subdomain, API key...)."""

    auth_version = models.ForeignKey(AuthVersion, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(max_length=64, help_text="Used in templates as fields.<key>.")
    label = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=FieldType.choices, default=FieldType.TEXT)
    required = models.BooleanField(default=True)
    choices = models.JSONField(
        default=list,
        blank=True,
        help_text='For select fields: ["a", "b"] or [{"value": "a", "label": "A"}].',
    )
    default = EncryptedTextField(null=True, blank=True)
    help_text = models.CharField(max_length=500, blank=True)
    secret = models.BooleanField(
        default=False, help_text="Stored encrypted and never shown back (API keys, passwords)."
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["auth_version", "key"], name="uniq_authfield_version_key"
            )
        ]

    def __str__(self) -> str:
        return self.label

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._guard()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._guard()
        return super().delete(*args, **kwargs)

    def _guard(self) -> None:
        version = AuthVersion.objects.only("status").get(pk=self.auth_version_id)
        if version.status != VersionStatus.DRAFT:
            raise PublishedVersionImmutable(
                f"The fields of a {version.status} version cannot change: clone it to a new draft."
            )
