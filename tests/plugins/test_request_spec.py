"""Request specs: RFC defaults per grant and kind, overrides, client authentication, encodings."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from apps.plugins.errors import ConfigurationError, TemplateError
from apps.plugins.request_spec import (
    BuiltRequest,
    RequestSpec,
    build_authorization_url,
    build_request,
    effective_client,
    mask_secrets,
    normalize_spec,
    pkce_pair,
    validate_spec,
)
from apps.plugins.templating import build_context

CLIENT_SECRET = "s3cr3t-client-value"


@dataclass
class Auth:
    grant_type: str = "authorization_code"
    client_id: str | None = "client-1"
    client_secret: str | None = CLIENT_SECRET
    scopes: list[str] = field(default_factory=lambda: ["read", "write"])
    scope_separator: str = " "
    pkce: bool = False
    authorization_url: str | None = "https://auth.example.com/authorize"
    authorization_params: dict[str, Any] = field(default_factory=dict)
    token_request: Any = "https://auth.example.com/token"
    refresh_request: Any = "https://auth.example.com/token"
    revoke_request: Any = "https://auth.example.com/revoke"
    test_request: Any = "https://api.example.com/me"


def form(request: BuiltRequest) -> dict[str, str]:
    assert request.body is not None
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def ctx(**kwargs: Any) -> dict[str, Any]:
    defaults = {
        "redirect_uri": "https://plugsmith.test/oauth/callback/",
        "code": "the-code",
        "code_verifier": "the-verifier",
    }
    return build_context(**{**defaults, **kwargs})


# --- normalize_spec -----------------------------------------------------------------------------


def test_bare_url_is_a_post_with_defaults():
    assert normalize_spec("https://x.test/token") == RequestSpec(url="https://x.test/token")


def test_bare_url_for_test_kind_is_a_get_without_client_auth():
    spec = normalize_spec("https://x.test/me", kind="test")
    assert (spec.method, spec.client_auth) == ("GET", "none")


def test_dict_spec_is_normalised():
    spec = normalize_spec(
        {
            "url": " https://x.test/t ",
            "method": "put",
            "body_format": "json",
            "client_auth": "basic",
        }
    )
    assert (spec.url, spec.method, spec.body_format, spec.client_auth) == (
        "https://x.test/t",
        "PUT",
        "json",
        "basic",
    )


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"url": "https://x.test", "method": "TRACE"}, "method"),
        ({"url": "https://x.test", "body_format": "xml"}, "body_format"),
        ({"url": "https://x.test", "client_auth": "jwt"}, "client_auth"),
        ({"method": "POST"}, "url"),
        ({"url": "https://x.test", "bdoy": {}}, "bdoy"),
        ({"url": "https://x.test", "headers": ["a"]}, "headers"),
        ({"url": "https://x.test", "query": {"a": {"b": 1}}}, "query.a"),
        ("   ", "url"),
        (None, "not configured"),
    ],
)
def test_invalid_spec_names_the_bad_key(raw, named):
    with pytest.raises(ConfigurationError, match=named.replace(".", r"\.")):
        normalize_spec(raw)


def test_validate_spec_checks_templates():
    with pytest.raises(TemplateError):
        validate_spec(
            {"url": "https://{{ fields.sub }}.x.test", "body": {"a": "{{ bogus }}"}},
            kind="token",
            field_keys=["sub"],
        )


# --- token: authorization_code -----------------------------------------------------------------


def test_authorization_code_token_request_has_rfc_parameters():
    request = build_request(Auth(), "token", ctx(client_id="client-1"))
    assert request.method == "POST"
    assert request.url == "https://auth.example.com/token"
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://plugsmith.test/oauth/callback/",
        "client_id": "client-1",
        "client_secret": CLIENT_SECRET,
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"


def test_authorization_code_token_request_sends_code_verifier_with_pkce():
    request = build_request(Auth(pkce=True), "token", ctx())
    assert form(request)["code_verifier"] == "the-verifier"


def test_authorization_code_token_request_without_code_names_it():
    with pytest.raises(TemplateError) as excinfo:
        build_request(Auth(), "token", build_context(redirect_uri="https://r.test/"))
    assert excinfo.value.path == "code"


def test_spec_body_overrides_and_removes_rfc_parameters():
    auth = Auth(
        token_request={
            "url": "https://auth.example.com/token",
            "body": {"redirect_uri": None, "audience": "https://api.test/", "grant_type": "custom"},
        }
    )
    body = form(build_request(auth, "token", ctx()))
    assert "redirect_uri" not in body
    assert body["audience"] == "https://api.test/"
    assert body["grant_type"] == "custom"


# --- token: client_credentials and password ----------------------------------------------------


def test_client_credentials_token_request_sends_grant_and_scope():
    auth = Auth(grant_type="client_credentials", scope_separator=",")
    body = form(build_request(auth, "token", build_context()))
    assert body == {
        "grant_type": "client_credentials",
        "scope": "read,write",
        "client_id": "client-1",
        "client_secret": CLIENT_SECRET,
    }


def test_client_credentials_without_scopes_sends_no_scope():
    auth = Auth(grant_type="client_credentials", scopes=[])
    assert "scope" not in form(build_request(auth, "token", build_context()))


def test_client_credentials_fields_win_over_auth_version_client():
    auth = Auth(grant_type="client_credentials")
    context = build_context(fields={"client_id": "tenant-id", "client_secret": "tenant-secret"})
    request = build_request(auth, "token", context)
    assert form(request)["client_id"] == "tenant-id"
    assert form(request)["client_secret"] == "tenant-secret"
    assert "tenant-secret" in request.secrets


def test_client_credentials_fields_are_visible_as_client_in_templates():
    auth = Auth(
        grant_type="client_credentials",
        client_id=None,
        client_secret=None,
        test_request={"url": "https://api.example.com/apps/{{ client.id }}"},
    )
    context = build_context(fields={"client_id": "tenant-id"}, access_token="tok-123456")
    assert build_request(auth, "test", context).url == "https://api.example.com/apps/tenant-id"


def test_effective_client_ignores_fields_in_the_code_flow():
    assert effective_client(Auth(), {"client_id": "x", "client_secret": "y"}) == (
        "client-1",
        CLIENT_SECRET,
    )


def test_password_token_request_sends_username_password_and_scope():
    auth = Auth(grant_type="password")
    context = build_context(fields={"username": "jane", "password": "hunter2-pass"})
    request = build_request(auth, "token", context)
    assert form(request) == {
        "grant_type": "password",
        "username": "jane",
        "password": "hunter2-pass",
        "scope": "read write",
        "client_id": "client-1",
        "client_secret": CLIENT_SECRET,
    }
    assert "hunter2-pass" in request.secrets


def test_password_token_request_without_password_field_names_it():
    with pytest.raises(TemplateError) as excinfo:
        build_request(Auth(grant_type="password"), "token", build_context(fields={"username": "j"}))
    assert excinfo.value.path == "fields.password"


# --- refresh, revoke, test ---------------------------------------------------------------------


def test_refresh_request_sends_grant_type_and_refresh_token():
    body = form(build_request(Auth(), "refresh", build_context(refresh_token="rt-abc")))
    assert body["grant_type"] == "refresh_token"
    assert body["refresh_token"] == "rt-abc"


def test_revoke_defaults_to_refresh_token_with_matching_hint():
    context = build_context(access_token="at-abc", refresh_token="rt-abc")
    body = form(build_request(Auth(), "revoke", context))
    assert (body["token"], body["token_type_hint"]) == ("rt-abc", "refresh_token")


def test_revoke_without_refresh_token_sends_access_token_with_matching_hint():
    body = form(build_request(Auth(), "revoke", build_context(access_token="at-abc")))
    assert (body["token"], body["token_type_hint"]) == ("at-abc", "access_token")


def test_revoke_hint_follows_a_token_overridden_by_the_spec():
    auth = Auth(
        revoke_request={"url": "https://a.test/revoke", "body": {"token": "{{ access_token }}"}}
    )
    context = build_context(access_token="at-abc", refresh_token="rt-abc")
    body = form(build_request(auth, "revoke", context))
    assert (body["token"], body["token_type_hint"]) == ("at-abc", "access_token")


def test_revoke_with_token_and_hint_removed_has_no_body_and_no_client_id():
    auth = Auth(
        revoke_request={
            "method": "DELETE",
            "url": "https://api.test/tokens/{{ refresh_token }}",
            "body": {"token": None, "token_type_hint": None},
            "client_auth": "none",
        }
    )
    request = build_request(auth, "revoke", build_context(refresh_token="rt-abc"))
    assert request.method == "DELETE"
    assert request.url == "https://api.test/tokens/rt-abc"
    assert request.body is None
    assert "Content-Type" not in request.headers


def test_test_request_bare_url_is_a_get_with_bearer_token():
    request = build_request(Auth(), "test", build_context(access_token="at-abc"))
    assert request.method == "GET"
    assert request.headers["Authorization"] == "Bearer at-abc"
    assert request.body is None


def test_test_request_header_can_replace_or_remove_authorization():
    auth = Auth(
        test_request={
            "url": "https://shop.test/admin/shop.json",
            "headers": {"authorization": None, "X-Shopify-Access-Token": "{{ access_token }}"},
        }
    )
    request = build_request(auth, "test", build_context(access_token="at-abc"))
    assert "Authorization" not in request.headers
    assert "authorization" not in request.headers
    assert request.headers["X-Shopify-Access-Token"] == "at-abc"


def test_test_request_sends_no_client_credentials():
    request = build_request(Auth(), "test", build_context(access_token="at-abc"))
    assert CLIENT_SECRET not in request.url
    assert request.body is None


def test_missing_spec_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="revoke_request"):
        build_request(Auth(revoke_request=None), "revoke", build_context(access_token="a"))


def test_unknown_kind_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="kind"):
        build_request(Auth(), "introspect", build_context())


# --- client authentication ---------------------------------------------------------------------


def test_basic_auth_form_encodes_id_and_secret():
    auth = Auth(
        client_id="1PpG/Q 1",
        client_secret="z/tZ9VwFZqApmIQ+ZH1I5pLk/uB4ud:X2/8bL+wfFTt1rFw=",
        token_request={"url": "https://a.test/token", "client_auth": "basic"},
    )
    request = build_request(auth, "token", ctx())
    assert request.headers["Authorization"] == (
        "Basic MVBwRyUyRlErMTp6JTJGdFo5VndGWnFBcG1JUSUyQlpIMUk1cExrJTJGdUI0dWQlM0FYMiUyRjhiTCUyQn"
        "dmRlR0MXJGdyUzRA=="
    )
    body = form(request)
    assert "client_id" not in body
    assert "client_secret" not in body


def test_basic_auth_without_secret_is_a_configuration_error():
    auth = Auth(
        client_secret=None, token_request={"url": "https://a.test/t", "client_auth": "basic"}
    )
    with pytest.raises(ConfigurationError, match="basic"):
        build_request(auth, "token", ctx())


def test_client_auth_none_sends_client_id_only_on_token_calls():
    auth = Auth(token_request={"url": "https://a.test/token", "client_auth": "none"}, pkce=True)
    body = form(build_request(auth, "token", ctx()))
    assert body["client_id"] == "client-1"
    assert "client_secret" not in body


def test_client_auth_body_without_secret_sends_client_id_only():
    body = form(build_request(Auth(client_secret=None), "token", ctx()))
    assert body["client_id"] == "client-1"
    assert "client_secret" not in body


# --- encodings, headers, query -----------------------------------------------------------------


def test_json_body_format_encodes_json_and_keeps_types():
    auth = Auth(
        token_request={
            "url": "https://a.test/token",
            "body_format": "json",
            "body": {"options": {"offline": True, "ttl": 30}},
        }
    )
    request = build_request(auth, "token", ctx())
    assert request.headers["Content-Type"] == "application/json"
    payload = json.loads(request.body)
    assert payload["grant_type"] == "authorization_code"
    assert payload["options"] == {"offline": True, "ttl": 30}


def test_nested_value_in_form_body_is_a_configuration_error():
    auth = Auth(token_request={"url": "https://a.test/token", "body": {"x": {"y": 1}}})
    with pytest.raises(ConfigurationError, match="json"):
        build_request(auth, "token", ctx())


def test_spec_headers_override_defaults_case_insensitively():
    auth = Auth(token_request={"url": "https://a.test/t", "headers": {"accept": "text/plain"}})
    headers = build_request(auth, "token", ctx()).headers
    assert headers["accept"] == "text/plain"
    assert "Accept" not in headers


def test_spec_content_type_header_is_kept():
    auth = Auth(token_request={"url": "https://a.test/t", "headers": {"Content-Type": "text/x"}})
    assert build_request(auth, "token", ctx()).headers["Content-Type"] == "text/x"


def test_query_is_merged_onto_the_url_query():
    auth = Auth(
        test_request={
            "url": "https://api.test/me?fields=id&drop=1",
            "query": {"v": "{{ fields.version }}", "drop": None, "fields": "id,name"},
        }
    )
    context = build_context(fields={"version": 2}, access_token="tok")
    url = build_request(auth, "test", context).url
    assert parse_qs(urlsplit(url).query) == {"fields": ["id,name"], "v": ["2"]}


def test_url_headers_query_and_body_are_templates():
    auth = Auth(
        token_request={
            "url": "https://{{ fields.sub }}.example.com/oauth/tokens",
            "headers": {"X-Region": "${context.authData.sub}"},
            "body": {"scope": "{{ scopes }}"},
        }
    )
    request = build_request(auth, "token", ctx(fields={"sub": "acme"}))
    assert request.url == "https://acme.example.com/oauth/tokens"
    assert request.headers["X-Region"] == "acme"
    assert form(request)["scope"] == "read write"


# --- secrets and masking -----------------------------------------------------------------------


def test_secrets_cover_every_secret_that_went_in():
    auth = Auth(token_request={"url": "https://a.test/t", "client_auth": "basic"}, pkce=True)
    request = build_request(auth, "token", ctx(), secret_values=["field-api-key-value"])
    for secret in (CLIENT_SECRET, "the-code", "the-verifier", "field-api-key-value"):
        assert secret in request.secrets
    assert request.headers["Authorization"].split()[1] in request.secrets


def test_masked_hides_secrets_but_keeps_last_four_characters():
    request = build_request(Auth(), "refresh", build_context(refresh_token="rt-0123456789abcd"))
    masked = request.masked()
    assert b"rt-0123456789abcd" not in masked.body
    assert "••••abcd" in masked.body.decode()
    assert CLIENT_SECRET not in masked.body.decode()
    assert masked.secrets == ()


def test_masked_hides_basic_credentials():
    auth = Auth(token_request={"url": "https://a.test/t", "client_auth": "basic"})
    request = build_request(auth, "token", ctx())
    assert request.masked().headers["Authorization"].startswith("Basic ••••")


def test_repr_does_not_show_secrets():
    request = build_request(Auth(), "refresh", build_context(refresh_token="rt-0123456789abcd"))
    assert "rt-0123456789abcd" not in repr(request)
    assert CLIENT_SECRET not in repr(request)


def test_mask_secrets_hides_short_secrets_entirely():
    assert mask_secrets("pw=abcd1", ["abcd1"]) == "pw=••••"


def test_mask_secrets_prefers_the_longest_match():
    assert mask_secrets("xabcdefghijklmn", ["abc", "abcdefghijklmn"]) == "x••••klmn"


# --- authorization URL and PKCE ----------------------------------------------------------------


def authorization_query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_authorization_url_has_rfc_parameters():
    url = build_authorization_url(
        Auth(), redirect_uri="https://p.test/oauth/callback/", state="st", context=build_context()
    )
    assert url.startswith("https://auth.example.com/authorize?")
    assert authorization_query(url) == {
        "response_type": "code",
        "client_id": "client-1",
        "redirect_uri": "https://p.test/oauth/callback/",
        "scope": "read write",
        "state": "st",
    }
    assert "scope=read%20write" in url


def test_authorization_url_adds_pkce_challenge_with_s256():
    url = build_authorization_url(
        Auth(), redirect_uri="https://p.test/cb/", state="st", code_challenge="ch", context={}
    )
    query = authorization_query(url)
    assert (query["code_challenge"], query["code_challenge_method"]) == ("ch", "S256")


def test_authorization_url_joins_scopes_with_separator_and_omits_empty_scope():
    comma = Auth(scope_separator=",")
    url = build_authorization_url(comma, redirect_uri="https://p/cb", state="s", context={})
    assert authorization_query(url)["scope"] == "read,write"
    none = Auth(scopes=[])
    url = build_authorization_url(none, redirect_uri="https://p/cb", state="s", context={})
    assert "scope" not in authorization_query(url)


def test_authorization_url_renders_template_params_and_keeps_own_query():
    auth = Auth(
        authorization_url="https://{{ fields.subdomain }}.zendesk.com/oauth/authorizations/new?x=1",
        authorization_params={"access_type": "offline", "login_hint": "{{ fields.email }}"},
    )
    context = build_context(fields={"subdomain": "acme", "email": "j@acme.test"})
    url = build_authorization_url(auth, redirect_uri="https://p/cb", state="s", context=context)
    assert url.startswith("https://acme.zendesk.com/oauth/authorizations/new?")
    query = authorization_query(url)
    assert query["x"] == "1"
    assert query["access_type"] == "offline"
    assert query["login_hint"] == "j@acme.test"


def test_authorization_params_may_not_replace_state():
    auth = Auth(authorization_params={"state": "fixed"})
    with pytest.raises(ConfigurationError, match="state"):
        build_authorization_url(auth, redirect_uri="https://p/cb", state="s", context={})


def test_authorization_url_missing_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="authorization_url"):
        build_authorization_url(
            Auth(authorization_url=None), redirect_uri="https://p/cb", state="s", context={}
        )


def test_pkce_pair_challenge_is_s256_of_verifier():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge == expected.decode()
    assert pkce_pair()[0] != verifier
