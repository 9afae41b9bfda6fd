"""Form fields of the plugin builder: friendly editors that validate before anything is saved."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.plugins.models import AuthField, AuthVersion
from apps.plugins.validation import validate_auth_version, validate_fields

_SPLIT = re.compile(r"[\s,]+")


class ListField(forms.CharField):
    """A list edited as one item per line (scopes also accept spaces or commas)."""

    def __init__(self, *, split_spaces: bool = False, item_type: type = str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 80}))
        super().__init__(**kwargs)
        self.split_spaces, self.item_type = split_spaces, item_type

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[Any]:
        text = super().to_python(value) or ""
        parts = _SPLIT.split(text) if self.split_spaces else text.splitlines()
        items = [p.strip() for p in parts if p.strip()]
        try:
            return [self.item_type(item) for item in items]
        except ValueError as exc:
            raise ValidationError(f"Not a valid {self.item_type.__name__}: {exc}") from exc


class RequestSpecField(forms.CharField):
    """A request spec: a bare URL (POST with the RFC defaults) or a JSON object."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.Textarea(attrs={"rows": 4, "cols": 80, "spellcheck": "false"})
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return json.dumps(value, indent=2)
        return value

    def to_python(self, value: Any) -> Any:
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        if not text.startswith("{"):
            return text
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"Invalid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValidationError("A URL or a JSON object.")
        return data


class PrettyJSONField(forms.JSONField):
    """A JSON editor that shows indented JSON and names the parse error."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.Textarea(attrs={"rows": 4, "cols": 80, "spellcheck": "false"})
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value)
            except ValueError as exc:
                raise ValidationError(f"Invalid JSON: {exc}") from exc
        result = super().to_python(value)
        return {} if result is None else result


class AuthVersionForm(forms.ModelForm):
    """The auth version editor: client secret write-only, templates validated on save."""

    client_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Private: treat it like a password. Never shown again; leave blank to keep the current one.",
    )
    scopes = ListField(
        split_spaces=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text="Only the permissions you truly need. One per line (spaces or commas also separate).",
    )
    allowed_urls = ListField(
        help_text="One URL prefix per line. Be strict: only the API host and the paths you need, "
        "ending with / (https://api.example.com/ does not allow https://api.example.com.evil.io).",
    )
    expired_token_statuses = ListField(
        split_spaces=True,
        item_type=int,
        widget=forms.TextInput(attrs={"size": 20}),
        help_text="Provider API statuses that mean the token expired (default 401; some APIs send 403).",
    )
    token_request = RequestSpecField(
        help_text="A bare URL is a POST with grant_type, code, redirect_uri (and code_verifier with "
        'PKCE). Or JSON: {"method", "url", "headers", "query", "body", "body_format": "form|json", '
        '"client_auth": "body|basic|none"}. Handle invalid_grant gracefully: it usually means an '
        "expired or already used code.",
    )
    refresh_request = RequestSpecField(
        help_text="Gets a new access token without the user. Check whether the provider returns a "
        "refresh_token at all; a bare URL sends grant_type=refresh_token and refresh_token.",
    )
    revoke_request = RequestSpecField(
        help_text="Optional but recommended (RFC 7009: token + token_type_hint). Called on disconnect "
        "and when credentials are found invalid.",
    )
    test_request = RequestSpecField(
        help_text="A quick endpoint that always answers, e.g. /me or /user/profile. A bare URL is a GET "
        "with Authorization: Bearer {{ access_token }}; its JSON becomes {{ me }}.",
    )
    authorization_params = PrettyJSONField(
        help_text='Extra query parameters for the login URL, e.g. {"access_type": "offline", "prompt": "consent"}.'
    )
    token_response = PrettyJSONField(
        help_text="Dotted paths into the token response when it does not use the RFC names, e.g. "
        '{"access_token": "authed_user.access_token"}.',
    )
    request_params = PrettyJSONField(
        help_text='Defaults for every API call: {"headers": {"Authorization": "Bearer {{ access_token }}"}, '
        '"query": {"api_version": "2"}, "body": {}}. Don\'t put secrets here: tokens are handled for you.',
    )

    class Meta:
        model = AuthVersion
        fields = [
            f.name
            for f in AuthVersion._meta.fields
            if f.editable and f.name not in ("id", "status", "published_at")
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.pop("client_secret", None)
        if self.instance.pk and self.instance.client_secret:
            self.fields["client_secret"].help_text = (
                f"A secret is stored (ending …{self.instance.client_secret[-4:]}). "
                + self.fields["client_secret"].help_text
            )

    def clean_client_secret(self) -> str | None:
        new = self.cleaned_data.get("client_secret")
        return new or self.instance.client_secret

    def _submitted_field_keys(self) -> list[str]:
        keys = (
            set(self.instance.fields.values_list("key", flat=True)) if self.instance.pk else set()
        )
        prefix = "fields-"
        for name, value in self.data.items():
            match = re.fullmatch(rf"{prefix}(\d+)-key", name)
            if match and value and not self.data.get(f"{prefix}{match.group(1)}-DELETE"):
                keys.add(value)
        return sorted(keys)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        candidate = self.instance
        for name, value in cleaned.items():
            setattr(candidate, name, value)
        errors = validate_auth_version(
            candidate, field_keys=self._submitted_field_keys(), for_publish=False
        )
        for name, messages in errors.items():
            if name in self.errors:
                continue  # the field's own error (e.g. invalid JSON) says it already
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)
        return cleaned


class AuthFieldForm(forms.ModelForm):
    """One extra user field; a secret field's default is write-only."""

    choices = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 1, "cols": 24}),
        help_text='Select only: ["sandbox", "production"].',
    )

    class Meta:
        model = AuthField
        fields = [
            "order",
            "key",
            "label",
            "type",
            "required",
            "secret",
            "default",
            "choices",
            "help_text",
        ]
        widgets = {
            "default": forms.TextInput(attrs={"size": 14}),
            "help_text": forms.TextInput(attrs={"size": 28}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.secret:
            self.fields["default"].widget = forms.PasswordInput(
                render_value=False, attrs={"size": 14}
            )
            self.initial.pop("default", None)

    def clean_choices(self) -> Any:
        value = self.cleaned_data.get("choices")
        return [] if value in (None, {}) else value

    def clean_default(self) -> str | None:
        new = self.cleaned_data.get("default")
        if not new and self.instance.pk and self.instance.secret:
            return self.instance.default
        return new or None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        problems = validate_fields([{**cleaned, "choices": cleaned.get("choices") or []}])
        for message in problems.get("fields", []):
            if "twice" not in message:
                self.add_error(None, message)
        return cleaned
