"""Input helpers: strict serializers and checking the `fields` of a connect against its version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from apps.api.serializers import secret_field_keys
from apps.oauth.forms import AuthFieldsForm
from apps.oauth.selectors import auth_version_for_connect
from apps.plugins.models import AuthVersion


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know (a typo must not be silently ignored)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, Mapping):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in unknown}, code="unknown_field"
                )
        return super().validate(attrs)


def resolve_auth_version(plugin: str, version: int | None) -> AuthVersion:
    """The published auth version to connect with, or a field-level validation error."""
    try:
        return auth_version_for_connect(plugin_slug=plugin, version=version)
    except AuthVersion.DoesNotExist:
        if version is not None and auth_version_for_connect_exists(plugin):
            raise serializers.ValidationError(
                {"auth_version": [f"{plugin} has no published auth version {version}."]}
            ) from None
        raise serializers.ValidationError(
            {"plugin": [f"No published plugin {plugin!r}."]}
        ) from None


def auth_version_for_connect_exists(plugin: str) -> bool:
    """True when the plugin has any published auth version."""
    try:
        auth_version_for_connect(plugin_slug=plugin)
    except AuthVersion.DoesNotExist:
        return False
    return True


def _scalar_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        key: ["Must be a string, a number or a boolean."]
        for key, value in values.items()
        if value is not None and not isinstance(value, str | int | float | bool)
    }


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def clean_field_values(auth_version: AuthVersion, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the values of a direct connect like the web form does; errors are by field key."""
    form = AuthFieldsForm(
        {key: _as_text(value) for key, value in values.items()}, auth_version=auth_version
    )
    errors: dict[str, list[str]] = {
        key: [f"Unknown field: expected one of {', '.join(form.fields) or 'none'}."]
        for key in values
        if key not in form.fields
    }
    errors.update(_scalar_errors(values))
    if not errors and not form.is_valid():
        errors = {
            ("non_field_errors" if key == "__all__" else key): list(messages)
            for key, messages in form.errors.items()
        }
    if errors:
        raise serializers.ValidationError({"fields": errors})
    return form.field_values()


def clean_prefilled_fields(auth_version: AuthVersion, values: Mapping[str, Any]) -> dict[str, Any]:
    """Prefilled values: known, non-secret fields only (the end user can still change them)."""
    form = AuthFieldsForm(auth_version=auth_version)
    secret = secret_field_keys(auth_version)
    errors: dict[str, list[str]] = {}
    for key in values:
        if key not in form.fields:
            errors[key] = [f"Unknown field: expected one of {', '.join(form.fields) or 'none'}."]
        elif key in secret:
            errors[key] = ["Secret fields cannot be prefilled: the end user types them."]
    errors.update(_scalar_errors(values))
    if errors:
        raise serializers.ValidationError({"prefilled_fields": errors})
    return {key: value for key, value in values.items() if value is not None}


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Document that strict request bodies accept no other keys."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
