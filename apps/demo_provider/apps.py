from django.apps import AppConfig


class DemoProviderConfig(AppConfig):
    """A real OAuth 2.0 authorization server (django-oauth-toolkit) for demos and end-to-end tests."""

    name = "apps.demo_provider"
    label = "demo_provider"
    verbose_name = "Demo Provider"
