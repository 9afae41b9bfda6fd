"""The connection endpoints: list, create, retrieve, delete, credentials, refresh, test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import services
from apps.api.pagination import NewestFirstPagination
from apps.api.serializers import ConnectionSerializer
from apps.api.views.base import CONNECTION_ID, ApiView, PageSerializer, errors
from apps.api.views.fields import StrictSerializer, clean_field_values, resolve_auth_version
from apps.connections.credentials import Credentials, credentials_get
from apps.connections.models import ConnectionStatus
from apps.connections.selectors import connections_for_tenant

_DATETIME = serializers.DateTimeField()

CONNECTION_EXAMPLE = {
    "id": "3f1c8f0e-1d2b-4c55-9a57-8d0f1b2c3d4e",
    "plugin": "acme-crm",
    "auth_version": 2,
    "external_user_id": "user-1234",
    "label": "Jane Doe",
    "unique_identifier": "acct-42",
    "status": "active",
    "granted_scopes": ["contacts.read"],
    "fields": {"region": "eu"},
    "expires_at": "2025-06-01T12:00:00Z",
    "last_refreshed_at": "2025-06-01T11:00:00Z",
    "last_tested_at": "2025-06-01T11:00:00Z",
    "last_error": "",
    "failure_count": 0,
    "created_at": "2025-05-01T09:00:00Z",
    "updated_at": "2025-06-01T11:00:00Z",
    "reconnect_url": None,
}


class ConnectionListCreateView(ApiView):
    """The tenant's connections; create one for a client-credentials or password plugin."""

    pagination_class = NewestFirstPagination

    class FilterSerializer(PageSerializer):
        plugin = serializers.SlugField(required=False, max_length=100, help_text="Plugin slug.")
        status = serializers.ChoiceField(choices=ConnectionStatus.choices, required=False)
        external_user_id = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=255,
            help_text="The tenant's own id of the end user (empty: connections without one).",
        )

    class ConnectionCreateSerializer(StrictSerializer):
        plugin = serializers.SlugField(max_length=100, help_text="The plugin's slug.")
        auth_version = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=2_147_483_647,
            help_text="A published version number; default: the newest published one.",
        )
        fields = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            default=dict,
            help_text="Values of the version's fields (see GET /plugins/), e.g. client_id, "
            "client_secret, username, password.",
        )
        external_user_id = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=255
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            attrs = super().validate(attrs)
            auth_version = resolve_auth_version(attrs["plugin"], attrs.get("auth_version"))
            if auth_version.grant_type not in services.DIRECT_GRANTS:
                raise serializers.ValidationError(
                    {
                        "plugin": [
                            f"{auth_version.plugin.name} connects with the authorization code "
                            "grant: create a connect session (POST /api/v1/connect-sessions/)."
                        ]
                    }
                )
            attrs["auth_version"] = auth_version
            attrs["fields"] = clean_field_values(auth_version, attrs.get("fields") or {})
            return attrs

    @extend_schema(
        operation_id="connections_list",
        summary="List connections",
        parameters=[FilterSerializer],
        responses={200: ConnectionSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        connections = connections_for_tenant(
            tenant=self.tenant,
            plugin_slug=filters.validated_data.get("plugin"),
            status=filters.validated_data.get("status"),
            external_user_id=filters.validated_data.get("external_user_id"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(connections, request, view=self)
        return paginator.get_paginated_response(ConnectionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="connections_create",
        summary="Connect a client-credentials or password plugin",
        description="Runs the token request and the test call now. The same account connected "
        "again updates its existing connection.",
        request=ConnectionCreateSerializer,
        responses={201: ConnectionSerializer, **errors(400, 409, 422, 502, 503)},
        examples=[
            OpenApiExample(
                "client credentials",
                request_only=True,
                value={
                    "plugin": "acme-crm",
                    "fields": {"client_id": "abc", "client_secret": "s3cr3t", "region": "eu"},
                    "external_user_id": "user-1234",
                },
            ),
            OpenApiExample(
                "password",
                request_only=True,
                value={
                    "plugin": "legacy-erp",
                    "auth_version": 1,
                    "fields": {"username": "jane", "password": "correct horse"},
                },
            ),
            OpenApiExample("created", response_only=True, value=CONNECTION_EXAMPLE),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.ConnectionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.connection_create(
            tenant=self.tenant,
            auth_version=data.validated_data["auth_version"],
            field_values=data.validated_data["fields"],
            external_user_id=data.validated_data["external_user_id"],
        )
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(ApiView):
    """One connection (never its tokens); DELETE revokes at the provider and deletes it."""

    @extend_schema(
        operation_id="connections_retrieve",
        summary="One connection",
        parameters=[CONNECTION_ID],
        responses={200: ConnectionSerializer, **errors(404)},
        examples=[OpenApiExample("connection", response_only=True, value=CONNECTION_EXAMPLE)],
    )
    def get(self, request: Request, connection_id: str) -> Response:
        return Response(ConnectionSerializer(self.connection(request, connection_id)).data)

    @extend_schema(
        operation_id="connections_destroy",
        summary="Revoke and delete a connection",
        description="Revokes the tokens at the provider (best effort: a failure never blocks the "
        "delete), deletes the connection and keeps a `deleted` event in the audit log.",
        parameters=[CONNECTION_ID],
        responses={204: None, **errors(404)},
    )
    def delete(self, request: Request, connection_id: str) -> Response:
        services.connection_delete(connection=self.connection(request, connection_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionCredentialsView(ApiView):
    """A valid access token (refreshed when it expires within min_validity) and request params."""

    class CredentialsRequestSerializer(StrictSerializer):
        min_validity = serializers.IntegerField(
            required=False,
            default=60,
            min_value=0,
            max_value=86_400,
            help_text="Seconds the token must stay valid; refreshed first when it would not.",
        )

    class CredentialsSerializer(serializers.Serializer):
        connection_id = serializers.UUIDField(source="connection.pk")
        access_token = serializers.CharField()
        token_type = serializers.CharField()
        expires_at = serializers.DateTimeField(allow_null=True)
        request_params = serializers.DictField(
            child=serializers.DictField(),
            help_text="The plugin's headers, query and body for every API call, rendered.",
        )

        def to_representation(self, instance: Credentials) -> dict[str, Any]:
            # The same output as the declared fields give, without DRF's per-request deep copy
            # of them: this answers every API call a service makes (docs/benchmarks.md).
            return {
                "connection_id": str(instance.connection.pk),
                "access_token": instance.access_token,
                "token_type": instance.token_type,
                "expires_at": _DATETIME.to_representation(instance.expires_at),
                "request_params": {
                    str(section): None if values is None else dict(values)
                    for section, values in instance.request_params.items()
                },
            }

    @extend_schema(
        operation_id="connections_credentials",
        summary="Fresh credentials",
        parameters=[CONNECTION_ID],
        request=CredentialsRequestSerializer,
        responses={200: CredentialsSerializer, **errors(400, 404, 409, 422, 502, 503)},
        examples=[
            OpenApiExample("default", request_only=True, value={"min_validity": 60}),
            OpenApiExample(
                "credentials",
                response_only=True,
                value={
                    "connection_id": "3f1c8f0e-1d2b-4c55-9a57-8d0f1b2c3d4e",
                    "access_token": "eyJhbGciOi…",
                    "token_type": "Bearer",
                    "expires_at": "2025-06-01T12:00:00Z",
                    "request_params": {
                        "headers": {"Authorization": "Bearer eyJhbGciOi…", "X-Region": "eu"},
                        "query": {},
                        "body": {},
                    },
                },
            ),
        ],
    )
    def post(self, request: Request, connection_id: str) -> Response:
        credentials = credentials_get(
            connection=self.connection(request, connection_id),
            min_validity=self._min_validity(request.data),
        )
        return Response(self.CredentialsSerializer(credentials).data)

    def _min_validity(self, data: Any) -> int:
        """The body's min_validity, validated by the declared serializer's own field.

        Hot path: a serializer instance per call deep-copies its fields; the common bodies
        (`{}`, `{"min_validity": n}`) are validated by the one field, anything else by the
        serializer, which gives the same errors.
        """
        field = _MIN_VALIDITY_FIELD
        if isinstance(data, Mapping) and set(data) <= {field.field_name}:
            if field.field_name not in data:
                return int(field.get_default())
            try:
                return int(field.run_validation(data[field.field_name]))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({field.field_name: exc.detail}) from None
        serializer = self.CredentialsRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return int(serializer.validated_data["min_validity"])


_MIN_VALIDITY_FIELD = ConnectionCredentialsView.CredentialsRequestSerializer().fields[
    "min_validity"
]


class ConnectionRefreshView(ApiView):
    """Refresh the access token now."""

    @extend_schema(
        operation_id="connections_refresh",
        summary="Force a refresh",
        parameters=[CONNECTION_ID],
        request=None,
        responses={200: ConnectionSerializer, **errors(404, 409, 422, 502, 503)},
        examples=[OpenApiExample("refreshed", response_only=True, value=CONNECTION_EXAMPLE)],
    )
    def post(self, request: Request, connection_id: str) -> Response:
        connection = services.connection_force_refresh(
            connection=self.connection(request, connection_id)
        )
        return Response(ConnectionSerializer(connection).data)


class ConnectionTestView(ApiView):
    """Call the plugin's test API; updates the label and status."""

    @extend_schema(
        operation_id="connections_test",
        summary="Test a connection",
        parameters=[CONNECTION_ID],
        request=None,
        responses={200: ConnectionSerializer, **errors(404, 409, 422, 502, 503)},
        examples=[OpenApiExample("tested", response_only=True, value=CONNECTION_EXAMPLE)],
    )
    def post(self, request: Request, connection_id: str) -> Response:
        connection = services.connection_test(connection=self.connection(request, connection_id))
        return Response(ConnectionSerializer(connection).data)
