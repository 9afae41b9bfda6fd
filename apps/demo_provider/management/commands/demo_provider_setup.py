import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo_provider.provisioning import DEMO_USERNAME, ensure_demo_provider


class Command(BaseCommand):
    """Create or update the demo provider's user and applications and print their credentials."""

    help = "Create or update the demo OAuth provider's user and applications (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's options."""
        parser.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            dest="redirect_uris",
            help="An allowed redirect URI for the authorization-code apps (repeatable).",
        )
        parser.add_argument("--username", default=DEMO_USERNAME, help="The demo user's name.")
        parser.add_argument("--password", default="demo", help="The demo user's password.")
        parser.add_argument(
            "--rotate-secrets", action="store_true", help="Issue new client secrets."
        )
        parser.add_argument("--json", action="store_true", help="Print the credentials as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Provision and print."""
        provider = ensure_demo_provider(
            redirect_uris=options["redirect_uris"],
            user_password=options["password"],
            username=options["username"],
            rotate_secrets=options["rotate_secrets"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(provider.as_dict(), indent=2))
            return
        self.stdout.write(f"User: {provider.username} / {provider.password} ({provider.name})")
        for client in provider.clients.values():
            pkce = "PKCE required" if client.pkce_required else "no PKCE required"
            self.stdout.write(
                f"{client.name}: grant={client.grant_type} type={client.client_type} ({pkce})\n"
                f"  client_id={client.client_id}\n  client_secret={client.client_secret or '-'}"
            )
