"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from apps.tenants.models import Membership, Role, Tenant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda o: o.username)
    password = factory.django.Password("correct horse battery staple")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.MEMBER


# Plugins and connections (appended for the connect flows).

PROVIDER_BASE = "https://provider.example"


class PluginFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "plugins.Plugin"
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"plugin-{n}")
    name = factory.Sequence(lambda n: f"Plugin {n}")
    api_base_url = f"{PROVIDER_BASE}/api/"


class AuthVersionFactory(factory.django.DjangoModelFactory):
    """An authorization-code version at PROVIDER_BASE, published after its `fields` (publish=False: draft)."""

    class Meta:
        model = "plugins.AuthVersion"
        skip_postgeneration_save = True

    plugin = factory.SubFactory(PluginFactory)
    version = factory.Sequence(lambda n: n + 1)
    status = "draft"
    grant_type = "authorization_code"
    client_id = "plugsmith-client"
    client_secret = "client-secret-value-1234"
    authorization_url = f"{PROVIDER_BASE}/oauth/authorize"
    scopes = factory.LazyFunction(lambda: ["read", "profile"])
    pkce = True
    token_request = f"{PROVIDER_BASE}/oauth/token"
    refresh_request = f"{PROVIDER_BASE}/oauth/token"
    revoke_request = f"{PROVIDER_BASE}/oauth/revoke"
    test_request = factory.LazyFunction(
        lambda: {
            "method": "GET",
            "url": f"{PROVIDER_BASE}/api/me",
            "headers": {"Authorization": "Bearer {{ access_token }}"},
        }
    )
    connection_label = "{{ me.name }}"
    unique_identifier = "{{ me.id }}"
    allowed_urls = factory.LazyFunction(lambda: [f"{PROVIDER_BASE}/"])

    @factory.post_generation
    def fields(self, create: bool, extracted: object, **kwargs: object) -> None:
        """`fields=[{key, label, ...}, ...]` adds AuthFields while the version is still a draft."""
        if not create:
            return
        for order, spec in enumerate(extracted or ()):
            AuthFieldFactory(auth_version=self, order=order, **spec)

    @factory.post_generation
    def publish(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and (extracted is None or extracted):
            type(self).objects.filter(pk=self.pk).update(status="published")
            self.status = "published"
            self._stored_status = "published"


class AuthFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "plugins.AuthField"

    auth_version = factory.SubFactory(AuthVersionFactory, publish=False)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").capitalize())
    type = "text"
    required = True


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "connections.Connection"

    tenant = factory.SubFactory(TenantFactory)
    auth_version = factory.SubFactory(AuthVersionFactory)
    plugin = factory.LazyAttribute(lambda o: o.auth_version.plugin)
    label = factory.Sequence(lambda n: f"Account {n}")
    unique_identifier = factory.Sequence(lambda n: f"account-{n}")
    status = "active"
    access_token = factory.Sequence(lambda n: f"stored-access-token-{n}")
    refresh_token = factory.Sequence(lambda n: f"stored-refresh-token-{n}")
    token_type = "Bearer"
    granted_scopes = factory.LazyFunction(lambda: ["read"])
