"""GET /api/v1/events/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.pagination import NewestFirstPagination
from apps.api.selectors import events_for_tenant
from apps.api.serializers import EventSerializer
from apps.api.views.base import ApiView, PageSerializer, errors
from apps.connections.models import EventKind


class EventListView(ApiView):
    """The tenant's audit log, newest first (events of deleted connections included)."""

    pagination_class = NewestFirstPagination

    class FilterSerializer(PageSerializer):
        connection = serializers.UUIDField(
            required=False, help_text="Only this connection's events."
        )
        kind = serializers.ChoiceField(choices=EventKind.choices, required=False)

    @extend_schema(
        operation_id="events_list",
        summary="The audit log",
        parameters=[FilterSerializer],
        responses={200: EventSerializer(many=True), **errors(400, 404)},
        examples=[
            OpenApiExample(
                "events",
                response_only=True,
                value={
                    "next": "http://plugsmith.example/api/v1/events/?cursor=cD0yMDI1",
                    "previous": None,
                    "results": [
                        {
                            "id": 812,
                            "connection_id": "3f1c8f0e-1d2b-4c55-9a57-8d0f1b2c3d4e",
                            "kind": "refreshed",
                            "detail": {"expires_at": "2025-06-01T12:00:00+00:00", "rotated": True},
                            "created_at": "2025-06-01T11:00:00Z",
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        events = events_for_tenant(
            tenant=self.tenant,
            connection_id=filters.validated_data.get("connection"),
            kind=filters.validated_data.get("kind"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(EventSerializer(page, many=True).data)
