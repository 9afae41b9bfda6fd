"""The Celery application: Redis broker when REDIS_URL is set, the embedded filesystem broker otherwise."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import beat_init, task_postrun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("plugsmith")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_embedded_broker_dirs() -> None:
    """Create the embedded broker's folders (the filesystem transport does not)."""
    from django.conf import settings

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@worker_init.connect
@beat_init.connect
def _prepare_worker(**_kwargs: object) -> None:
    ensure_embedded_broker_dirs()


@task_postrun.connect
def _close_old_connections(task: object = None, **_kwargs: object) -> None:
    """Drop unusable or over-age (CONN_MAX_AGE) database connections, as Django does per request.

    Not for eager tasks: they run inside the caller's request or transaction.
    """
    request = getattr(task, "request", None)
    if getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
