"""The connect form: an auth version's fields, plus the credentials its grant type needs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from apps.plugins.models import AuthField, AuthVersion, FieldType, GrantType

# Fields the form adds when the auth version does not define them itself.
_CLIENT_CREDENTIALS_FIELDS = (
    ("client_id", "Client ID", False, "The client ID issued to you by the provider."),
    ("client_secret", "Client secret", True, "Kept encrypted; never shown again."),
)
_PASSWORD_FIELDS = (
    ("username", "Username", False, "Your username at the provider."),
    (
        "password",
        "Password",
        True,
        "Kept encrypted only if needed to get new tokens; never shown again.",
    ),
)


def _select_choices(choices: list[Any]) -> list[tuple[str, str]]:
    """Accept ["a", "b"] or [{"value": "a", "label": "A"}]."""
    result = []
    for choice in choices:
        if isinstance(choice, dict):
            value = str(choice.get("value", ""))
            result.append((value, str(choice.get("label") or value)))
        else:
            result.append((str(choice), str(choice)))
    return result


def _form_field(auth_field: AuthField) -> forms.Field:
    """The Django form field for one AuthField."""
    secret = auth_field.secret or auth_field.type == FieldType.PASSWORD
    has_default = auth_field.default not in (None, "")
    common: dict[str, Any] = {
        "label": auth_field.label,
        "help_text": auth_field.help_text,
        # A secret's default is never rendered back; leaving the input empty keeps it.
        "required": auth_field.required and not (secret and has_default),
    }
    if not secret and has_default:
        common["initial"] = auth_field.default
    if secret:
        return forms.CharField(
            widget=forms.PasswordInput(render_value=False), strip=False, **common
        )
    if auth_field.type == FieldType.SELECT:
        choices = _select_choices(auth_field.choices or [])
        if not auth_field.required:
            choices = [("", "---------"), *choices]
        return forms.ChoiceField(choices=choices, **common)
    if auth_field.type == FieldType.URL:
        return forms.URLField(assume_scheme="https", **common)
    if auth_field.type == FieldType.NUMBER:
        return forms.DecimalField(**common)
    return forms.CharField(**common)


class AuthFieldsForm(forms.Form):
    """The fields a user fills in to connect with one auth version."""

    def __init__(self, *args: Any, auth_version: AuthVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth_version = auth_version
        self.auth_fields = {f.key: f for f in auth_version.fields.all()}
        for key, auth_field in self.auth_fields.items():
            self.fields[key] = _form_field(auth_field)
        for key, label, secret, help_text in self._implicit_fields():
            if key in self.fields:
                continue
            widget = forms.PasswordInput(render_value=False) if secret else None
            self.fields[key] = forms.CharField(
                label=label, help_text=help_text, widget=widget, strip=not secret
            )

    def _implicit_fields(self) -> tuple[tuple[str, str, bool, str], ...]:
        grant_type = self.auth_version.grant_type
        if grant_type == GrantType.PASSWORD:
            return _PASSWORD_FIELDS
        if grant_type == GrantType.CLIENT_CREDENTIALS and not self.auth_version.client_id:
            return _CLIENT_CREDENTIALS_FIELDS
        return ()

    @property
    def has_visible_fields(self) -> bool:
        """False when there is nothing to ask (the connect page can go straight on)."""
        return bool(self.fields)

    def field_values(self) -> dict[str, Any]:
        """Cleaned values as JSON-friendly data; empty fields fall back to their defaults, else ""."""
        values: dict[str, Any] = {}
        for key, value in self.cleaned_data.items():
            auth_field = self.auth_fields.get(key)
            if value in (None, "") and auth_field is not None:
                # Templates render an empty optional field as its default, else "".
                has_default = auth_field.default not in (None, "")
                values[key] = auth_field.default if has_default else ""
                continue
            if isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else float(value)
            values[key] = value
        return values
