"""OAuth routes: the one callback URL of the deployment."""

from django.urls import path

from apps.oauth import views

urlpatterns = [
    path("callback/", views.callback, name="oauth-callback"),
]
