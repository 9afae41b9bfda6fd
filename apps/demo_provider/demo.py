"""Idempotent setup of the whole demo: a tenant and its user, the demo provider, the Demo CRM plugins.

Imports the provider's models lazily: this module must load (and refuse) where the demo provider
app is not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.demo_provider.plugins import (
    DEMO_CRM_SERVICE_SLUG,
    DEMO_CRM_SLUG,
    demo_crm_plugin,
    demo_crm_service_plugin,
)
from apps.plugins.errors import ConfigurationError
from apps.plugins.models import Plugin
from apps.plugins.plugin_files import ImportResult, PluginFileError, import_plugin_data
from apps.tenants.models import Membership, Role, Tenant
from apps.tenants.services import tenant_create

if TYPE_CHECKING:
    from apps.demo_provider.provisioning import DemoProvider

DEMO_TENANT_NAME = "Demo Company"
DEMO_TENANT_SLUG = "demo"
DEMO_USER_EMAIL = "demo@plugsmith.local"
# Fixed on purpose: printed by `manage.py demo` and the README; the demo never runs in production.
DEMO_USER_PASSWORD = "plugsmith-demo"
DEMO_PROVIDER_PASSWORD = "demo"


class DemoProviderDisabled(ConfigurationError):
    """The demo needs DEMO_PROVIDER_ENABLED=true (the provider's app and URLs)."""


@dataclass(frozen=True)
class DemoSetup:
    """What `demo_setup` made sure exists, with the credentials to print."""

    portal_url: str
    provider_url: str
    email: str
    password: str
    tenant: Tenant
    provider: DemoProvider
    plugins: list[ImportResult]


def demo_setup() -> DemoSetup:
    """Create or update everything the demo needs; running it again changes nothing."""
    if not getattr(settings, "DEMO_PROVIDER_ENABLED", False):
        raise DemoProviderDisabled(
            "The demo provider is off: set DEMO_PROVIDER_ENABLED=true (as `make run` does) "
            "and run this command again."
        )
    from apps.demo_provider.provisioning import ensure_demo_provider

    portal_url = settings.PUBLIC_BASE_URL.rstrip("/")
    provider_base_url = settings.DEMO_PROVIDER_BASE_URL.rstrip("/")
    with transaction.atomic():
        user = _ensure_demo_user(email=DEMO_USER_EMAIL, password=DEMO_USER_PASSWORD)
        tenant = _ensure_demo_tenant(owner=user)
        provider = ensure_demo_provider(
            redirect_uris=[f"{portal_url}/oauth/callback/"],
            user_password=DEMO_PROVIDER_PASSWORD,
        )
        pkce, service = provider.clients["pkce"], provider.clients["service"]
        plugins = [
            _import_plugin(
                DEMO_CRM_SLUG,
                lambda version: demo_crm_plugin(
                    provider_base_url=provider_base_url,
                    client_id=pkce.client_id,
                    client_secret=pkce.client_secret,
                    version=version,
                ),
            ),
            _import_plugin(
                DEMO_CRM_SERVICE_SLUG,
                lambda version: demo_crm_service_plugin(
                    provider_base_url=provider_base_url,
                    client_id=service.client_id,
                    client_secret=service.client_secret,
                    version=version,
                ),
            ),
        ]
    return DemoSetup(
        portal_url=portal_url,
        provider_url=f"{provider_base_url}/demo-provider/",
        email=DEMO_USER_EMAIL,
        password=DEMO_USER_PASSWORD,
        tenant=tenant,
        provider=provider,
        plugins=plugins,
    )


def _ensure_demo_user(*, email: str, password: str) -> AbstractBaseUser:
    """The portal's demo user: staff and superuser, so the plugin builder at /admin/ opens."""
    wanted = {"email": email, "is_staff": True, "is_superuser": True, "is_active": True}
    user, _ = get_user_model().objects.get_or_create(username=email, defaults=wanted)
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if not user.check_password(password):
        user.set_password(password)
        changed.append("password")
    if changed:
        user.save(update_fields=changed)
    return user


def _ensure_demo_tenant(*, owner: AbstractBaseUser) -> Tenant:
    """The demo tenant, owned by the demo user."""
    tenant = Tenant.objects.filter(slug=DEMO_TENANT_SLUG).first()
    if tenant is None:
        return tenant_create(name=DEMO_TENANT_NAME, owner=owner, slug=DEMO_TENANT_SLUG)
    Membership.objects.get_or_create(user=owner, tenant=tenant, defaults={"role": Role.OWNER})
    return tenant


def _import_plugin(slug: str, build: Callable[[int], dict[str, Any]]) -> ImportResult:
    """Import the plugin at its latest version; when that published version differs, add one."""
    latest = (
        Plugin.objects.filter(slug=slug)
        .values_list("auth_versions__version", flat=True)
        .order_by("-auth_versions__version")
        .first()
    )
    number = latest or 1
    try:
        return import_plugin_data(build(number), source=slug)
    except PluginFileError:
        # Published versions are immutable: a changed DEMO_PROVIDER_BASE_URL (or a version
        # edited in the admin) gets a new version; existing connections keep theirs.
        if latest is None:
            raise
        return import_plugin_data(build(number + 1), source=slug)
