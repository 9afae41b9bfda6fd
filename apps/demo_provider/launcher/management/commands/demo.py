from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.demo_provider.demo import DemoProviderDisabled, DemoSetup, demo_setup


class Command(BaseCommand):
    """Set up the demo (tenant, user, demo provider, Demo CRM plugins) and say how to try it."""

    help = (
        "Create or update the demo tenant and user, the demo OAuth provider and the Demo CRM "
        "plugins (idempotent; needs DEMO_PROVIDER_ENABLED=true)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Set up, then print where to go and how to sign in."""
        try:
            setup = demo_setup()
        except DemoProviderDisabled as exc:
            raise CommandError(str(exc)) from exc
        for result in setup.plugins:
            self.stdout.write(f"{result.plugin.name}: {_summary(result)}")
        self.stdout.write(self._instructions(setup))

    def _instructions(self, setup: DemoSetup) -> str:
        """The lines a newcomer needs, highlighted."""
        strong = self.style.SUCCESS
        return "\n".join(
            [
                "",
                strong(f"Plugsmith demo ready: open {setup.portal_url}/"),
                f"  Log in as      {setup.email} / {setup.password}  (tenant {setup.tenant.name})",
                "  Then           Plugins > Demo CRM > Connect",
                f"  Demo provider  {setup.provider.username} / {setup.provider.password}"
                f"  ({setup.provider_url})",
                f"  Plugin builder {setup.portal_url}/admin/ (same login)",
                "",
            ]
        )


def _summary(result: Any) -> str:
    """'created v1', 'unchanged v1' ... for one import."""
    parts = [
        f"{label} v{', v'.join(map(str, numbers))}"
        for label, numbers in (
            ("created", result.created),
            ("updated", result.updated),
            ("unchanged", result.unchanged),
        )
        if numbers
    ]
    return ", ".join(parts) or "nothing to do"
