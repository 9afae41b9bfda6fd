"""Portal forms: they parse and validate input; services do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password

from apps.connections.models import ConnectionStatus
from apps.tenants.models import WEBHOOK_EVENT_TYPES, Role
from apps.web.services import PortalError, webhook_url_validate


class NewPasswordMixin(forms.Form):
    """Password and confirmation, checked against AUTH_PASSWORD_VALIDATORS."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not too common, not all digits.",
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                validate_password(first)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class SignupForm(NewPasswordMixin):
    """A new account and its organisation."""

    field_order = ["email", "tenant_name", "password1", "password2"]

    email = forms.EmailField(
        label="Work email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    tenant_name = forms.CharField(
        label="Organisation name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )


class InvitationSignupForm(NewPasswordMixin):
    """The password of an invited person's new account (the email comes from the invitation)."""


class InviteForm(forms.Form):
    """Whom to invite, and with which role (limited to the roles the inviter may give)."""

    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, Role(r).label) for r in roles]


class RoleForm(forms.Form):
    """A member's new role."""

    role = forms.ChoiceField(label="Role", choices=Role.choices)


class ApiKeyForm(forms.Form):
    """A new API key's name."""

    name = forms.CharField(
        label="Key name",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Production backend"}),
    )


class WebhookForm(forms.Form):
    """The tenant's webhook endpoint."""

    url = forms.CharField(
        label="Endpoint URL",
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/plugsmith"}),
        help_text="We POST signed JSON events here. Leave empty to turn webhooks off.",
    )

    events = forms.MultipleChoiceField(
        label="Events",
        required=False,
        choices=[(name, name) for name in WEBHOOK_EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="connection.refreshed is chatty: every token refresh sends one.",
    )

    def clean_url(self) -> str:
        try:
            return webhook_url_validate(self.cleaned_data["url"])
        except PortalError as exc:
            raise forms.ValidationError(str(exc)) from None


class ConnectionFilterForm(forms.Form):
    """Filters of the connections list (invalid values are ignored, never an error page)."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    plugin = forms.CharField(label="Plugin", required=False, max_length=100)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *ConnectionStatus.choices],
    )

    def filters(self) -> dict[str, str]:
        """The valid filters as keyword arguments for the selector."""
        self.is_valid()  # Keeps the valid fields in cleaned_data even when another is invalid.
        data = self.cleaned_data
        return {
            "search": (data.get("q") or "").strip(),
            "plugin_slug": data.get("plugin") or "",
            "status": data.get("status") or "",
        }


class CatalogueSearchForm(forms.Form):
    """The catalogue's search box."""

    q = forms.CharField(label="Search plugins", required=False, max_length=200)
