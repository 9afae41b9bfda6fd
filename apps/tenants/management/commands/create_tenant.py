"""Create a tenant and its owner."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from apps.tenants.models import Tenant
from apps.tenants.services import tenant_create, user_get_or_create


class Command(BaseCommand):
    help = "Create a tenant owned by EMAIL (the user is created when missing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="Owner's email address.")
        parser.add_argument("--password", help="Password for a newly created owner.")
        parser.add_argument("--slug", help="URL slug (default: from the name).")

    def handle(
        self,
        *args: Any,
        name: str,
        owner: str,
        password: str | None,
        slug: str | None,
        **options: Any,
    ) -> None:
        try:
            validate_email(owner)
        except ValidationError as exc:
            raise CommandError(f"--owner: {owner!r} is not an email address.") from exc
        if slug and Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"A tenant with slug {slug!r} already exists.")
        user, created = user_get_or_create(email=owner, password=password)
        tenant = tenant_create(name=name, owner=user, slug=slug)
        who = "new user" if created else "existing user"
        self.stdout.write(f"Created tenant {tenant.name} ({tenant.slug}) owned by {owner} ({who}).")
