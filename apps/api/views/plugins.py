"""GET /api/v1/plugins/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.selectors import published_plugins
from apps.api.serializers import PluginSerializer
from apps.api.views.base import ApiView, errors


class PluginListView(ApiView):
    """Published plugins with their published auth versions and fields (never secrets)."""

    @extend_schema(
        operation_id="plugins_list",
        summary="Plugins that can be connected",
        responses={200: PluginSerializer(many=True), **errors()},
        examples=[
            OpenApiExample(
                "plugins",
                response_only=True,
                value=[
                    {
                        "slug": "acme-crm",
                        "name": "Acme CRM",
                        "description": "Contacts and deals.",
                        "icon": "📇",
                        "auth_versions": [
                            {
                                "version": 2,
                                "grant_type": "client_credentials",
                                "scopes": ["contacts.read"],
                                "fields": [
                                    {
                                        "key": "region",
                                        "label": "Region",
                                        "type": "select",
                                        "required": True,
                                        "secret": False,
                                        "choices": ["eu", "us"],
                                        "default": "eu",
                                        "help_text": "",
                                    },
                                    {
                                        "key": "client_secret",
                                        "label": "Client secret",
                                        "type": "password",
                                        "required": True,
                                        "secret": True,
                                        "choices": [],
                                        "default": None,
                                        "help_text": "Kept encrypted; never shown again.",
                                    },
                                ],
                            }
                        ],
                    }
                ],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(PluginSerializer(published_plugins(), many=True).data)
