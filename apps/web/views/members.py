"""Members and invitations."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.tenants.models import Role
from apps.web import selectors, services
from apps.web.forms import InviteForm, RoleForm
from apps.web.onetime import pop_once, stash_once
from apps.web.permissions import manager_required, member_required, owner_required

INVITE_LINK = "invite-link"


def _members_page(
    request: HttpRequest, *, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = request.tenant
    roles = services.invitable_roles(inviter=request.membership)
    if invite_form is None and roles:
        invite_form = InviteForm(roles=roles)
    invite_link = pop_once(request, key=INVITE_LINK)
    response = render(
        request,
        "web/members.html",
        {
            "members": selectors.members_of(tenant=tenant),
            "invitations": selectors.pending_invitations(tenant=tenant),
            "invite_form": invite_form,
            "invite_link": invite_link,
            "roles": Role.choices,
            "is_owner": request.membership.role == Role.OWNER,
        },
        status=status,
    )
    if invite_link:
        response["Cache-Control"] = "no-store"
    return response


def _accept_link(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("invitation-accept", args=[token]))


@require_GET
@member_required
def member_list(request: HttpRequest) -> HttpResponse:
    """Members and pending invitations; managers also see the invite form."""
    return _members_page(request)


@require_POST
@manager_required
def invitation_create(request: HttpRequest) -> HttpResponse:
    """Invite someone by email; the link is emailed and shown once to the inviter."""
    form = InviteForm(request.POST, roles=services.invitable_roles(inviter=request.membership))
    if not form.is_valid():
        messages.error(request, "The invitation was not sent: check the form.")
        return _members_page(request, invite_form=form, status=400)
    try:
        issued = services.invitation_create(
            inviter=request.membership,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            link_for=lambda token: _accept_link(request, token),
        )
    except services.PortalError as exc:
        form.add_error("email", str(exc))
        messages.error(request, str(exc))
        return _members_page(request, invite_form=form, status=400)
    stash_once(request, key=INVITE_LINK, value=_accept_link(request, issued.token))
    messages.success(request, f"Invitation sent to {issued.invitation.email}.")
    return redirect("members")


@require_POST
@manager_required
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Withdraw a pending invitation of the current tenant."""
    invitation = get_object_or_404(
        selectors.pending_invitations(tenant=request.tenant), pk=invitation_id
    )
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("members")


@require_POST
@owner_required
def membership_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Change a member's role (owners only; the last owner stays an owner)."""
    membership = get_object_or_404(selectors.members_of(tenant=request.tenant), pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("members")
    try:
        services.membership_role_change(membership=membership, role=form.cleaned_data["role"])
    except services.PortalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
        )
    return redirect("members")


@require_POST
@owner_required
def membership_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Remove a member (owners only; never the last owner)."""
    membership = get_object_or_404(selectors.members_of(tenant=request.tenant), pk=membership_id)
    leaving = membership.user_id == request.user.pk
    try:
        services.membership_remove(membership=membership)
    except services.PortalError as exc:
        messages.error(request, str(exc))
        return redirect("members")
    messages.success(request, f"{membership.user.email} was removed from {request.tenant.name}.")
    return redirect("dashboard" if leaving else "members")
