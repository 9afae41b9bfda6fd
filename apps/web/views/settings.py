"""Tenant settings: API keys and webhooks (owners and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.tenants.services import api_key_create, api_key_revoke
from apps.web import selectors, services
from apps.web.forms import ApiKeyForm, WebhookForm
from apps.web.onetime import pop_once, stash_once
from apps.web.permissions import manager_required
from apps.webhooks import services as webhook_services

NEW_API_KEY = "api-key"
NEW_WEBHOOK_SECRET = "webhook-secret"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@manager_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the tenant's keys; POST creates one, shown once on the next page view."""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            issued = api_key_create(
                tenant=request.tenant, name=form.cleaned_data["name"], created_by=request.user
            )
            stash_once(request, key=NEW_API_KEY, value=issued.secret)
            messages.success(request, f"API key “{issued.api_key.name}” created.")
            return redirect("api-keys")
        messages.error(request, "The key was not created: check the form.")
    new_key = pop_once(request, key=NEW_API_KEY)
    response = render(
        request,
        "web/api_keys.html",
        {"form": form, "keys": selectors.api_keys_of(tenant=request.tenant), "new_key": new_key},
        status=400 if form.errors else 200,
    )
    return _no_store(response)


@require_http_methods(["GET", "POST"])
@manager_required
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    """Confirm (GET), then revoke (POST) one of the tenant's keys."""
    api_key = get_object_or_404(selectors.api_keys_of(tenant=request.tenant), pk=key_id)
    if request.method == "POST":
        if api_key.revoked_at is not None:
            messages.info(request, f"“{api_key.name}” was already revoked.")
        else:
            api_key_revoke(api_key=api_key)
            messages.success(request, f"API key “{api_key.name}” revoked.")
        return redirect("api-keys")
    return render(request, "web/api_key_revoke.html", {"api_key": api_key})


@require_http_methods(["GET", "POST"])
@manager_required
def webhooks(request: HttpRequest) -> HttpResponse:
    """The webhook endpoint, its signing secret and recent deliveries."""
    tenant = request.tenant
    form = WebhookForm(
        request.POST or None,
        initial={"url": tenant.webhook_url, "events": tenant.webhook_events},
    )
    if request.method == "POST":
        if form.is_valid():
            services.webhook_settings_update(
                tenant=tenant, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            )
            messages.success(
                request,
                "Webhook URL saved." if tenant.webhook_url else "Webhooks turned off.",
            )
            return redirect("webhooks")
        messages.error(request, "The webhook URL was not saved: check the form.")
    new_secret = pop_once(request, key=NEW_WEBHOOK_SECRET)
    response = render(
        request,
        "web/webhooks.html",
        {
            "form": form,
            "has_secret": bool(tenant.webhook_secret),
            "new_secret": new_secret,
            "deliveries": selectors.webhook_deliveries(tenant=tenant),
        },
        status=400 if form.errors else 200,
    )
    return _no_store(response)


@require_POST
@manager_required
def webhook_secret_rotate(request: HttpRequest) -> HttpResponse:
    """Replace the signing secret; the new one is shown once."""
    secret = webhook_services.webhook_secret_rotate(tenant=request.tenant)
    stash_once(request, key=NEW_WEBHOOK_SECRET, value=secret)
    messages.success(
        request, "New signing secret created. Update your receiver: the old one no longer works."
    )
    return redirect("webhooks")
