"""Print a plugin in the plugin file format."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.plugins.models import Plugin
from apps.plugins.plugin_files import dump_plugin, export_plugin


class Command(BaseCommand):
    help = "Export a plugin as YAML (or JSON). Secrets are left out unless --include-secrets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--include-secrets", action="store_true")
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")

    def handle(
        self, *args: Any, slug: str, include_secrets: bool, format: str, **options: Any
    ) -> None:
        plugin = Plugin.objects.filter(slug=slug).first()
        if plugin is None:
            raise CommandError(f"No plugin with slug {slug!r}.")
        self.stdout.write(
            dump_plugin(export_plugin(plugin, include_secrets=include_secrets), fmt=format),
            ending="",
        )
