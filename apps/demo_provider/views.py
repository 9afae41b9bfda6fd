"""The demo provider's pages and its small protected API."""

import contextlib
import json
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin, ScopedResourceMixin
from oauth2_provider.www_authenticate import build_bearer_challenge, challenge_status

LOGIN_URL = reverse_lazy("demo_provider_login")


class DemoAuthorizationView(AuthorizationView):
    """DOT's authorization endpoint with the demo's own login page and consent template."""

    template_name = "demo_provider/authorize.html"
    login_url = LOGIN_URL


class DemoLoginView(auth_views.LoginView):
    """Sign in to the demo provider."""

    template_name = "demo_provider/login.html"
    next_page = reverse_lazy("demo_provider_home")


class DemoLogoutView(auth_views.LogoutView):
    """Sign out of the demo provider (POST only, like Django's)."""

    next_page = LOGIN_URL


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    """Show who is signed in and the provider's endpoints."""
    return render(request, "demo_provider/home.html")


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class BearerTokenView(ScopedResourceMixin, OAuthLibMixin, View):
    """Base for API views: a valid bearer token with the required scopes, else 401/403 per RFC 6750."""

    required_scopes = ["read"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Verify the bearer token before handling the request."""
        valid, oauth_request = self.verify_request(request)
        if not valid:
            error = getattr(oauth_request, "oauth2_error", None)
            response = JsonResponse(
                dict(error or {"error": "invalid_token"}), status=challenge_status(error)
            )
            response["WWW-Authenticate"] = build_bearer_challenge(
                request, oauth2_error=error, realm="demo-provider", resource_metadata_url=None
            )
            return response
        self.access_token = oauth_request.access_token
        return super().dispatch(request, *args, **kwargs)


class MeView(BearerTokenView):
    """The resource owner behind the token; for a client-credentials token, the application."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Describe the token's identity."""
        token = self.access_token
        application = token.application
        user = token.user
        if user is None:
            identity = {
                "id": f"app:{application.client_id}",
                "username": None,
                "email": None,
                "name": application.name,
            }
        else:
            identity = {
                "id": str(user.pk),
                "username": user.get_username(),
                "email": user.email,
                "name": user.get_full_name() or user.get_username(),
            }
        return JsonResponse({**identity, "client_id": application.client_id, "scope": token.scope})


class EchoView(BearerTokenView):
    """Echo the request back, so API proxies can be checked end to end."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    def _echo(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Return the method, path, query, custom headers and body of the request."""
        body: Any = request.body.decode("utf-8", errors="replace")
        if request.content_type == "application/json" and body:
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower().startswith("x-") or name.lower() in {"accept", "content-type"}
        }
        return JsonResponse(
            {
                "method": request.method,
                "path": request.path,
                "query": {key: request.GET.getlist(key) for key in request.GET},
                "headers": headers,
                "body": body,
                "client_id": self.access_token.application.client_id,
            }
        )

    get = post = put = patch = delete = _echo
