"""The connect page of a plugin: /connect/<plugin_slug>/."""

from django.urls import path

from apps.oauth import views

urlpatterns = [
    path("<slug:plugin_slug>/", views.connect, name="oauth-connect"),
]
