"""GET /api/v1/tenant/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.views.base import ApiView, errors


class TenantView(ApiView):
    """The API key's tenant, so a service can check which tenant its key belongs to."""

    class TenantSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        slug = serializers.SlugField()
        name = serializers.CharField()

    @extend_schema(
        operation_id="tenant_retrieve",
        summary="The API key's tenant",
        responses={200: TenantSerializer, **errors()},
        examples=[
            OpenApiExample(
                "tenant",
                value={"id": "7b0e…", "slug": "acme", "name": "Acme Inc."},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(self.TenantSerializer(request.user.tenant).data)
