"""The demo provider works as a real OAuth 2.0 server over HTTP (plain requests, no Plugsmith code)."""

from typing import Any

import pytest
import requests

from tests.provider.server import ProviderServer, pkce_pair, query_params

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://testserver/oauth/callback/"


def token_request(
    provider: ProviderServer, client_key: str, *, basic_auth: bool = False, **data: str
) -> requests.Response:
    """POST to the token endpoint as a demo app (credentials in the body unless basic_auth)."""
    client = provider.client(client_key)
    auth = None
    if basic_auth:
        auth = (client["client_id"], client["client_secret"])
    else:
        data |= {"client_id": client["client_id"]}
        if client["client_secret"]:
            data |= {"client_secret": client["client_secret"]}
    return requests.post(provider.token_url, data=data, auth=auth, timeout=10)


def authorize(provider: ProviderServer, client_key: str, **kwargs: Any) -> dict[str, str]:
    """Approve an authorization request and return the callback's query parameters."""
    location = provider.login_and_authorize(provider.authorization_url(client_key, **kwargs))
    assert location.startswith(REDIRECT_URI)
    return query_params(location)


def exchange_code(
    provider: ProviderServer, client_key: str, code: str, **extra: str
) -> requests.Response:
    """Exchange an authorization code for tokens."""
    return token_request(
        provider,
        client_key,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        **extra,
    )


def call_me(provider: ProviderServer, access_token: str) -> requests.Response:
    """Call the protected user-info endpoint with a bearer token."""
    return requests.get(
        provider.me_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )


def pkce_tokens(provider: ProviderServer) -> dict[str, Any]:
    """Run the PKCE authorization-code flow and return the token response."""
    verifier, challenge = pkce_pair()
    params = authorize(provider, "pkce", code_challenge=challenge)
    response = exchange_code(provider, "pkce", params["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    return response.json()


def test_authorization_code_with_pkce_issues_tokens_for_the_user(
    oauth_provider: ProviderServer,
) -> None:
    verifier, challenge = pkce_pair()
    params = authorize(oauth_provider, "pkce", code_challenge=challenge, state="s-1")
    assert params["state"] == "s-1"

    response = exchange_code(oauth_provider, "pkce", params["code"], code_verifier=verifier)

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert set(tokens["scope"].split()) == {"read", "profile"}
    assert tokens["refresh_token"]
    me = call_me(oauth_provider, tokens["access_token"])
    assert me.status_code == 200
    assert me.json() | {"id": "?"} == {
        "id": "?",
        "username": "demo",
        "email": "demo@example.com",
        "name": "Dana Demo",
        "client_id": "demo-pkce",
        "scope": tokens["scope"],
    }


def test_authorization_response_carries_the_issuer(oauth_provider: ProviderServer) -> None:
    _, challenge = pkce_pair()

    params = authorize(oauth_provider, "pkce", code_challenge=challenge)

    assert params["iss"] == oauth_provider.issuer


def test_authorization_code_cannot_be_exchanged_twice(oauth_provider: ProviderServer) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(oauth_provider, "pkce", code_challenge=challenge)["code"]
    assert exchange_code(oauth_provider, "pkce", code, code_verifier=verifier).status_code == 200

    second = exchange_code(oauth_provider, "pkce", code, code_verifier=verifier)

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_pkce_exchange_with_the_wrong_verifier_fails(oauth_provider: ProviderServer) -> None:
    _, challenge = pkce_pair()
    code = authorize(oauth_provider, "pkce", code_challenge=challenge)["code"]
    other_verifier, _ = pkce_pair()

    response = exchange_code(oauth_provider, "pkce", code, code_verifier=other_verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_pkce_app_refuses_an_authorization_request_without_pkce(
    oauth_provider: ProviderServer,
) -> None:
    location = oauth_provider.login_and_authorize(oauth_provider.authorization_url("pkce"))

    assert location.startswith(REDIRECT_URI)
    assert query_params(location)["error"] == "invalid_request"


def test_web_app_works_without_pkce(oauth_provider: ProviderServer) -> None:
    code = authorize(oauth_provider, "web")["code"]

    response = exchange_code(oauth_provider, "web", code)

    assert response.status_code == 200, response.text
    assert call_me(oauth_provider, response.json()["access_token"]).json()["username"] == "demo"


def test_public_app_uses_pkce_without_a_secret(oauth_provider: ProviderServer) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(oauth_provider, "public", code_challenge=challenge)["code"]

    response = exchange_code(oauth_provider, "public", code, code_verifier=verifier)

    assert response.status_code == 200, response.text


def test_denying_consent_redirects_with_access_denied(oauth_provider: ProviderServer) -> None:
    _, challenge = pkce_pair()
    url = oauth_provider.authorization_url("pkce", code_challenge=challenge, state="s-2")

    location = oauth_provider.login_and_authorize(url, approve=False)

    params = query_params(location)
    assert location.startswith(REDIRECT_URI)
    assert params["error"] == "access_denied"
    assert params["state"] == "s-2"
    assert "code" not in params


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    oauth_provider: ProviderServer,
) -> None:
    url = oauth_provider.authorization_url("web", redirect_uri="http://evil.example/callback/")

    response = oauth_provider.signed_in_session().get(url, allow_redirects=False, timeout=10)

    assert response.status_code == 400
    assert "Authorization error" in response.text


def test_client_credentials_token_identifies_the_application(
    oauth_provider: ProviderServer,
) -> None:
    response = token_request(
        oauth_provider, "service", basic_auth=True, grant_type="client_credentials", scope="read"
    )

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert "refresh_token" not in tokens
    me = call_me(oauth_provider, tokens["access_token"]).json()
    assert me["id"] == "app:demo-service"
    assert me["name"] == "Demo service app"
    assert me["username"] is None


def test_client_credentials_with_a_wrong_secret_is_invalid_client(
    oauth_provider: ProviderServer,
) -> None:
    response = requests.post(
        oauth_provider.token_url,
        data={"grant_type": "client_credentials"},
        auth=("demo-service", "wrong"),
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_password_grant_issues_tokens_for_the_user(oauth_provider: ProviderServer) -> None:
    response = token_request(
        oauth_provider,
        "password",
        grant_type="password",
        username=oauth_provider.username,
        password=oauth_provider.password,
        scope="read profile",
    )

    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"]
    assert call_me(oauth_provider, response.json()["access_token"]).json()["name"] == "Dana Demo"


def test_password_grant_with_a_wrong_password_is_invalid_grant(
    oauth_provider: ProviderServer,
) -> None:
    response = token_request(
        oauth_provider, "password", grant_type="password", username="demo", password="nope"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_rotates_the_refresh_token(oauth_provider: ProviderServer) -> None:
    tokens = pkce_tokens(oauth_provider)

    response = token_request(
        oauth_provider, "pkce", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )

    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert call_me(oauth_provider, refreshed["access_token"]).status_code == 200
    assert not oauth_provider.token_is_active(tokens["access_token"])


def test_reusing_a_rotated_refresh_token_is_invalid_grant_and_revokes_the_family(
    oauth_provider: ProviderServer,
) -> None:
    tokens = pkce_tokens(oauth_provider)
    refreshed = token_request(
        oauth_provider, "pkce", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    ).json()

    reuse = token_request(
        oauth_provider, "pkce", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )

    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    after_reuse = token_request(
        oauth_provider, "pkce", grant_type="refresh_token", refresh_token=refreshed["refresh_token"]
    )
    assert after_reuse.json()["error"] == "invalid_grant"


def test_revoked_access_token_is_rejected_with_401(oauth_provider: ProviderServer) -> None:
    tokens = pkce_tokens(oauth_provider)
    assert oauth_provider.token_is_active(tokens["access_token"])
    client = oauth_provider.client("pkce")

    response = requests.post(
        oauth_provider.revoke_url,
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )

    assert response.status_code == 200
    me = call_me(oauth_provider, tokens["access_token"])
    assert me.status_code == 401
    assert me.headers["WWW-Authenticate"].startswith("Bearer")
    assert not oauth_provider.token_is_active(tokens["access_token"])


def test_revoked_refresh_token_is_invalid_grant(oauth_provider: ProviderServer) -> None:
    tokens = pkce_tokens(oauth_provider)
    client = oauth_provider.client("pkce")
    requests.post(
        oauth_provider.revoke_url,
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    ).raise_for_status()

    response = token_request(
        oauth_provider, "pkce", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )

    assert response.json()["error"] == "invalid_grant"


def test_authorization_requires_signing_in_first(oauth_provider: ProviderServer) -> None:
    _, challenge = pkce_pair()
    url = oauth_provider.authorization_url("pkce", code_challenge=challenge)

    response = requests.get(url, allow_redirects=False, timeout=10)

    assert response.is_redirect
    assert response.headers["Location"].startswith("/demo-provider/accounts/login/?next=")


def test_me_without_a_token_is_401(oauth_provider: ProviderServer) -> None:
    response = requests.get(oauth_provider.me_url, timeout=10)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_endpoint_counter_counts_each_request_by_grant_type(
    oauth_provider_reset: ProviderServer,
) -> None:
    provider = oauth_provider_reset
    tokens = pkce_tokens(provider)
    token_request(
        provider, "pkce", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )

    assert provider.token_requests() == 2
    assert provider.token_requests("authorization_code") == 1
    assert provider.token_requests("refresh_token") == 1
    provider.reset()
    assert provider.token_requests() == 0


def test_injected_fault_answers_once_then_the_endpoint_recovers(
    oauth_provider_reset: ProviderServer,
) -> None:
    provider = oauth_provider_reset
    provider.fail_next(status=503, times=1)

    failed = token_request(provider, "service", grant_type="client_credentials")
    recovered = token_request(provider, "service", grant_type="client_credentials")

    assert failed.status_code == 503
    assert recovered.status_code == 200
    assert provider.token_requests("client_credentials") == 2


def test_expired_access_token_is_401_and_refresh_still_works(
    oauth_provider: ProviderServer,
) -> None:
    tokens = pkce_tokens(oauth_provider)

    assert oauth_provider.expire_access_tokens() >= 1

    assert call_me(oauth_provider, tokens["access_token"]).status_code == 401
    refreshed = token_request(
        oauth_provider, "pkce", grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200, refreshed.text
    assert call_me(oauth_provider, refreshed.json()["access_token"]).status_code == 200


def test_echo_returns_the_request_for_proxy_checks(oauth_provider: ProviderServer) -> None:
    access_token = token_request(oauth_provider, "service", grant_type="client_credentials").json()[
        "access_token"
    ]

    response = requests.post(
        oauth_provider.echo_url + "/items?page=2",
        json={"name": "x"},
        headers={"Authorization": f"Bearer {access_token}", "X-Tenant": "acme"},
        timeout=10,
    )

    assert response.status_code == 200
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/demo-provider/api/echo/items"
    assert echoed["query"] == {"page": ["2"]}
    assert echoed["headers"]["X-Tenant"] == "acme"
    assert echoed["body"] == {"name": "x"}
