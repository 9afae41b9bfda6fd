"""One place that turns every API error into `{"error": code, "detail": message}`.

DRF's own exceptions keep their status; application errors (apps.plugins.errors and the connection
lifecycle) are mapped here to 403/404/409/422/502/503 with the provider's message where there is one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.connections.locking import ConnectionBusy
from apps.connections.models import Connection
from apps.connections.proxy import InvalidProxyBody, RequestTooLarge
from apps.connections.refresh import ConnectionNeedsReauth
from apps.connections.services import ConnectError
from apps.plugins.errors import (
    ConfigurationError,
    PlugsmithError,
    ProviderError,
    TemplateError,
    TransientProviderError,
    UrlNotAllowedError,
)


def reconnect_url(connection: Connection) -> str:
    """Where a member of the tenant reconnects this connection in the portal."""
    return (
        f"{settings.PUBLIC_BASE_URL.rstrip('/')}/connect/{connection.plugin.slug}/"
        f"?reconnect={connection.pk}"
    )


def _provider_facts(exc: ProviderError) -> dict[str, Any]:
    facts = {
        "provider_status": exc.status,
        "provider_error": exc.error,
        "provider_error_description": exc.error_description,
    }
    return {key: value for key, value in facts.items() if value is not None}


def application_error(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    """The HTTP status and JSON body for an application error, or None if it is not one."""
    if isinstance(exc, RequestTooLarge):
        return status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, {
            "error": "payload_too_large",
            "detail": str(exc),
        }
    if isinstance(exc, InvalidProxyBody):
        return status.HTTP_400_BAD_REQUEST, {"error": "invalid", "detail": str(exc)}
    if isinstance(exc, ConnectionNeedsReauth):
        return status.HTTP_409_CONFLICT, {
            "error": "needs_reauth",
            "detail": f"{exc} Reconnect it at reconnect_url (a member of the tenant signs in), "
            "or create a connect session for the end user.",
            "reconnect_url": reconnect_url(exc.connection),
        }
    if isinstance(exc, UrlNotAllowedError):
        return status.HTTP_403_FORBIDDEN, {
            "error": "url_not_allowed",
            "detail": str(exc),
            "url": exc.url,
        }
    if isinstance(exc, TemplateError):
        body: dict[str, Any] = {"error": "template_error", "detail": str(exc)}
        if exc.path:
            body["path"] = exc.path
        return status.HTTP_422_UNPROCESSABLE_ENTITY, body
    if isinstance(exc, ConfigurationError):
        return status.HTTP_422_UNPROCESSABLE_ENTITY, {
            "error": "configuration_error",
            "detail": str(exc),
        }
    if isinstance(exc, TransientProviderError):
        # An answer we could not use (2xx/3xx that is not what we expected) is a bad gateway;
        # timeouts, refused connections, 429 and 5xx mean the provider is unavailable right now.
        unusable = exc.status is not None and exc.status < 400
        code = status.HTTP_502_BAD_GATEWAY if unusable else status.HTTP_503_SERVICE_UNAVAILABLE
        return code, {
            "error": "bad_provider_response" if unusable else "provider_unavailable",
            "detail": str(exc),
            **_provider_facts(exc),
        }
    if isinstance(exc, ProviderError):
        return status.HTTP_422_UNPROCESSABLE_ENTITY, {
            "error": "provider_error",
            "detail": str(exc),
            **_provider_facts(exc),
        }
    if isinstance(exc, ConnectionBusy):
        return status.HTTP_503_SERVICE_UNAVAILABLE, {"error": "busy", "detail": str(exc)}
    if isinstance(exc, ConnectError):
        return status.HTTP_409_CONFLICT, {"error": "conflict", "detail": str(exc)}
    if isinstance(exc, PlugsmithError):
        return status.HTTP_422_UNPROCESSABLE_ENTITY, {"error": "error", "detail": str(exc)}
    return None


def _flatten(detail: Any) -> Any:
    if isinstance(detail, list | dict):
        return detail
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped; validation errors keep their field-level messages."""
    mapped = application_error(exc)
    if mapped is not None:
        code, body = mapped
        headers = {"Retry-After": "30"} if code == status.HTTP_503_SERVICE_UNAVAILABLE else None
        return Response(body, status=code, headers=headers)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "error": "invalid",
            "detail": "The request is invalid; see fields.",
            "fields": _flatten(exc.detail),
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code_name = codes if isinstance(codes, str) else "error"
        body = {"error": code_name, "detail": _flatten(exc.detail)}
    else:
        body = {"error": "error", "detail": str(exc)}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        body["error"] = "unauthenticated"
    response.data = body
    return response
