"""Connect-session links: /connect-session/<token>/ (no login)."""

from django.urls import path

from apps.oauth import connect_session_views

urlpatterns = [
    path(
        "<uuid:session_id>/finish/",
        connect_session_views.connect_session_finish,
        name="connect-session-finish",
    ),
    path("<str:token>/", connect_session_views.connect_session, name="connect-session"),
]
