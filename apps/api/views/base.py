"""What every API view shares: JSON parsing with a size limit, the tenant's objects, error docs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.api.parsers import LimitedJSONParser
from apps.api.serializers import ErrorSerializer
from apps.api.views.fields import StrictSerializer
from apps.connections.models import Connection
from apps.connections.selectors import connection_get_for_tenant
from apps.tenants.models import Tenant

_ERROR_DESCRIPTIONS = {
    400: "Invalid request: malformed JSON, wrong types, unknown names (see `fields`).",
    401: "Missing, malformed or revoked API key.",
    403: "The URL is not in the plugin's allowed URLs.",
    404: "No such object for this API key's tenant.",
    409: "The connection must be reconnected (`reconnect_url`), or cannot do this.",
    413: "The request body is too large.",
    422: "The provider refused (its error and message are included) or the plugin is misconfigured.",
    502: "The provider's answer could not be used.",
    503: "The provider is unreachable, slow, rate limiting or failing; retry later.",
}
_ERROR_EXAMPLES = {
    400: {"error": "invalid", "detail": "The request is invalid; see fields.", "fields": {}},
    401: {"error": "unauthenticated", "detail": "Invalid or revoked API key."},
    403: {
        "error": "url_not_allowed",
        "detail": "URL not allowed: https://evil.example/x (it does not start with one of the "
        "allowed URLs)",
        "url": "https://evil.example/x",
    },
    404: {"error": "not_found", "detail": "No connection with this id."},
    409: {
        "error": "needs_reauth",
        "detail": "The connection 'Jane Doe' needs to be reconnected: invalid_grant.",
        "reconnect_url": "https://plugsmith.example/connect/acme/?reconnect=3f1c...",
    },
    413: {"error": "payload_too_large", "detail": "The request body is too large."},
    422: {
        "error": "provider_error",
        "detail": "The provider refused: invalid_client",
        "provider_status": 401,
        "provider_error": "invalid_client",
    },
    502: {"error": "bad_provider_response", "detail": "The provider's answer is not JSON."},
    503: {"error": "provider_unavailable", "detail": "Timed out calling POST https://..."},
}

CONNECTION_ID = OpenApiParameter(
    "connection_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The connection's id.",
)


class PageSerializer(StrictSerializer):
    """The cursor pagination parameters; unknown query parameters are refused like unknown keys."""

    cursor = serializers.CharField(
        required=False, max_length=500, help_text="The `next` or `previous` link's cursor."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text="Results per page (default 50)."
    )


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for these error statuses, all in the `{error, detail}` shape."""
    return {
        code: OpenApiResponse(
            ErrorSerializer,
            description=_ERROR_DESCRIPTIONS[code],
            examples=[
                OpenApiExample(
                    f"error {code}",
                    value=_ERROR_EXAMPLES[code],
                    response_only=True,
                    status_codes=[code],
                )
            ],
        )
        for code in (401, *statuses)
    }


class ApiView(APIView):
    """Base of the API's views: JSON bodies only, at most 256 KiB."""

    parser_classes = [LimitedJSONParser]

    @property
    def tenant(self) -> Tenant:
        """The API key's tenant."""
        return self.request.user.tenant

    def connection(self, request: Request, connection_id: Any) -> Connection:
        """The tenant's connection (with plugin and auth version), or 404."""
        try:
            return connection_get_for_tenant(tenant=self.tenant, connection_id=connection_id)
        except Connection.DoesNotExist:
            raise NotFound("No connection with this id.") from None
