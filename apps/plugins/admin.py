"""The plugin builder: Django admin for plugins, auth versions and their fields."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.plugins import preview
from apps.plugins.admin_forms import AuthFieldForm, AuthVersionForm
from apps.plugins.models import AuthField, AuthVersion, GrantType, Plugin, VersionStatus
from apps.plugins.services import (
    auth_version_archive,
    auth_version_clone,
    auth_version_publish,
    auth_version_set_client_secret,
    oauth_redirect_uri,
)

STEP_FIELDSETS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "version": (None, {"fields": ["plugin", "version", "grant_type", "status_display"]}),
    "redirect": (
        "2. Copy your OAuth redirect URL",
        {
            "fields": ["redirect_url"],
            "description": "Register exactly this URL in the provider's developer portal: a mismatch "
            "causes redirect_uri_mismatch errors. One URL per deployment (dev, staging, prod).",
        },
    ),
    "credentials": (
        "3. Application credentials",
        {
            "fields": ["client_id", "client_secret"],
            "description": "The Client ID is public and identifies your app; the Client Secret is private. "
            "Don't mix up credentials from different environments (staging vs production). For client "
            "credentials, tenants may supply their own with fields named client_id and client_secret.",
        },
    ),
    "authorize": (
        "4. Authorization endpoint and scopes",
        {
            "fields": [
                "authorization_url",
                "scopes",
                "scope_separator",
                "authorization_params",
                "pkce",
                "issuer",
            ],
            "description": "Where users log in and consent, e.g. https://service.com/oauth/authorize. "
            "response_type=code, client_id, redirect_uri, scope and state are added for you (state always: "
            "it is verified on the callback). Templates may use fields, e.g. "
            "https://{{ fields.subdomain }}.example.com/oauth/authorize.",
        },
    ),
    "token": (
        "Access token API",
        {
            "fields": ["token_request", "token_response"],
            "description": "Exchanges the code (or the client credentials, or the username and password) "
            "for tokens. Use its response as {{ token.<path> }} or ${context.authData.accesstokencode.<path>}.",
        },
    ),
    "refresh": (
        "Refresh token API",
        {
            "fields": [
                "refresh_request",
                "refresh_lead_seconds",
                "default_expires_in",
                "keepalive_seconds",
            ],
            "description": "Keeps the connection alive without the user. Use its response as "
            "${context.authData.refreshtokencode.<path>}.",
        },
    ),
    "revoke": (
        "Revoke token API",
        {
            "fields": ["revoke_request"],
            "description": "Lets users disconnect securely; also called when credentials turn out invalid. "
            "Use its response as ${context.authData.revoketokencode.<path>}.",
        },
    ),
    "test": (
        "Test (me) API",
        {
            "fields": ["test_request", "health_check_seconds"],
            "description": "A lightweight request that verifies a token, e.g. /me. Helps detect expired "
            "or revoked tokens early: choose an endpoint that is quick and always available.",
        },
    ),
    "label": (
        "Connection label",
        {
            "fields": ["connection_label"],
            "description": "How a connection appears to users, built from test API data, e.g. "
            "{{ me.name }}'s Google Drive.",
        },
    ),
    "allowed": (
        "Allowed URLs",
        {
            "fields": ["allowed_urls"],
            "description": "Every call made with a connection's token must match one of these. "
            "Be strict: only the API host and necessary paths.",
        },
    ),
    "identifier": (
        "Unique identifier",
        {
            "fields": ["unique_identifier"],
            "description": "Links each connection to one account at the provider and prevents duplicates: "
            "a value from the test API such as {{ me.account_id }} or {{ me.email }}.",
        },
    ),
    "params": (
        "Request parameters",
        {
            "fields": ["request_params", "expired_token_statuses"],
            "description": "Default headers, query and body applied to every API call, e.g. "
            "Authorization: Bearer {{ access_token }}, or static values such as version: v2. "
            "Don't store sensitive data here.",
        },
    ),
    "preview": ("Preview", {"fields": ["preview"], "classes": ["collapse"]}),
}

_AUTHORIZATION_CODE_STEPS = [
    "version", "redirect", "credentials", "authorize", "token", "refresh", "revoke",
    "test", "label", "allowed", "identifier", "params", "preview",
]  # fmt: skip
_DIRECT_STEPS = [
    "version", "credentials", "token", "refresh", "revoke", "test", "label", "allowed",
    "identifier", "params", "preview",
]  # fmt: skip


def _numbered(steps: list[str]) -> list[tuple[str | None, dict[str, Any]]]:
    """Fieldsets in the seeds' order, numbered from step 2 (step 1 is the fields inline)."""
    out = []
    for number, key in enumerate(steps, start=1):
        title, options = STEP_FIELDSETS[key]
        if title and key != "preview":
            title = f"{number}. {title.split('. ', 1)[-1]}"
        out.append((title, options))
    return out


class AuthFieldInline(admin.TabularInline):
    model = AuthField
    form = AuthFieldForm
    extra = 0
    ordering = ["order", "id"]
    verbose_name = "extra user field"
    verbose_name_plural = "1. Extra user fields: keep them few (OAuth provides identity); mark optional ones not required"

    def _editable(self, obj: AuthVersion | None) -> bool:
        return obj is None or obj.is_editable

    def has_add_permission(self, request: HttpRequest, obj: AuthVersion | None = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: AuthVersion | None = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: AuthVersion | None = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(AuthVersion)
class AuthVersionAdmin(admin.ModelAdmin):
    form = AuthVersionForm
    inlines = [AuthFieldInline]
    list_display = ["plugin", "version", "grant_type", "status", "connection_count", "updated_at"]
    list_filter = ["status", "grant_type", "plugin"]
    search_fields = ["plugin__name", "plugin__slug", "client_id"]
    list_select_related = ["plugin"]
    autocomplete_fields = ["plugin"]
    actions = ["publish_versions", "clone_versions", "archive_versions"]
    readonly_fields = ["status_display", "redirect_url", "preview"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthVersion]:
        return super().get_queryset(request).annotate(n_connections=Count("connections"))

    @admin.display(description="Connections", ordering="n_connections")
    def connection_count(self, obj: AuthVersion) -> int:
        return getattr(obj, "n_connections", 0)

    @admin.display(description="Status")
    def status_display(self, obj: AuthVersion) -> str:
        if obj.pk is None:
            return "Draft (publish it when it is complete)"
        if obj.status == VersionStatus.PUBLISHED:
            return "Published: frozen. Clone it to a new draft to change it; the client secret can still be rotated."
        return obj.get_status_display()

    @admin.display(description="OAuth redirect URL")
    def redirect_url(self, obj: AuthVersion | None = None) -> SafeString:
        url = oauth_redirect_uri()
        return format_html(
            '<input type="text" readonly value="{}" id="redirect-url" size="60" aria-label="OAuth redirect URL"> '
            '<button type="button" class="button" '
            "onclick=\"navigator.clipboard.writeText(document.getElementById('redirect-url').value);"
            "this.textContent='Copied'\">Copy</button>",
            url,
        )

    @admin.display(description="What users and providers will see")
    def preview(self, obj: AuthVersion) -> SafeString:
        if obj.pk is None:
            return format_html("<p>{}</p>", "Save the draft to see a preview.")
        sections = preview.auth_version_preview(obj)
        return format_html_join(
            "",
            '<h4>{}</h4><pre style="white-space:pre-wrap">{}</pre>',
            ((title, body) for title, body in sections),
        )

    def get_fieldsets(self, request: HttpRequest, obj: AuthVersion | None = None) -> list[Any]:
        grant = (
            obj.grant_type if obj else request.GET.get("grant_type", GrantType.AUTHORIZATION_CODE)
        )
        steps = (
            _AUTHORIZATION_CODE_STEPS if grant == GrantType.AUTHORIZATION_CODE else _DIRECT_STEPS
        )
        return _numbered(steps)

    def get_readonly_fields(
        self, request: HttpRequest, obj: AuthVersion | None = None
    ) -> list[str]:
        readonly = list(self.readonly_fields)
        if obj is not None and not obj.is_editable:
            frozen = [
                f.name for f in AuthVersion._meta.fields if f.name not in ("id", "client_secret")
            ]
            readonly += [name for name in frozen if name not in readonly]
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj: AuthVersion | None = None) -> bool:
        return (obj is None or obj.is_editable) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: AuthVersion, form: Any, change: bool) -> None:
        if change and not obj.is_editable:
            if "client_secret" in form.changed_data and form.cleaned_data.get("client_secret"):
                auth_version_set_client_secret(
                    version=obj, client_secret=form.cleaned_data["client_secret"]
                )
                messages.success(
                    request, "Client secret rotated; connections of this version use it now."
                )
            return
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if form.instance.is_editable:
            super().save_related(request, form, formsets, change)

    @admin.action(description="Publish (validates the whole configuration first)")
    def publish_versions(self, request: HttpRequest, queryset: QuerySet[AuthVersion]) -> None:
        for version in queryset.select_related("plugin"):
            try:
                auth_version_publish(version=version)
            except (ValidationError, ValueError) as exc:
                detail = (
                    "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict")
                    else " ".join(getattr(exc, "messages", [str(exc)]))
                )
                self.message_user(request, f"{version}: not published. {detail}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{version.plugin} v{version.version} published.", messages.SUCCESS
                )

    @admin.action(description="Clone to a new draft")
    def clone_versions(self, request: HttpRequest, queryset: QuerySet[AuthVersion]) -> None:
        for version in queryset.select_related("plugin"):
            draft = auth_version_clone(version=version)
            self.message_user(
                request,
                f"{version.plugin} v{version.version} cloned to draft v{draft.version}.",
                messages.SUCCESS,
            )

    @admin.action(description="Archive (no new connections; existing ones keep working)")
    def archive_versions(self, request: HttpRequest, queryset: QuerySet[AuthVersion]) -> None:
        for version in queryset.select_related("plugin"):
            try:
                auth_version_archive(version=version)
            except ValueError as exc:
                self.message_user(request, f"{version}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{version.plugin} v{version.version} archived.", messages.SUCCESS
                )


class AuthVersionInline(admin.TabularInline):
    model = AuthVersion
    fields = ["version", "grant_type", "status", "published_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Plugin | None = None) -> bool:
        return False


@admin.register(Plugin)
class PluginAdmin(admin.ModelAdmin):
    list_display = ["icon_and_name", "slug", "api_base_url", "version_summary"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AuthVersionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plugin]:
        return super().get_queryset(request).prefetch_related("auth_versions")

    @admin.display(description="Plugin", ordering="name")
    def icon_and_name(self, obj: Plugin) -> str:
        return f"{obj.icon} {obj.name}".strip()

    @admin.display(description="Auth versions")
    def version_summary(self, obj: Plugin) -> str:
        return ", ".join(f"v{v.version} {v.status}" for v in obj.auth_versions.all()) or "none yet"
