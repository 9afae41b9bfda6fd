from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from apps.api import views

urlpatterns = [
    path("v1/tenant/", views.TenantView.as_view(), name="api-tenant"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
]
