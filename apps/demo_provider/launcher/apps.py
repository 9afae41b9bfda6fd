from django.apps import AppConfig


class DemoLauncherConfig(AppConfig):
    """Holds only `manage.py demo`, always installed so it can explain how to turn the demo on."""

    name = "apps.demo_provider.launcher"
    label = "demo_launcher"
    verbose_name = "Demo launcher"
