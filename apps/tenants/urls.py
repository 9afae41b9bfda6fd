from django.urls import include, path

from apps.tenants import views

urlpatterns = [
    path("tenants/switch/", views.tenant_switch, name="tenant-switch"),
    path("accounts/", include("django.contrib.auth.urls")),
]
