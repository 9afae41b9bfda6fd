"""Output serializers shared by several API views (inputs are nested in their views).

Nothing here ever renders a token, a client secret or the value of a secret field.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api.exceptions import reconnect_url
from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus
from apps.oauth.forms import AuthFieldsForm
from apps.plugins.models import AuthVersion, FieldType, Plugin

NEVER_SHOWN_FIELD_KEYS = frozenset({"password", "client_secret"})


def secret_field_keys(auth_version: AuthVersion) -> set[str]:
    """Keys of the version's fields whose values are never shown back."""
    keys = {f.key for f in auth_version.fields.all() if f.secret or f.type == FieldType.PASSWORD}
    return keys | NEVER_SHOWN_FIELD_KEYS


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable code and a message for a person; some errors add facts."""

    error = serializers.CharField(help_text="A stable code, e.g. not_found, provider_error.")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.JSONField(
        required=False, help_text="Validation errors (400): messages by field."
    )
    reconnect_url = serializers.URLField(
        required=False, help_text="needs_reauth (409): where a member reconnects the account."
    )
    url = serializers.CharField(required=False, help_text="url_not_allowed (403): the URL.")
    provider_status = serializers.IntegerField(required=False)
    provider_error = serializers.CharField(required=False)
    provider_error_description = serializers.CharField(required=False)


class ConnectionSerializer(serializers.ModelSerializer):
    """A connection without its tokens or secret field values."""

    plugin = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    auth_version = serializers.IntegerField(source="auth_version.version", read_only=True)
    fields = serializers.SerializerMethodField(
        method_name="shown_field_values",
        help_text="The values of the connection's non-secret fields.",
    )
    reconnect_url = serializers.SerializerMethodField(
        help_text="Set when the connection needs to be reconnected by a member of the tenant."
    )

    class Meta:
        model = Connection
        fields = [
            "id",
            "plugin",
            "auth_version",
            "external_user_id",
            "label",
            "unique_identifier",
            "status",
            "granted_scopes",
            "fields",
            "expires_at",
            "last_refreshed_at",
            "last_tested_at",
            "last_error",
            "failure_count",
            "created_at",
            "updated_at",
            "reconnect_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def shown_field_values(self, connection: Connection) -> dict[str, Any]:
        """Non-secret field values only."""
        hidden = secret_field_keys(connection.auth_version)
        return {
            key: value
            for key, value in (connection.field_values or {}).items()
            if key not in hidden
        }

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_reconnect_url(self, connection: Connection) -> str | None:
        if connection.status in (ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.REVOKED):
            return reconnect_url(connection)
        return None


class EventSerializer(serializers.ModelSerializer):
    """One audit log entry (kept after its connection is deleted)."""

    connection_id = serializers.UUIDField(source="connection_ref", read_only=True)

    class Meta:
        model = ConnectionEvent
        fields = ["id", "connection_id", "kind", "detail", "created_at"]
        read_only_fields = fields


class FieldSerializer(serializers.Serializer):
    """A field to send when connecting (the version's own fields and those its grant needs)."""

    key = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=FieldType.choices)
    required = serializers.BooleanField()
    secret = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.JSONField(), required=False)
    default = serializers.CharField(
        allow_null=True, help_text="Null for secret fields: their defaults are never shown."
    )
    help_text = serializers.CharField(allow_blank=True)


def version_fields(auth_version: AuthVersion) -> list[dict[str, Any]]:
    """The fields a connect form asks for, described without any secret default."""
    form = AuthFieldsForm(auth_version=auth_version)
    described = []
    for key, form_field in form.fields.items():
        auth_field = form.auth_fields.get(key)
        if auth_field is not None:
            secret = auth_field.secret or auth_field.type == FieldType.PASSWORD
            described.append(
                {
                    "key": key,
                    "label": auth_field.label,
                    "type": auth_field.type,
                    "required": form_field.required,
                    "secret": secret,
                    "choices": auth_field.choices or [],
                    "default": None if secret else (auth_field.default or None),
                    "help_text": auth_field.help_text,
                }
            )
            continue
        secret = key in NEVER_SHOWN_FIELD_KEYS
        described.append(
            {
                "key": key,
                "label": str(form_field.label or key),
                "type": FieldType.PASSWORD if secret else FieldType.TEXT,
                "required": form_field.required,
                "secret": secret,
                "choices": [],
                "default": None,
                "help_text": str(form_field.help_text or ""),
            }
        )
    return described


class AuthVersionSerializer(serializers.Serializer):
    """A published auth version: its grant and the fields to send (never its client secret)."""

    version = serializers.IntegerField()
    grant_type = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    fields = serializers.SerializerMethodField(method_name="described_fields")

    @extend_schema_field(FieldSerializer(many=True))
    def described_fields(self, auth_version: AuthVersion) -> list[dict[str, Any]]:
        """The fields to send when connecting."""
        return version_fields(auth_version)


class PluginSerializer(serializers.ModelSerializer):
    """A plugin tenants can connect, with its published auth versions (newest first)."""

    auth_versions = AuthVersionSerializer(many=True, source="published_versions")

    class Meta:
        model = Plugin
        fields = ["slug", "name", "description", "icon", "auth_versions"]
        read_only_fields = fields
