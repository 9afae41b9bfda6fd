"""Top-level URL map."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from apps.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("apps.api.urls")),
    path("oauth/", include("apps.oauth.urls")),
    path("connect/", include("apps.oauth.connect_urls")),
    path("connect-session/", include("apps.oauth.connect_session_urls")),
    path("connections/", include("apps.connections.urls")),
    path("", include("apps.web.urls")),
    path("", include("apps.tenants.urls")),
]

if settings.DEMO_PROVIDER_ENABLED:
    urlpatterns.insert(0, path("demo-provider/", include("apps.demo_provider.urls")))

handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"
