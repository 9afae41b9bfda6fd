"""Webhook deliveries are visible (read-only) in admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.webhooks.models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "tenant",
        "url",
        "status",
        "attempts",
        "response_status",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["tenant__name", "tenant__slug", "url"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False
