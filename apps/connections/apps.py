from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    """Tenants' connected accounts and their token lifecycle."""

    name = "apps.connections"
    label = "connections"
