"""Portal routes (mounted at the site root)."""

from django.urls import path

from apps.web.views import accounts, catalogue, connections, dashboard, members, settings

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("signup/", accounts.signup, name="signup"),
    path("invitations/<str:token>/", accounts.invitation_accept, name="invitation-accept"),
    path("plugins/", catalogue.plugin_catalogue, name="plugin-catalogue"),
    path("connections/", connections.connection_list, name="connection-list"),
    path("members/", members.member_list, name="members"),
    path("members/invite/", members.invitation_create, name="invitation-create"),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation-revoke",
    ),
    path("members/<int:membership_id>/role/", members.membership_role, name="membership-role"),
    path(
        "members/<int:membership_id>/remove/", members.membership_remove, name="membership-remove"
    ),
    path("settings/api-keys/", settings.api_keys, name="api-keys"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        settings.api_key_revoke_view,
        name="api-key-revoke",
    ),
    path("settings/webhooks/", settings.webhooks, name="webhooks"),
    path(
        "settings/webhooks/rotate-secret/",
        settings.webhook_secret_rotate,
        name="webhook-secret-rotate",
    ),
]
