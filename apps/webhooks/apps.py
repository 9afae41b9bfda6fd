from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed tenant webhooks for connection events."""

    name = "apps.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from apps.webhooks import signals  # noqa: F401  (connects the event listener)
