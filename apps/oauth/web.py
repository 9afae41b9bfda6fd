"""The browser-session side of the connect flow: the nonce that binds an attempt to a browser."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from apps.oauth.services import new_browser_nonce

SESSION_NONCE_KEY = "oauth_browser_nonce"


def browser_nonce(request: HttpRequest) -> str:
    """This browser session's nonce, created on first use."""
    nonce = request.session.get(SESSION_NONCE_KEY)
    if not nonce:
        nonce = new_browser_nonce()
        request.session[SESSION_NONCE_KEY] = nonce
    return nonce


def existing_browser_nonce(request: HttpRequest) -> str | None:
    """The session's nonce if it has one (never creates one)."""
    return request.session.get(SESSION_NONCE_KEY)


def is_safe_return_to(request: HttpRequest, url: str) -> bool:
    """True for a URL on this site (the request's host or PUBLIC_BASE_URL's)."""
    allowed_hosts = {request.get_host(), urlsplit(settings.PUBLIC_BASE_URL).netloc}
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts=allowed_hosts, require_https=request.is_secure()
    )
