"""Tenants, memberships and API keys."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.fields import EncryptedTextField

WEBHOOK_EVENT_TYPES = [
    "connection.created",
    "connection.reconnected",
    "connection.refreshed",
    "connection.needs_reauth",
    "connection.revoked",
    "connection.deleted",
]


def default_webhook_events() -> list[str]:
    """Every event but the chatty connection.refreshed."""
    return [name for name in WEBHOOK_EVENT_TYPES if name != "connection.refreshed"]


class Tenant(models.Model):
    """A customer organisation; every connection and API key belongs to exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    webhook_url = models.URLField(
        blank=True, help_text="Receives signed JSON events about this tenant's connections."
    )
    webhook_secret = EncryptedTextField(
        null=True, blank=True, help_text="HMAC-SHA256 signing secret for webhook deliveries."
    )
    webhook_events = models.JSONField(
        default=default_webhook_events,
        blank=True,
        help_text="Event types sent to the webhook URL (connection.refreshed is off by default).",
    )
    allowed_return_urls = models.JSONField(
        default=list,
        blank=True,
        help_text="URL prefixes a connect session may send the end user back to, e.g. https://app.example.com/",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Membership(models.Model):
    """A user's role in a tenant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage API keys and webhooks."""
        return self.role in (Role.OWNER, Role.ADMIN)


class ApiKey(models.Model):
    """A tenant's API key: the secret is shown once and stored only as a SHA-256 hash."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (psk_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(models.Model):
    """An emailed, single-use, expiring invitation to join a tenant; only the token's hash is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]

    def __str__(self) -> str:
        return f"{self.email} to {self.tenant} ({self.role})"

    @property
    def is_pending(self) -> bool:
        """Not accepted yet and not expired."""
        return self.accepted_at is None and self.expires_at > timezone.now()
