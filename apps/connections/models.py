"""Tenants' connected accounts and their audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.fields import EncryptedJSONField, EncryptedTextField
from apps.plugins.models import AuthVersion, Plugin
from apps.tenants.models import Tenant


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_REAUTH = "needs_reauth", "Needs re-auth"
    REVOKED = "revoked", "Revoked"
    ERROR = "error", "Error"


class Connection(models.Model):
    """One tenant's connected account at one plugin; tokens and secret fields encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    plugin = models.ForeignKey(Plugin, on_delete=models.PROTECT, related_name="connections")
    auth_version = models.ForeignKey(
        AuthVersion, on_delete=models.PROTECT, related_name="connections"
    )
    external_user_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    label = models.CharField(max_length=500)
    unique_identifier = models.CharField(max_length=500)
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )

    field_values = EncryptedJSONField(default=dict)
    access_token = EncryptedTextField(null=True, blank=True)
    refresh_token = EncryptedTextField(null=True, blank=True)
    token_response = EncryptedJSONField(default=dict)
    token_type = models.CharField(max_length=50, blank=True, default="Bearer")
    granted_scopes = models.JSONField(default=list, blank=True)

    expires_at = models.DateTimeField(null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    refresh_lock_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Refresh claim where row locks are not available (SQLite).",
    )
    me = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plugin", "unique_identifier"],
                name="uniq_connection_tenant_plugin_account",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_refresh_at"], name="conn_status_next_refresh"),
            models.Index(fields=["tenant", "status"], name="conn_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.plugin})"

    def expires_within(self, seconds: int) -> bool:
        """True when the access token is missing or expires in less than `seconds`."""
        if not self.access_token:
            return True
        if self.expires_at is None:
            return False
        return self.expires_at <= timezone.now() + timezone.timedelta(seconds=seconds)


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    RECONNECTED = "reconnected", "Reconnected"
    RECONNECT_FAILED = "reconnect_failed", "Reconnect failed"
    REFRESHED = "refreshed", "Refreshed"
    REFRESH_FAILED = "refresh_failed", "Refresh failed"
    NEEDS_REAUTH = "needs_reauth", "Needs re-auth"
    REVOKED = "revoked", "Revoked"
    REVOKE_FAILED = "revoke_failed", "Revoke failed"
    TESTED = "tested", "Tested"
    TEST_FAILED = "test_failed", "Test failed"
    DELETED = "deleted", "Deleted"


class ConnectionEvent(models.Model):
    """The audit log of a connection (kept after the connection is deleted); never holds secrets."""

    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    connection_ref = models.UUIDField(
        db_index=True, help_text="The connection's id, kept after deletion."
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connection_events")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="event_tenant_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.connection_ref}"
