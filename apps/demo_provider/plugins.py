"""The "Demo CRM" plugins, as plugin-file mappings pointing at a running demo provider.

Pure data (no models), so tests can import the same plugins into a database where the demo
provider app is not installed and point them at a provider subprocess.
"""

from __future__ import annotations

from typing import Any

DEMO_CRM_SLUG = "demo-crm"
DEMO_CRM_SERVICE_SLUG = "demo-crm-service"
MOUNT = "/demo-provider"
# Demo access tokens live DEMO_PROVIDER_ACCESS_TOKEN_SECONDS (120 s): refreshing 30 s early lets a
# newcomer watch beat and the worker refresh them about every 90 s.
REFRESH_LEAD_SECONDS = 30


def _common(provider_url: str) -> dict[str, Any]:
    """Settings both grants share: the token endpoint, the test API and the request params."""
    api = f"{provider_url}/api/"
    return {
        "scopes": ["read", "profile"],
        "token_request": f"{provider_url}/o/token/",
        "revoke_request": f"{provider_url}/o/revoke_token/",
        "test_request": f"{api}me",
        "connection_label": "{{ me.name }}",
        "unique_identifier": "{{ me.id }}",
        "allowed_urls": [api],
        "request_params": {"headers": {"Authorization": "Bearer {{ access_token }}"}},
        "refresh_lead_seconds": REFRESH_LEAD_SECONDS,
    }


def demo_crm_plugin(
    *, provider_base_url: str, client_id: str, client_secret: str, version: int = 1
) -> dict[str, Any]:
    """Demo CRM: authorization code with PKCE against the demo provider's PKCE app."""
    provider_url = provider_base_url.rstrip("/") + MOUNT
    return {
        "slug": DEMO_CRM_SLUG,
        "name": "Demo CRM",
        "description": (
            "A sample CRM served by the built-in demo provider: sign in, approve, and watch "
            "its two-minute tokens refresh."
        ),
        "icon": "📇",
        "api_base_url": f"{provider_url}/api/",
        "auth_versions": [
            {
                "version": version,
                "status": "published",
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": client_secret,
                "authorization_url": f"{provider_url}/o/authorize/",
                "issuer": f"{provider_url}/o",
                "pkce": True,
                "refresh_request": f"{provider_url}/o/token/",
                **_common(provider_url),
            }
        ],
    }


def demo_crm_service_plugin(
    *, provider_base_url: str, client_id: str, client_secret: str, version: int = 1
) -> dict[str, Any]:
    """Demo CRM service account: the client-credentials grant against the demo's service app."""
    provider_url = provider_base_url.rstrip("/") + MOUNT
    return {
        "slug": DEMO_CRM_SERVICE_SLUG,
        "name": "Demo CRM service account",
        "description": (
            "The same demo CRM as a machine-to-machine service account (client credentials): "
            "no sign-in, a new token is requested before the old one expires."
        ),
        "icon": "🤖",
        "api_base_url": f"{provider_url}/api/",
        "auth_versions": [
            {
                "version": version,
                "status": "published",
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                **_common(provider_url),
            }
        ],
    }
