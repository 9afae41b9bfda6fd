"""The OAUTH2_PROVIDER settings shared by the main project and the end-to-end test provider."""

from typing import Any

SCOPES = {
    "read": "Read your demo data",
    "write": "Change your demo data",
    "profile": "See your name and email address",
}


# Fixed client ids keep the demo reproducible; the secrets are random.
PKCE_CLIENT_ID = "demo-pkce"
WEB_CLIENT_ID = "demo-web"
PUBLIC_CLIENT_ID = "demo-public"
SERVICE_CLIENT_ID = "demo-service"
PASSWORD_CLIENT_ID = "demo-password"

# Clients allowed to skip PKCE: the legacy confidential web client only.
PKCE_OPTIONAL_CLIENT_IDS = frozenset({WEB_CLIENT_ID})


def pkce_required(client_id: str) -> bool:
    """Require PKCE for every client except the demo's legacy confidential web client."""
    return client_id not in PKCE_OPTIONAL_CLIENT_IDS


def oauth2_provider_settings(
    *,
    access_token_seconds: int,
    rotate_refresh_token: bool = True,
    reuse_protection: bool = True,
    grace_period_seconds: int = 0,
    refresh_token_seconds: int | None = None,
    authorization_code_seconds: int = 60,
    authorization_response_iss: bool = True,
) -> dict[str, Any]:
    """Return the OAUTH2_PROVIDER dict for the demo provider."""
    return {
        "SCOPES": dict(SCOPES),
        "DEFAULT_SCOPES": ["read"],
        "ACCESS_TOKEN_EXPIRE_SECONDS": access_token_seconds,
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": authorization_code_seconds,
        "REFRESH_TOKEN_EXPIRE_SECONDS": refresh_token_seconds,
        "ROTATE_REFRESH_TOKEN": rotate_refresh_token,
        # Replaying a rotated refresh token revokes its whole family, as real providers do.
        "REFRESH_TOKEN_REUSE_PROTECTION": reuse_protection,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": grace_period_seconds,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
        # A callable is a per-client policy: DOT calls it with the client_id.
        "PKCE_REQUIRED": pkce_required,
        # Always show the consent page so tests can approve or deny every time.
        "REQUEST_APPROVAL_PROMPT": "force",
        # RFC 9207: the authorization response carries `iss` (the `o/` mount URL).
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": authorization_response_iss,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        # The password grant stays available because Plugsmith supports it (DOT warns per use).
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": False,
    }
