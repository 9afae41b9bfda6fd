"""API routes: /api/v1/ (tenant API key), the OpenAPI schema and its docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from apps.api import views

# Ids are matched loosely so that a malformed id is a JSON 404 like an unknown one.
v1 = [
    path("tenant/", views.TenantView.as_view(), name="api-tenant"),
    path("plugins/", views.PluginListView.as_view(), name="api-plugins"),
    path("connections/", views.ConnectionListCreateView.as_view(), name="api-connections"),
    path(
        "connections/<str:connection_id>/",
        views.ConnectionDetailView.as_view(),
        name="api-connection",
    ),
    path(
        "connections/<str:connection_id>/credentials/",
        views.ConnectionCredentialsView.as_view(),
        name="api-connection-credentials",
    ),
    path(
        "connections/<str:connection_id>/refresh/",
        views.ConnectionRefreshView.as_view(),
        name="api-connection-refresh",
    ),
    path(
        "connections/<str:connection_id>/test/",
        views.ConnectionTestView.as_view(),
        name="api-connection-test",
    ),
    re_path(
        r"^connections/(?P<connection_id>[^/]+)/proxy/(?P<path>.*)$",
        views.ProxyView.as_view(),
        name="api-connection-proxy",
    ),
    path(
        "connect-sessions/", views.ConnectSessionCreateView.as_view(), name="api-connect-sessions"
    ),
    path("events/", views.EventListView.as_view(), name="api-events"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
]
