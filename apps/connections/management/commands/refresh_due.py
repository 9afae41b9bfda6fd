"""Run one refresh sweep in the foreground (useful without workers)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from tqdm import tqdm

from apps.connections.models import Connection
from apps.connections.refresh import SCHEDULABLE, connection_refresh, due_connections
from apps.plugins.errors import PlugsmithError


class Command(BaseCommand):
    help = (
        "Refresh every connection that is due now (or, with --all, every refreshable connection)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Refresh all active connections now."
        )

    def handle(self, *args: Any, all: bool, **options: Any) -> None:
        if all:
            query = Connection.objects.filter(status__in=SCHEDULABLE).order_by("created_at")
        else:
            query = due_connections(now=timezone.now())
        ids = list(query.values_list("id", flat=True))
        refreshed = failed = 0
        for connection_id in tqdm(
            ids, desc="refresh", unit="connection", file=self.stderr, disable=not ids
        ):
            try:
                connection_refresh(connection_id=connection_id, force=all)
            except PlugsmithError as exc:
                failed += 1
                self.stderr.write(f"{connection_id}: {exc}")
            else:
                refreshed += 1
        self.stdout.write(f"{refreshed} refreshed, {failed} failed, of {len(ids)} due.")
