"""Portal reads, always scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus, EventKind
from apps.plugins.models import AuthVersion, Plugin, VersionStatus
from apps.tenants.models import ApiKey, Invitation, Membership, Tenant
from apps.web.services import invitation_token_hash
from apps.webhooks.models import WebhookDelivery

ATTENTION_STATUSES = (ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.ERROR)
FAILURE_KINDS = (EventKind.REFRESH_FAILED, EventKind.NEEDS_REAUTH)


@dataclass(frozen=True)
class DayActivity:
    """Refreshes and failures of one day."""

    day: date
    refreshed: int
    failed: int


def connection_status_counts(*, tenant: Tenant) -> dict[str, int]:
    """The number of the tenant's connections in each status (every status present, zeros too)."""
    counts = dict.fromkeys(ConnectionStatus.values, 0)
    rows = Connection.objects.filter(tenant=tenant).values("status").annotate(n=Count("id"))
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def connection_activity(*, tenant: Tenant, days: int = 14) -> list[DayActivity]:
    """Refreshes and failures (refresh failed, needs re-auth) per UTC day, oldest day first."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    rows = (
        ConnectionEvent.objects.filter(
            tenant=tenant,
            created_at__date__gte=first,
            kind__in=[EventKind.REFRESHED, *FAILURE_KINDS],
        )
        .annotate(day=TruncDate("created_at"))
        .values("day", "kind")
        .annotate(n=Count("id"))
    )
    refreshed: dict[date, int] = {}
    failed: dict[date, int] = {}
    for row in rows:
        target = refreshed if row["kind"] == EventKind.REFRESHED else failed
        target[row["day"]] = target.get(row["day"], 0) + row["n"]
    return [
        DayActivity(day=d, refreshed=refreshed.get(d, 0), failed=failed.get(d, 0))
        for d in (first + timedelta(days=i) for i in range(days))
    ]


def connections_needing_attention(*, tenant: Tenant, limit: int = 10) -> QuerySet[Connection]:
    """Connections that need re-authorisation or are in error, most recently changed first."""
    return (
        Connection.objects.filter(tenant=tenant, status__in=ATTENTION_STATUSES)
        .select_related("plugin")
        .order_by("-updated_at")[:limit]
    )


def connection_list(
    *, tenant: Tenant, plugin_slug: str = "", status: str = "", search: str = ""
) -> QuerySet[Connection]:
    """The tenant's connections, those needing attention first, then newest first."""
    queryset = Connection.objects.filter(tenant=tenant).select_related("plugin")
    if plugin_slug:
        queryset = queryset.filter(plugin__slug=plugin_slug)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(
            Q(label__icontains=search)
            | Q(unique_identifier__icontains=search)
            | Q(external_user_id__icontains=search)
        )
    attention = Case(
        When(status__in=ATTENTION_STATUSES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return queryset.annotate(attention=attention).order_by("attention", "-created_at")


def plugins_in_use(*, tenant: Tenant) -> QuerySet[Plugin]:
    """Plugins the tenant has connections to (for the connections filter)."""
    return Plugin.objects.filter(connections__tenant=tenant).distinct().order_by("name")


def plugin_catalogue(*, tenant: Tenant, search: str = "") -> QuerySet[Plugin]:
    """Plugins with a published auth version, each with the tenant's connection count."""
    published = AuthVersion.objects.filter(status=VersionStatus.PUBLISHED).values("plugin_id")
    queryset = Plugin.objects.filter(pk__in=published)
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return queryset.annotate(
        connected=Count("connections", filter=Q(connections__tenant=tenant))
    ).order_by("name")


def members_of(*, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's memberships with their users, oldest first."""
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("created_at")


def pending_invitations(*, tenant: Tenant) -> QuerySet[Invitation]:
    """The tenant's invitations that can still be accepted, newest first."""
    return (
        Invitation.objects.filter(
            tenant=tenant, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_by_token(*, token: str) -> Invitation | None:
    """The pending invitation with this token, or None (unknown, used or expired)."""
    invitation = (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_pending else None


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """The tenant's API keys, active first, newest first."""
    return ApiKey.objects.filter(tenant=tenant).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at"
    )


def webhook_deliveries(*, tenant: Tenant, limit: int = 20) -> QuerySet[WebhookDelivery]:
    """The tenant's latest webhook deliveries, newest first."""
    return WebhookDelivery.objects.filter(tenant=tenant).order_by("-created_at")[:limit]


def account_exists(*, email: str) -> bool:
    """True when a user with this email (any case) exists."""
    return get_user_model().objects.filter(email__iexact=email).exists()
