"""Portal writes: sign-up, invitations, memberships and webhook settings."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.tenants.models import WEBHOOK_EVENT_TYPES, Invitation, Membership, Role, Tenant
from apps.tenants.services import tenant_create, user_get_or_create

logger = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=7)


class PortalError(Exception):
    """An action refused for a reason the person can act on; the message is shown to them."""


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation: `token` exists in plaintext only here and in the emailed link."""

    invitation: Invitation
    token: str


def invitation_token_hash(token: str) -> str:
    """SHA-256 of an invitation token (256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _email_taken(email: str) -> bool:
    return get_user_model().objects.filter(email__iexact=email).exists()


@transaction.atomic
def signup(*, email: str, password: str, tenant_name: str) -> Membership:
    """Create a user and their tenant, with the user as its owner."""
    email = email.strip().lower()
    if _email_taken(email):
        raise PortalError("An account with this email already exists: log in instead.")
    user, _ = user_get_or_create(email=email, password=password)
    tenant = tenant_create(name=tenant_name.strip(), owner=user)
    return Membership.objects.select_related("tenant").get(user=user, tenant=tenant)


def invitable_roles(*, inviter: Membership) -> list[str]:
    """Owners may invite any role; admins may invite admins and members."""
    if inviter.role == Role.OWNER:
        return [Role.OWNER, Role.ADMIN, Role.MEMBER]
    if inviter.role == Role.ADMIN:
        return [Role.ADMIN, Role.MEMBER]
    return []


@transaction.atomic
def invitation_create(
    *, inviter: Membership, email: str, role: str, link_for: Callable[[str], str]
) -> IssuedInvitation:
    """Invite `email` to the inviter's tenant and email the single-use link `link_for(token)`.

    A new invitation replaces any pending one for the same address.
    """
    tenant = inviter.tenant
    email = email.strip().lower()
    if role not in invitable_roles(inviter=inviter):
        raise PortalError(f"You cannot invite someone as {Role(role).label.lower()}.")
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise PortalError(f"{email} is already a member of {tenant.name}.")
    Invitation.objects.filter(tenant=tenant, email__iexact=email, accepted_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=invitation_token_hash(token),
        invited_by=inviter.user,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    accept_url = link_for(token)
    transaction.on_commit(lambda: _send_invitation_email(invitation, accept_url))
    return IssuedInvitation(invitation=invitation, token=token)


def _send_invitation_email(invitation: Invitation, accept_url: str) -> None:
    context = {"invitation": invitation, "accept_url": accept_url}
    try:
        send_mail(
            subject=f"You're invited to {invitation.tenant.name} on Plugsmith",
            message=render_to_string("web/email/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invitation.email],
        )
    except OSError:
        # The inviter sees the link once on the members page and can share it by hand.
        logger.warning("Could not email invitation %s", invitation.pk, exc_info=True)


def invitation_revoke(*, invitation: Invitation) -> None:
    """Withdraw a pending invitation; its link stops working."""
    invitation.delete()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """Join the invitation's tenant as `user` (whose email must match); single use."""
    invitation = (
        Invitation.objects.select_for_update().select_related("tenant").get(pk=invitation.pk)
    )
    if not invitation.is_pending:
        raise PortalError("This invitation has expired or was already used.")
    if (user.email or "").lower() != invitation.email.lower():
        raise PortalError(
            f"This invitation is for {invitation.email}. Log in with that address to accept it."
        )
    membership, _ = Membership.objects.get_or_create(
        user=user, tenant=invitation.tenant, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def invitation_accept_with_signup(*, invitation: Invitation, password: str) -> Membership:
    """Create the invited person's account with `password`, then accept the invitation."""
    if _email_taken(invitation.email):
        raise PortalError("You already have an account: log in to accept the invitation.")
    user, _ = user_get_or_create(email=invitation.email, password=password)
    return invitation_accept(invitation=invitation, user=user)


def _ensure_another_owner(membership: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(
        tenant_id=membership.tenant_id, role=Role.OWNER
    )
    if membership.role == Role.OWNER and len(owners) <= 1:
        raise PortalError("A tenant needs at least one owner: make someone else owner first.")


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> Membership:
    """Give a member another role, never leaving the tenant without an owner."""
    if role not in Role.values:
        raise PortalError("Unknown role.")
    if role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member from the tenant, never the last owner."""
    _ensure_another_owner(membership)
    membership.delete()


def webhook_url_validate(url: str) -> str:
    """A valid webhook URL: https only, except plain http while DEBUG is on."""
    url = url.strip()
    if not url:
        return ""
    schemes = ["https", "http"] if settings.DEBUG else ["https"]
    try:
        URLValidator(schemes=schemes)(url)
    except ValidationError:
        raise PortalError(
            "Enter a valid https:// URL." if not settings.DEBUG else "Enter a valid URL."
        ) from None
    return url


def webhook_settings_update(*, tenant: Tenant, url: str, events: list[str]) -> Tenant:
    """Set (or clear, with an empty string) the webhook URL and the subscribed event types."""
    tenant.webhook_url = webhook_url_validate(url)
    tenant.webhook_events = [name for name in WEBHOOK_EVENT_TYPES if name in events]
    tenant.save(update_fields=["webhook_url", "webhook_events"])
    return tenant
