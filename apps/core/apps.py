from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting pieces: encrypted fields, health check, deployment checks."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.conf import settings

        from apps.core import checks  # noqa: F401  (registers deployment checks)

        if not settings.REDIS_URL:
            from config.celery import ensure_embedded_broker_dirs

            ensure_embedded_broker_dirs()
