"""The plugin file format (YAML or JSON): import, export and the bundled catalogue."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.plugins.errors import ConfigurationError
from apps.plugins.models import (
    AUTH_FIELD_ATTRIBUTES,
    AUTH_VERSION_CONFIG_FIELDS,
    AuthField,
    AuthVersion,
    FieldType,
    GrantType,
    Plugin,
    VersionStatus,
)
from apps.plugins.services import (
    auth_version_archive,
    auth_version_publish,
    auth_version_set_client_secret,
)
from apps.plugins.validation import validate_auth_version, validate_fields

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
ENV_PREFIX = "env:"

PLUGIN_KEYS = ["slug", "name", "description", "icon", "api_base_url", "auth_versions"]
# Exported in this order; the model default is used for a key a file leaves out.
_PKCE_AT = AUTH_VERSION_CONFIG_FIELDS.index("pkce") + 1
VERSION_KEYS = [
    "version",
    "status",
    *AUTH_VERSION_CONFIG_FIELDS[:_PKCE_AT],
    "fields",
    *AUTH_VERSION_CONFIG_FIELDS[_PKCE_AT:],
]
FIELD_KEYS = AUTH_FIELD_ATTRIBUTES
_NULLABLE_TEXT = {"authorization_url", "issuer"}
_MODEL_VALUE_KEYS = AUTH_VERSION_CONFIG_FIELDS
_CREDENTIAL_ERRORS = {"client_id", "client_secret"}


class PluginFileError(ConfigurationError):
    """A plugin file that cannot be imported; the message names the file and the key."""


@dataclass
class ImportResult:
    """What an import did, for the command's report."""

    plugin: Plugin
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def load_plugin_file(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON plugin file into a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PluginFileError(f"{path}: cannot read ({exc.strerror}).") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PluginFileError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise PluginFileError(
            f"{path}: the top level must be a mapping with slug, name and auth_versions."
        )
    return data


def catalog_files(name: str) -> list[Path]:
    """The catalogue file for NAME, or every catalogue file for 'all'."""
    if name == "all":
        return sorted(CATALOG_DIR.glob("*.yaml"))
    path = CATALOG_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(CATALOG_DIR.glob("*.yaml")))
        raise PluginFileError(f"No catalogue entry {name!r}. Known: {known}.")
    return [path]


# ----------------------------------------------------------------------------- export


def _version_model_values(version: AuthVersion, *, include_secrets: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in _MODEL_VALUE_KEYS:
        value = getattr(version, key)
        if key in _NULLABLE_TEXT and value == "":
            value = None
        data[key] = value
    if include_secrets:
        data["client_secret"] = version.client_secret or None
    else:
        data.pop("client_secret")
    return data


def _fields_data(version: AuthVersion, *, include_secrets: bool) -> list[dict[str, Any]]:
    out = []
    for auth_field in version.fields.all():
        item = {key: getattr(auth_field, key) for key in FIELD_KEYS}
        if auth_field.secret and not include_secrets:
            item.pop("default")
        out.append(item)
    return out


def export_version(version: AuthVersion, *, include_secrets: bool = False) -> dict[str, Any]:
    """One auth version as a file mapping, keys in the documented order."""
    values = _version_model_values(version, include_secrets=include_secrets)
    values["fields"] = _fields_data(version, include_secrets=include_secrets)
    values["version"], values["status"] = version.version, version.status
    return {key: values[key] for key in VERSION_KEYS if key in values}


def export_plugin(plugin: Plugin, *, include_secrets: bool = False) -> dict[str, Any]:
    """A plugin and all its versions as a file mapping (secrets left out unless asked)."""
    versions = plugin.auth_versions.order_by("version").prefetch_related("fields")
    return {
        "slug": plugin.slug,
        "name": plugin.name,
        "description": plugin.description,
        "icon": plugin.icon,
        "api_base_url": plugin.api_base_url,
        "auth_versions": [export_version(v, include_secrets=include_secrets) for v in versions],
    }


def dump_plugin(data: dict[str, Any], *, fmt: str = "yaml") -> str:
    """Serialize an exported plugin as YAML or JSON text."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# ----------------------------------------------------------------------------- import


@dataclass
class _VersionSpec:
    number: int
    status: str
    values: dict[str, Any]
    fields: list[dict[str, Any]]
    secret_given: bool
    unset_env: list[str]


def _resolve_env(value: Any, where: str, unset: list[str]) -> Any:
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :]
        resolved = os.environ.get(name, "")
        if not resolved:
            unset.append(f"{where} ({name})")
        return resolved
    return value


def _parse_field(raw: Any, where: str, unset: list[str], index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PluginFileError(f"{where}: each field is a mapping with key, label and type.")
    unknown = set(raw) - set(FIELD_KEYS)
    if unknown:
        raise PluginFileError(f"{where}: unknown keys {', '.join(sorted(unknown))}.")
    item = {
        "key": raw.get("key") or "",
        "label": raw.get("label") or raw.get("key") or "",
        "type": raw.get("type", FieldType.TEXT),
        "required": bool(raw.get("required", True)),
        "help_text": raw.get("help_text") or "",
        "secret": bool(raw.get("secret", False)),
        "choices": raw.get("choices") or [],
        "order": index,
    }
    default = _resolve_env(raw.get("default"), f"{where}.default", unset)
    item["default"] = None if default in (None, "") else str(default)
    return item


def _parse_version(raw: Any, where: str) -> _VersionSpec:
    if not isinstance(raw, dict):
        raise PluginFileError(f"{where}: must be a mapping.")
    unknown = set(raw) - set(VERSION_KEYS)
    if unknown:
        raise PluginFileError(f"{where}: unknown keys {', '.join(sorted(unknown))}.")
    number = raw.get("version")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise PluginFileError(f"{where}.version: a whole number from 1 up.")
    status = raw.get("status", VersionStatus.DRAFT)
    if status not in VersionStatus.values:
        raise PluginFileError(
            f"{where}.status: one of draft, published, archived (got {status!r})."
        )
    grant = raw.get("grant_type")
    if grant not in GrantType.values:
        raise PluginFileError(
            f"{where}.grant_type: one of {', '.join(GrantType.values)} (got {grant!r})."
        )
    unset: list[str] = []
    defaults = AuthVersion()
    values: dict[str, Any] = {}
    for key in _MODEL_VALUE_KEYS:
        if key in raw:
            value = raw[key]
            if key in ("client_id", "client_secret"):
                value = _resolve_env(value, f"{where}.{key}", unset)
            if key in _NULLABLE_TEXT or key in ("client_id",):
                value = value or ""
            values[key] = value
        elif key != "client_secret":
            values[key] = getattr(defaults, key)
    raw_fields = raw.get("fields") or []
    if not isinstance(raw_fields, list):
        raise PluginFileError(f"{where}.fields: a list of field mappings.")
    fields = [
        _parse_field(item, f"{where}.fields[{i}]", unset, i) for i, item in enumerate(raw_fields)
    ]
    return _VersionSpec(number, status, values, fields, "client_secret" in raw, unset)


def _comparable(values: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if k != "client_secret"}
    for key in _NULLABLE_TEXT:
        data[key] = data.get(key) or ""
    data["fields"] = [
        {k: v for k, v in f.items() if k in FIELD_KEYS and not (k == "default" and f["secret"])}
        for f in fields
    ]
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def _stored_comparable(version: AuthVersion) -> dict[str, Any]:
    values = {key: getattr(version, key) for key in _MODEL_VALUE_KEYS if key != "client_secret"}
    fields = [{key: getattr(f, key) for key in FIELD_KEYS} for f in version.fields.all()]
    return _comparable(values, fields)


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))


def _write_draft(version: AuthVersion, spec: _VersionSpec) -> None:
    for key, value in spec.values.items():
        setattr(version, key, value)
    version.save()
    version.fields.all().delete()
    for item in spec.fields:
        AuthField.objects.create(auth_version=version, **item)


def _raise_validation(where: str, exc: ValidationError) -> None:
    parts = [f"{where}.{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items()]
    raise PluginFileError("; ".join(parts)) from exc


def _import_version(plugin: Plugin, spec: _VersionSpec, where: str, result: ImportResult) -> None:
    for problem in validate_fields(spec.fields).get("fields", []):
        raise PluginFileError(f"{where}.fields: {problem}")
    existing = plugin.auth_versions.filter(version=spec.number).first()
    wanted = _comparable(spec.values, spec.fields)

    if existing is not None and existing.status != VersionStatus.DRAFT:
        diff = _differences(_stored_comparable(existing), wanted)
        if diff:
            raise PluginFileError(
                f"{where}: version {spec.number} is {existing.status} and the file differs "
                f"({', '.join(diff)}). Published versions never change: give the new "
                "configuration a new version number."
            )
        changed = False
        if (
            spec.secret_given
            and (spec.values.get("client_secret") or None) != existing.client_secret
        ):
            auth_version_set_client_secret(
                version=existing, client_secret=spec.values["client_secret"]
            )
            changed = True
        if spec.status == VersionStatus.ARCHIVED and existing.status == VersionStatus.PUBLISHED:
            auth_version_archive(version=existing)
            changed = True
        elif spec.status != existing.status:
            raise PluginFileError(
                f"{where}: version {spec.number} is {existing.status}; it cannot become {spec.status}."
            )
        (result.updated if changed else result.unchanged).append(spec.number)
        return

    version = existing or AuthVersion(plugin=plugin, version=spec.number)
    same = (
        existing is not None
        and _stored_comparable(existing) == wanted
        and (
            not spec.secret_given
            or (spec.values.get("client_secret") or None) == existing.client_secret
        )
    )
    if not same:
        if existing is not None and not spec.secret_given:
            spec.values["client_secret"] = existing.client_secret
        _write_draft(version, spec)
    keys = [f["key"] for f in spec.fields]
    lenient = validate_auth_version(version, field_keys=keys, for_publish=False)
    if lenient:
        _raise_validation(where, ValidationError(lenient))

    if spec.status == VersionStatus.DRAFT:
        (result.unchanged if same else result.updated if existing else result.created).append(
            spec.number
        )
        return
    strict = validate_auth_version(version, field_keys=keys, for_publish=True)
    if strict and set(strict) <= _CREDENTIAL_ERRORS and spec.unset_env:
        result.warnings.append(
            f"{where}: imported as a draft because {', '.join(spec.unset_env)} "
            "is not set; set the client credentials, then publish it."
        )
        (result.unchanged if same else result.updated if existing else result.created).append(
            spec.number
        )
        return
    if strict:
        _raise_validation(where, ValidationError(strict))
    auth_version_publish(version=version)
    if spec.status == VersionStatus.ARCHIVED:
        auth_version_archive(version=version)
    (result.updated if existing else result.created).append(spec.number)


def _check_plugin_keys(data: dict[str, Any], source: str) -> None:
    unknown = set(data) - set(PLUGIN_KEYS)
    if unknown:
        raise PluginFileError(f"{source}: unknown keys {', '.join(sorted(unknown))}.")
    for key in ("slug", "name"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PluginFileError(f"{source}: {key} is required.")
    versions = data.get("auth_versions")
    if not isinstance(versions, list) or not versions:
        raise PluginFileError(f"{source}: auth_versions must list at least one version.")
    numbers = [v.get("version") for v in versions if isinstance(v, dict)]
    if len(numbers) != len(set(numbers)):
        raise PluginFileError(f"{source}: a version number appears twice.")


@transaction.atomic
def import_plugin_data(data: dict[str, Any], *, source: str = "<data>") -> ImportResult:
    """Create or update a plugin from a file mapping; all or nothing, idempotent."""
    _check_plugin_keys(data, source)
    plugin = Plugin.objects.filter(slug=data["slug"]).first()
    attrs = {
        "name": data["name"],
        "description": data.get("description") or "",
        "icon": data.get("icon") or "",
        "api_base_url": data.get("api_base_url") or "",
    }
    if plugin is None:
        plugin = Plugin(slug=data["slug"], **attrs)
        try:
            plugin.full_clean(exclude=["api_base_url"])
        except ValidationError as exc:
            _raise_validation(source, exc)
        plugin.save()
    elif any(getattr(plugin, k) != v for k, v in attrs.items()):
        for key, value in attrs.items():
            setattr(plugin, key, value)
        plugin.save()
    result = ImportResult(plugin=plugin)
    for index, raw in enumerate(data["auth_versions"]):
        where = f"{source}: auth_versions[{index}]"
        _import_version(plugin, _parse_version(raw, where), where, result)
    return result


def import_plugin_file(path: Path) -> ImportResult:
    """Import one YAML or JSON plugin file."""
    return import_plugin_data(load_plugin_file(path), source=path.name)
