"""Import plugins from YAML/JSON files or from the bundled catalogue."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.plugins.plugin_files import PluginFileError, catalog_files, import_plugin_file


class Command(BaseCommand):
    help = (
        "Import plugin files (idempotent: the same file twice changes nothing). "
        "Use --catalog NAME or --catalog all for the bundled providers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", type=Path)
        parser.add_argument(
            "--catalog", metavar="NAME|all", help="Import from apps/plugins/catalog/."
        )

    def handle(self, *args: Any, files: list[Path], catalog: str | None, **options: Any) -> None:
        try:
            paths = [*files, *(catalog_files(catalog) if catalog else [])]
        except PluginFileError as exc:
            raise CommandError(str(exc)) from exc
        if not paths:
            raise CommandError("Name at least one FILE or use --catalog NAME|all.")
        failures = 0
        for path in paths:
            try:
                result = import_plugin_file(path)
            except PluginFileError as exc:
                failures += 1
                self.stderr.write(self.style.ERROR(str(exc)))
                continue
            summary = ", ".join(
                f"{label} v{', v'.join(map(str, numbers))}"
                for label, numbers in (
                    ("created", result.created),
                    ("updated", result.updated),
                    ("unchanged", result.unchanged),
                )
                if numbers
            )
            self.stdout.write(f"{result.plugin.slug}: {summary}")
            for warning in result.warnings:
                self.stderr.write(self.style.WARNING(warning))
        if failures:
            raise CommandError(
                f"{failures} of {len(paths)} file(s) failed; nothing was saved for them."
            )
