"""Issue an API key for a tenant and print it once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.tenants.models import Tenant
from apps.tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for TENANT_SLUG. Prints only the key, once: store it now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_slug")
        parser.add_argument("--name", required=True, help="What the key is for.")

    def handle(self, *args: Any, tenant_slug: str, name: str, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=tenant_slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {tenant_slug!r}.")
        issued = api_key_create(tenant=tenant, name=name)
        self.stdout.write(issued.secret)
