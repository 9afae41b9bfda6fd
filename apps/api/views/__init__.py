"""REST API views: thin, one per operation (parse input, call one service, render)."""

from apps.api.views.connect_sessions import ConnectSessionCreateView
from apps.api.views.connections import (
    ConnectionCredentialsView,
    ConnectionDetailView,
    ConnectionListCreateView,
    ConnectionRefreshView,
    ConnectionTestView,
)
from apps.api.views.events import EventListView
from apps.api.views.plugins import PluginListView
from apps.api.views.proxy import ProxyView
from apps.api.views.tenant import TenantView

__all__ = [
    "ConnectSessionCreateView",
    "ConnectionCredentialsView",
    "ConnectionDetailView",
    "ConnectionListCreateView",
    "ConnectionRefreshView",
    "ConnectionTestView",
    "EventListView",
    "PluginListView",
    "ProxyView",
    "TenantView",
]
