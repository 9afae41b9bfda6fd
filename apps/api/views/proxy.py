"""/api/v1/connections/{id}/proxy/<path>: forward a call to the plugin's API.

A DRF view only for authentication, the error shape and the OpenAPI document: the request body is
never parsed by DRF (it is streamed to the provider as is) and the caller's Accept header is passed
on rather than negotiated.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from apps.api.views.base import CONNECTION_ID, ApiView, errors
from apps.connections.proxy import ProxyCall, ProxyResponse, proxy_call

PATH = OpenApiParameter(
    "path",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The path under the plugin's api_base_url, e.g. `v1/contacts`; the query "
    "string is passed on.",
)
DESCRIPTION = (
    "Forwards the call to the plugin's `api_base_url` + `path` with the query and body passed "
    "through and the plugin's request params applied (e.g. `Authorization: Bearer <token>`). The "
    "final URL must start with one of the plugin's allowed URLs (else 403 naming it). The "
    "provider's status, body and content type come back as they are (streamed when large). When "
    "the provider answers with an expired-token status (default 401), the token is refreshed and "
    "the call retried once (bodies up to 1 MiB). Your Authorization and Cookie headers are never "
    "forwarded. Request bodies are limited to 10 MiB (413). Errors of Plugsmith itself (as "
    "opposed to the provider's answers) have the `{error, detail}` JSON shape."
)
_PROXY_RESPONSES: dict[Any, Any] = {
    (200, "*/*"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The provider's answer: its status, content type and body.",
        examples=[
            OpenApiExample(
                "provider answer",
                response_only=True,
                value={"contacts": [{"id": 1, "name": "Ada"}]},
            )
        ],
    ),
    **errors(400, 403, 404, 409, 413, 422, 502, 503),
}


class _PassAccept(BaseContentNegotiation):
    """Errors are always JSON; the caller's Accept header is for the provider."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def _django_response(answer: ProxyResponse) -> HttpResponseBase:
    if answer.content is not None:
        response: HttpResponseBase = HttpResponse(answer.content, status=answer.status)
    else:
        response = StreamingHttpResponse(answer.stream, status=answer.status)
    if not any(name.lower() == "content-type" for name, _ in answer.headers):
        del response["Content-Type"]
    for name, value in answer.headers:
        response[name] = value
    return response


class ProxyView(ApiView):
    """Forward one call to the connection's provider API."""

    http_method_names = ["get", "post", "put", "patch", "delete"]
    content_negotiation_class = _PassAccept

    def _forward(self, request: Request, connection_id: str, path: str) -> HttpResponseBase:
        connection = self.connection(request, connection_id)
        raw = request._request
        try:
            length = int(raw.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        call = ProxyCall(
            method=raw.method or "GET",
            path=path,
            query=parse_qsl(raw.META.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=dict(raw.headers),
            body=raw if length > 0 else None,
            content_length=max(length, 0),
        )
        return _django_response(proxy_call(connection=connection, call=call))

    @extend_schema(
        operation_id="connections_proxy_get",
        summary="Proxy a GET",
        description=DESCRIPTION,
        parameters=[CONNECTION_ID, PATH],
        responses=_PROXY_RESPONSES,
    )
    def get(self, request: Request, connection_id: str, path: str) -> HttpResponseBase:
        return self._forward(request, connection_id, path)

    @extend_schema(
        operation_id="connections_proxy_post",
        summary="Proxy a POST",
        description=DESCRIPTION,
        parameters=[CONNECTION_ID, PATH],
        request={"application/json": OpenApiTypes.OBJECT},
        responses=_PROXY_RESPONSES,
        examples=[
            OpenApiExample("body", request_only=True, value={"name": "Ada Lovelace"}),
        ],
    )
    def post(self, request: Request, connection_id: str, path: str) -> HttpResponseBase:
        return self._forward(request, connection_id, path)

    @extend_schema(
        operation_id="connections_proxy_put",
        summary="Proxy a PUT",
        description=DESCRIPTION,
        parameters=[CONNECTION_ID, PATH],
        request={"application/json": OpenApiTypes.OBJECT},
        responses=_PROXY_RESPONSES,
    )
    def put(self, request: Request, connection_id: str, path: str) -> HttpResponseBase:
        return self._forward(request, connection_id, path)

    @extend_schema(
        operation_id="connections_proxy_patch",
        summary="Proxy a PATCH",
        description=DESCRIPTION,
        parameters=[CONNECTION_ID, PATH],
        request={"application/json": OpenApiTypes.OBJECT},
        responses=_PROXY_RESPONSES,
    )
    def patch(self, request: Request, connection_id: str, path: str) -> HttpResponseBase:
        return self._forward(request, connection_id, path)

    @extend_schema(
        operation_id="connections_proxy_delete",
        summary="Proxy a DELETE",
        description=DESCRIPTION,
        parameters=[CONNECTION_ID, PATH],
        responses=_PROXY_RESPONSES,
    )
    def delete(self, request: Request, connection_id: str, path: str) -> HttpResponseBase:
        return self._forward(request, connection_id, path)
