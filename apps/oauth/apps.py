from django.apps import AppConfig


class OauthConfig(AppConfig):
    """The connect flows: authorization attempts, the callback, credential forms."""

    name = "apps.oauth"
    label = "oauth"
