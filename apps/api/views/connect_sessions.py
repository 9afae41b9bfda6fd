"""POST /api/v1/connect-sessions/."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.views.base import ApiView, errors
from apps.api.views.fields import StrictSerializer, clean_prefilled_fields, resolve_auth_version
from apps.oauth.connect_sessions import connect_session_create, return_url_allowed


class ConnectSessionCreateView(ApiView):
    """A single-use link (30 minutes) that lets the tenant's end user connect a plugin."""

    class ConnectSessionRequestSerializer(StrictSerializer):
        plugin = serializers.SlugField(max_length=100, help_text="The plugin's slug.")
        auth_version = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=2_147_483_647,
            help_text="A published version number; default: the newest published one when the "
            "link is opened.",
        )
        external_user_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=255,
            help_text="Your own id of the end user; the connection will carry it.",
        )
        prefilled_fields = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            default=dict,
            help_text="Values shown prefilled in the form (non-secret fields only).",
        )
        return_url = serializers.URLField(
            required=False,
            allow_blank=True,
            default="",
            max_length=2000,
            help_text="Where the end user goes at the end, with ?connection_id=…&status=connected "
            "or ?status=error&error=…; must start with one of the tenant's allowed return URLs.",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            attrs = super().validate(attrs)
            auth_version = resolve_auth_version(attrs["plugin"], attrs.get("auth_version"))
            attrs["prefilled_fields"] = clean_prefilled_fields(
                auth_version, attrs.get("prefilled_fields") or {}
            )
            tenant = self.context["tenant"]
            if attrs["return_url"] and not return_url_allowed(
                tenant=tenant, url=attrs["return_url"]
            ):
                allowed = ", ".join(tenant.allowed_return_urls or []) or "none configured"
                raise serializers.ValidationError(
                    {
                        "return_url": [
                            "Not one of the tenant's allowed return URLs "
                            f"(allowed prefixes: {allowed})."
                        ]
                    }
                )
            return attrs

    class ConnectSessionSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="session.pk")
        url = serializers.URLField(help_text="Send the end user here; it works once.")
        expires_at = serializers.DateTimeField(source="session.expires_at")

    @extend_schema(
        operation_id="connect_sessions_create",
        summary="Create a connect link for an end user",
        request=ConnectSessionRequestSerializer,
        responses={201: ConnectSessionSerializer, **errors(400)},
        examples=[
            OpenApiExample(
                "connect session",
                request_only=True,
                value={
                    "plugin": "acme-crm",
                    "external_user_id": "user-1234",
                    "prefilled_fields": {"region": "eu"},
                    "return_url": "https://app.example.com/integrations/done",
                },
            ),
            OpenApiExample(
                "link",
                response_only=True,
                value={
                    "id": "0b6c2a4e-7d7f-4a55-8a47-3e0f3f9a1c22",
                    "url": "https://plugsmith.example/connect-session/Vq3…/",
                    "expires_at": "2025-06-01T12:30:00Z",
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.ConnectSessionRequestSerializer(
            data=request.data, context={"tenant": self.tenant}
        )
        data.is_valid(raise_exception=True)
        issued = connect_session_create(
            tenant=self.tenant,
            plugin_slug=data.validated_data["plugin"],
            version=data.validated_data.get("auth_version"),
            external_user_id=data.validated_data["external_user_id"],
            prefilled_fields=data.validated_data["prefilled_fields"],
            return_url=data.validated_data["return_url"],
        )
        return Response(self.ConnectSessionSerializer(issued).data, status=status.HTTP_201_CREATED)
