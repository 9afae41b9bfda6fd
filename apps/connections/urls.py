"""Connection pages: /connections/<id>/."""

from django.urls import path

from apps.connections import views

urlpatterns = [
    path("<uuid:connection_id>/", views.connection_detail, name="connection-detail"),
    path("<uuid:connection_id>/test/", views.connection_test, name="connection-test"),
    path("<uuid:connection_id>/refresh/", views.connection_refresh_now, name="connection-refresh"),
    path(
        "<uuid:connection_id>/disconnect/",
        views.connection_disconnect,
        name="connection-disconnect",
    ),
]
