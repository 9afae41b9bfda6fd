"""The admin's preview: the authorization URL and token request a user would trigger, secrets masked."""

from __future__ import annotations

from apps.plugins import templating
from apps.plugins.errors import ConfigurationError
from apps.plugins.models import AuthVersion, GrantType
from apps.plugins.request_spec import build_authorization_url, build_request, pkce_pair
from apps.plugins.services import oauth_redirect_uri

PREVIEW_STATE = "preview-state-not-valid"


def _sample_fields(version: AuthVersion) -> dict[str, str]:
    return {f.key: f"<{f.key}>" for f in version.fields.all()}


def auth_version_preview(version: AuthVersion) -> list[tuple[str, str]]:
    """(title, text) sections; a configuration problem is shown as the section's text."""
    fields = _sample_fields(version)
    verifier, challenge = pkce_pair()
    context = templating.build_context(
        fields=fields,
        client_id=version.client_id or None,
        client_secret=version.client_secret or None,
        redirect_uri=oauth_redirect_uri(),
        scopes=version.scopes,
        scope_separator=version.scope_separator,
        state=PREVIEW_STATE,
        code="<authorization code>",
        code_verifier=verifier if version.pkce else None,
    )
    sections: list[tuple[str, str]] = []
    if version.grant_type == GrantType.AUTHORIZATION_CODE:
        try:
            url = build_authorization_url(
                version,
                redirect_uri=oauth_redirect_uri(),
                state=PREVIEW_STATE,
                code_challenge=challenge if version.pkce else None,
                context=context,
            )
        except ConfigurationError as exc:
            url = f"Cannot build it yet: {exc}"
        sections.append(("Authorization URL (dummy state)", url))
    try:
        built = build_request(version, "token", context).masked()
        body = built.body.decode("utf-8", "replace") if built.body else ""
        headers = "\n".join(f"{name}: {value}" for name, value in built.headers.items())
        text = f"{built.method} {built.url}\n{headers}\n\n{body}".rstrip()
    except ConfigurationError as exc:
        text = f"Cannot build it yet: {exc}"
    sections.append(("Token request (secrets masked)", text))
    return sections
