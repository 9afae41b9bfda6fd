"""The state of connect flows: authorization attempts and connect sessions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.connections.models import Connection
from apps.core.fields import EncryptedJSONField, EncryptedTextField
from apps.plugins.models import AuthVersion, Plugin
from apps.tenants.models import Tenant


class ConnectSession(models.Model):
    """A single-use link that lets a tenant's end user connect a plugin without an account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connect_sessions")
    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="+")
    auth_version = models.ForeignKey(
        AuthVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    external_user_id = models.CharField(max_length=255, blank=True)
    prefilled_fields = EncryptedJSONField(default=dict)
    return_url = models.URLField(max_length=2000, blank=True)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"connect session {self.id} ({self.plugin})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuthorizationAttempt(models.Model):
    """One trip to the provider's consent page: the hashed state and what the callback needs."""

    state_hash = models.CharField(max_length=64, unique=True)
    browser_binding_hash = models.CharField(
        max_length=64,
        help_text="Hash of a nonce kept in the browser session that started the flow.",
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    connect_session = models.ForeignKey(
        ConnectSession, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    auth_version = models.ForeignKey(AuthVersion, on_delete=models.CASCADE, related_name="+")
    reconnect = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field_values = EncryptedJSONField(default=dict)
    code_verifier = EncryptedTextField(null=True, blank=True)
    redirect_uri = models.URLField(max_length=2000)
    return_to = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"authorization attempt {self.pk} ({self.auth_version})"
