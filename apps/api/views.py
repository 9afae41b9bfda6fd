"""REST API views: thin, one per operation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class TenantView(APIView):
    """The API key's tenant, so a service can check which tenant its key belongs to."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        slug = serializers.SlugField()
        name = serializers.CharField()

    @extend_schema(responses=OutputSerializer, operation_id="tenant_retrieve")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user.tenant).data)
