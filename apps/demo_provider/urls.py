"""The demo provider's URLs; include them with path("demo-provider/", include(...))."""

from django.urls import include, path, re_path
from oauth2_provider import urls as dot_urls
from oauth2_provider import views as dot_views

from apps.demo_provider import views

# DOT reverses its own views as "oauth2_provider:<name>", so that namespace is kept;
# the demo's authorization view replaces DOT's for its login page and consent template.
oauth_patterns = [
    path("authorize/", views.DemoAuthorizationView.as_view(), name="authorize"),
    path("token/", dot_views.TokenView.as_view(), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", dot_views.IntrospectTokenView.as_view(), name="introspect"),
    *dot_urls.metadata_urlpatterns,
]

urlpatterns = [
    path("", views.home, name="demo_provider_home"),
    path("o/", include((oauth_patterns, "oauth2_provider"))),
    path("accounts/login/", views.DemoLoginView.as_view(), name="demo_provider_login"),
    path("accounts/logout/", views.DemoLogoutView.as_view(), name="demo_provider_logout"),
    re_path(r"^api/me/?$", views.MeView.as_view(), name="demo_provider_me"),
    re_path(r"^api/echo(?:/(?P<rest>.*))?$", views.EchoView.as_view(), name="demo_provider_echo"),
]
