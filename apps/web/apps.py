from django.apps import AppConfig


class WebConfig(AppConfig):
    """The tenant portal: sign-up, dashboard, catalogue, connections, members and settings."""

    name = "apps.web"
    label = "web"
