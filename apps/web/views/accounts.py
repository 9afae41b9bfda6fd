"""Sign-up and invitation acceptance (login, logout and password reset are Django's views)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from apps.tenants.models import Membership
from apps.tenants.web import switch_tenant
from apps.web import selectors, services
from apps.web.forms import InvitationSignupForm, SignupForm

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _enter_tenant(request: HttpRequest, membership: Membership, message: str) -> HttpResponse:
    switch_tenant(request, tenant_id=str(membership.tenant_id))
    messages.success(request, message)
    return redirect("dashboard")


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and an organisation, then sign in as its owner."""
    if not settings.SIGNUP_ENABLED:
        raise Http404("Sign-up is turned off.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                tenant_name=form.cleaned_data["tenant_name"],
            )
        except services.PortalError as exc:
            form.add_error("email", str(exc))
        else:
            login(request, membership.user, backend=MODEL_BACKEND)
            return _enter_tenant(
                request, membership, f"Welcome to Plugsmith! {membership.tenant.name} is ready."
            )
    return render(request, "web/signup.html", {"form": form})


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: signed in with the invited email, or by creating that account."""
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        return render(request, "web/invitation_invalid.html", status=404)
    joined = f"You joined {invitation.tenant.name} as {invitation.get_role_display().lower()}."
    form = None
    account_exists = selectors.account_exists(email=invitation.email)
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(invitation=invitation, user=request.user)
            except services.PortalError as exc:
                messages.error(request, str(exc))
                return redirect(request.path)
            return _enter_tenant(request, membership, joined)
    elif not account_exists:
        form = InvitationSignupForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                membership = services.invitation_accept_with_signup(
                    invitation=invitation, password=form.cleaned_data["password1"]
                )
            except services.PortalError as exc:
                form.add_error(None, str(exc))
            else:
                login(request, membership.user, backend=MODEL_BACKEND)
                return _enter_tenant(request, membership, joined)
    elif request.method == "POST":
        return redirect_to_login(request.path)
    email_matches = (
        request.user.is_authenticated
        and (request.user.email or "").lower() == invitation.email.lower()
    )
    return render(
        request,
        "web/invitation.html",
        {
            "invitation": invitation,
            "form": form,
            "account_exists": account_exists,
            "email_matches": email_matches,
        },
    )
