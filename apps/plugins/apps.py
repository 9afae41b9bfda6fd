from django.apps import AppConfig


class PluginsConfig(AppConfig):
    """Plugins and their auth versions: the plugin builder."""

    name = "apps.plugins"
    label = "plugins"
