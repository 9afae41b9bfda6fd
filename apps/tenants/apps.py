from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Tenants, their members and their API keys."""

    name = "apps.tenants"
    label = "tenants"
