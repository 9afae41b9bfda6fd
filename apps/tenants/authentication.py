"""API authentication: `Authorization: Bearer <tenant API key>`."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.tenants.models import ApiKey, Tenant
from apps.tenants.services import api_key_authenticate


@dataclass(frozen=True)
class TenantPrincipal:
    """The caller behind an API key: a tenant's service, not a person."""

    tenant: Tenant
    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}@{self.tenant.slug}"


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate with a tenant API key sent as a Bearer token."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[TenantPrincipal, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Bearer <api key>'."
            )
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid API key.") from exc
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return TenantPrincipal(tenant=api_key.tenant, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class HasTenantApiKey(BasePermission):
    """Allow only requests authenticated with a tenant API key."""

    message = "Authentication with a tenant API key is required."

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, TenantPrincipal)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe the API key scheme in the OpenAPI document."""

    target_class = "apps.tenants.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A tenant API key (psk_...)."}
