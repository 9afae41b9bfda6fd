from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API for tenants' services."""

    name = "apps.api"
    label = "api"
