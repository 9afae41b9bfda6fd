"""The outbound HTTP client: SSRF checks, DNS pinning, allowed URLs, caps, error mapping, redaction."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import responses
from django.conf import settings

from apps.plugins import http_client
from apps.plugins.errors import (
    ConfigurationError,
    InvalidGrant,
    ProviderError,
    TransientProviderError,
    UrlNotAllowedError,
)
from apps.plugins.http_client import (
    ProviderResponse,
    prepare_target,
    raise_for_token_error,
    redact,
    send,
    url_allowed,
)
from apps.plugins.request_spec import BuiltRequest

PUBLIC_IP = "93.184.216.34"
SECRET = "sup3r-s3cret-refresh-token"
_real_getaddrinfo = socket.getaddrinfo


class FakeDns:
    """Answers getaddrinfo for chosen names and records every lookup of them."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def set(self, host: str, *answers: list[str]) -> None:
        """Each answer is the address list of one lookup; the last one repeats."""
        self.answers[host] = list(answers)

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        self.lookups.append(name)
        queue = self.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        results = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (
                (address, port or 0, 0, 0) if family == socket.AF_INET6 else (address, port or 0)
            )
            results.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return results


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    fake.set("api.example.com", [PUBLIC_IP])
    fake.set("auth.example.com", [PUBLIC_IP])
    fake.set("other.example.net", ["93.184.216.35"])
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@pytest.fixture
def strict(settings):
    settings.ALLOW_INSECURE_LOOPBACK = False
    settings.OUTBOUND_ALLOWED_PRIVATE_NETWORKS = []
    return settings


@pytest.fixture
def loopback_allowed(settings):
    settings.ALLOW_INSECURE_LOOPBACK = True
    settings.OUTBOUND_ALLOWED_PRIVATE_NETWORKS = []
    return settings


@pytest.fixture
def mocked(dns, strict) -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_GET
    do_DELETE = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(  # type: ignore[attr-defined]
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        try:
            if self.path.startswith("/big"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 16_384
                for _ in range(16):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
                return
            if self.path.startswith("/slow"):
                time.sleep(1.0)
            payload = json.dumps({"path": self.path, "host": self.headers.get("Host")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    """A loopback test server that does not print the errors of clients it refused."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def get(url: str, **kwargs: Any) -> BuiltRequest:
    return BuiltRequest(method="GET", url=url, headers={"Accept": "application/json"}, **kwargs)


# --- schemes, userinfo, hosts ------------------------------------------------------------------


def test_http_to_loopback_is_refused_without_insecure_loopback(strict, server):
    with pytest.raises(UrlNotAllowedError, match="https"):
        send(get(f"http://127.0.0.1:{server.server_port}/ok"))
    assert server.seen == []


def test_http_to_loopback_is_allowed_with_insecure_loopback(loopback_allowed, server):
    response = send(get(f"http://127.0.0.1:{server.server_port}/ok"))
    assert response.status == 200
    assert response.json()["path"] == "/ok"


def test_http_to_public_host_is_refused_even_with_insecure_loopback(loopback_allowed, dns):
    with pytest.raises(UrlNotAllowedError, match="https"):
        prepare_target("http://api.example.com/token")


@pytest.mark.parametrize(
    "url", ["ftp://api.example.com/x", "file:///etc/passwd", "gopher://x/", "//api.example.com/"]
)
def test_non_http_schemes_are_refused(dns, url):
    with pytest.raises(UrlNotAllowedError):
        prepare_target(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:80@evil.example/",
        "https://user:pw@api.example.com/",
        "https://api.example.com@evil.example/",
        "https://@api.example.com/",
    ],
)
def test_urls_with_userinfo_are_refused(loopback_allowed, dns, url):
    with pytest.raises(UrlNotAllowedError, match="credentials"):
        prepare_target(url)


@pytest.mark.parametrize("url", ["https:///token", "https://:443/token", "https://"])
def test_urls_without_host_are_refused(dns, url):
    with pytest.raises(UrlNotAllowedError, match="no host"):
        prepare_target(url)


def test_unresolvable_host_is_transient(strict, monkeypatch):
    def fail(*args: Any, **kwargs: Any) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(TransientProviderError, match="resolve"):
        prepare_target("https://nowhere.example.com/")


# --- address checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.10.10",
        "fd00:ec2::254",
        "fe80::1",
        "fc00::1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "100.64.0.1",
        "240.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a00:1::",
        "127.0.0.1",
        "::1",
    ],
)
def test_private_link_local_metadata_and_loopback_addresses_are_refused(strict, dns, address):
    dns.set("internal.example.com", [address])
    with pytest.raises(UrlNotAllowedError, match="resolves to"):
        prepare_target("https://internal.example.com/token")


@pytest.mark.parametrize("host", ["10.0.0.1", "[fd00:ec2::254]", "169.254.169.254", "[::1]"])
def test_ip_literal_hosts_are_checked_too(strict, host):
    with pytest.raises(UrlNotAllowedError, match="resolves to"):
        prepare_target(f"https://{host}/latest/meta-data/")


def test_any_private_address_among_several_is_refused(strict, dns):
    dns.set("mixed.example.com", [PUBLIC_IP, "10.0.0.7"])
    with pytest.raises(UrlNotAllowedError, match=r"10\.0\.0\.7"):
        prepare_target("https://mixed.example.com/")


def test_public_address_is_accepted_and_pinned(strict, dns):
    target = prepare_target("https://api.example.com/v1/me")
    assert (target.hostname, target.port, target.address) == ("api.example.com", 443, PUBLIC_IP)
    assert target.host_header == "api.example.com"


def test_host_header_keeps_a_non_default_port(strict, dns):
    assert prepare_target("https://api.example.com:8443/").host_header == "api.example.com:8443"


def test_loopback_is_allowed_over_https_with_insecure_loopback(loopback_allowed):
    assert prepare_target("https://localhost/").address in ("127.0.0.1", "::1")


def test_allowed_private_networks_let_a_cidr_through(strict, dns):
    strict.OUTBOUND_ALLOWED_PRIVATE_NETWORKS = ["10.1.0.0/16"]
    dns.set("intranet.example.com", ["10.1.2.3"])
    dns.set("elsewhere.example.com", ["10.2.0.1"])
    assert prepare_target("https://intranet.example.com/").address == "10.1.2.3"
    with pytest.raises(UrlNotAllowedError):
        prepare_target("https://elsewhere.example.com/")


def test_allowed_private_networks_can_allow_loopback(strict):
    strict.OUTBOUND_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    assert prepare_target("https://127.0.0.1:9443/").address == "127.0.0.1"


def test_metadata_address_is_refused_even_inside_an_allowed_network(strict, dns):
    strict.OUTBOUND_ALLOWED_PRIVATE_NETWORKS = ["169.254.0.0/16", "fd00::/8"]
    dns.set("meta.example.com", ["169.254.169.254"])
    with pytest.raises(UrlNotAllowedError, match="metadata"):
        prepare_target("https://meta.example.com/")
    with pytest.raises(UrlNotAllowedError, match="metadata"):
        prepare_target("https://[fd00:ec2::254]/")


def test_malformed_allowed_network_setting_is_a_configuration_error(strict, dns):
    strict.OUTBOUND_ALLOWED_PRIVATE_NETWORKS = ["not-a-cidr"]
    with pytest.raises(ConfigurationError, match="OUTBOUND_ALLOWED_PRIVATE_NETWORKS"):
        prepare_target("https://api.example.com/")


# --- DNS pinning -------------------------------------------------------------------------------


def test_connection_goes_to_the_checked_address_without_a_second_lookup(
    loopback_allowed, dns, server
):
    # A rebinding resolver: the first answer passes the check, later ones point inside.
    dns.set("pinned.test", ["127.0.0.1"], ["10.9.9.9"])
    port = server.server_port
    response = send(get(f"http://pinned.test:{port}/ok"))
    assert response.status == 200
    assert dns.lookups == ["pinned.test"]
    assert server.seen[0]["headers"]["Host"] == f"pinned.test:{port}"


def test_https_pool_connects_to_address_but_verifies_the_host_name(strict, dns):
    target = prepare_target("https://api.example.com/v1/me")
    prepared = requests.Request("GET", target.url).prepare()
    prepared.plugsmith_target = target
    adapter = http_client._PinnedAdapter()
    pool = adapter.get_connection_with_tls_context(prepared, verify=True)
    assert pool.host == PUBLIC_IP
    assert pool.conn_kw["server_hostname"] == "api.example.com"
    assert pool.assert_hostname == "api.example.com"
    assert pool.cert_reqs == "CERT_REQUIRED"


def test_adapter_refuses_a_request_that_was_not_checked():
    prepared = requests.Request("GET", "https://api.example.com/").prepare()
    with pytest.raises(ConfigurationError):
        http_client._PinnedAdapter().get_connection_with_tls_context(prepared, verify=True)


# --- allowed_urls ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.x.com/v1", True),
        ("https://api.x.com/v1/users?page=2", True),
        ("https://API.X.COM/v1/users", True),
        ("https://api.x.com:443/v1/users", True),
        ("https://api.x.com/v10", False),
        ("https://api.x.com/v1x/users", False),
        ("https://api.x.com/", False),
        ("https://api.x.com.evil.io/v1", False),
        ("https://evil.io/https://api.x.com/v1", False),
        ("https://api.x.com:8443/v1", False),
        ("http://api.x.com/v1", False),
        ("https://sub.api.x.com/v1", False),
    ],
)
def test_allowed_url_prefix_respects_host_port_and_path_segments(url, allowed):
    assert url_allowed(url, ["https://api.x.com/v1"]) is allowed


def test_allowed_prefix_with_trailing_slash_needs_something_below_it():
    assert url_allowed("https://api.x.com/v1/me", ["https://api.x.com/v1/"])
    assert not url_allowed("https://api.x.com/v1", ["https://api.x.com/v1/"])


def test_allowed_prefix_without_path_allows_the_whole_host():
    assert url_allowed("https://api.x.com/anything", ["https://api.x.com"])


def test_any_of_several_prefixes_allows():
    prefixes = ["https://a.x.com/", "https://api.x.com/v2/"]
    assert url_allowed("https://api.x.com/v2/me", prefixes)


def test_url_outside_allowed_urls_is_refused_and_named(strict, dns):
    with pytest.raises(UrlNotAllowedError) as excinfo:
        prepare_target("https://api.example.com/admin", ["https://api.example.com/v1/"])
    assert "https://api.example.com/admin" in str(excinfo.value)
    assert excinfo.value.url == "https://api.example.com/admin"


@pytest.mark.parametrize(
    "path", ["/v1/../admin", "/v1/%2e%2e/admin", "/v1/%2E%2E%2Fadmin", "/v1/./me", "/v1\\..\\admin"]
)
def test_dot_segments_are_refused(strict, dns, path):
    with pytest.raises(UrlNotAllowedError, match="segments"):
        prepare_target(f"https://api.example.com{path}", ["https://api.example.com/v1/"])


# --- sending: caps, errors, redirects ----------------------------------------------------------


def test_response_over_the_size_cap_is_a_provider_error(loopback_allowed, server):
    with pytest.raises(ProviderError, match="too large") as excinfo:
        send(get(f"http://127.0.0.1:{server.server_port}/big"), max_bytes=100_000)
    assert not isinstance(excinfo.value, TransientProviderError)


def test_declared_content_length_over_the_cap_is_refused_before_reading(mocked):
    mocked.get("https://api.example.com/huge", body=b"y" * 5000)
    with pytest.raises(ProviderError, match="too large"):
        send(get("https://api.example.com/huge"), max_bytes=1000)


def test_response_under_the_cap_is_read_in_full(loopback_allowed, server):
    response = send(get(f"http://127.0.0.1:{server.server_port}/big"), max_bytes=300_000)
    assert len(response.content) == 16 * 16_384


def test_read_timeout_is_transient(loopback_allowed, server):
    with pytest.raises(TransientProviderError, match="Timed out"):
        send(get(f"http://127.0.0.1:{server.server_port}/slow"), timeout=(2, 0.2))


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectTimeout("connect timeout"),
        requests.exceptions.ReadTimeout("read timeout"),
        requests.exceptions.ConnectionError("refused"),
        requests.exceptions.SSLError("bad cert"),
    ],
)
def test_connection_failures_are_transient(mocked, exc):
    mocked.post("https://auth.example.com/token", body=exc)
    with pytest.raises(TransientProviderError):
        send(BuiltRequest(method="POST", url="https://auth.example.com/token", body=b"a=b"))


def test_request_carries_method_headers_body_and_user_agent(loopback_allowed, server):
    request = BuiltRequest(
        method="POST",
        url=f"http://127.0.0.1:{server.server_port}/token",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Test": "1"},
        body=b"grant_type=refresh_token",
    )
    send(request)
    seen = server.seen[0]
    assert (seen["method"], seen["path"], seen["body"]) == (
        "POST",
        "/token",
        b"grant_type=refresh_token",
    )
    assert seen["headers"]["X-Test"] == "1"
    assert seen["headers"]["User-Agent"].startswith("Plugsmith/")


def test_redirects_are_not_followed_by_default(mocked):
    mocked.post(
        "https://auth.example.com/token",
        status=302,
        headers={"Location": "https://other.example.net/token"},
    )
    response = send(BuiltRequest(method="POST", url="https://auth.example.com/token"))
    assert response.status == 302
    assert len(mocked.calls) == 1


def test_followed_redirect_is_checked_against_addresses(mocked):
    mocked.get(
        "https://api.example.com/v1/me",
        status=302,
        headers={"Location": "https://169.254.169.254/latest/meta-data/"},
    )
    with pytest.raises(UrlNotAllowedError, match="metadata"):
        send(get("https://api.example.com/v1/me"), follow_redirects=True)


def test_followed_redirect_is_checked_against_allowed_urls(mocked):
    mocked.get(
        "https://api.example.com/v1/me",
        status=307,
        headers={"Location": "https://other.example.net/v1/me"},
    )
    with pytest.raises(UrlNotAllowedError, match="allowed"):
        send(
            get("https://api.example.com/v1/me"),
            follow_redirects=True,
            allowed_urls=["https://api.example.com/v1/"],
        )


def test_followed_redirect_to_another_host_drops_authorization(mocked):
    mocked.get(
        "https://api.example.com/v1/file",
        status=302,
        headers={"Location": "https://other.example.net/blob"},
    )
    mocked.get("https://other.example.net/blob", body=b"data")
    request = BuiltRequest(
        method="GET", url="https://api.example.com/v1/file", headers={"Authorization": "Bearer t"}
    )
    response = send(request, follow_redirects=True)
    assert response.content == b"data"
    assert "Authorization" not in mocked.calls[1].request.headers


def test_see_other_turns_a_post_into_a_get_without_body(mocked):
    mocked.post("https://api.example.com/v1/jobs", status=303, headers={"Location": "/v1/jobs/1"})
    mocked.get("https://api.example.com/v1/jobs/1", json={"id": 1})
    request = BuiltRequest(
        method="POST",
        url="https://api.example.com/v1/jobs",
        headers={"Content-Type": "application/json"},
        body=b"{}",
    )
    assert send(request, follow_redirects=True).json() == {"id": 1}
    assert mocked.calls[1].request.body is None


def test_redirect_loop_stops(mocked):
    mocked.get("https://api.example.com/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(ProviderError, match="redirects"):
        send(get("https://api.example.com/loop"), follow_redirects=True)


def test_json_helper_maps_unreadable_body_to_transient(mocked):
    mocked.get("https://api.example.com/me", body=b"<html>", content_type="text/html")
    with pytest.raises(TransientProviderError):
        send(get("https://api.example.com/me")).json()


# --- token errors ------------------------------------------------------------------------------


def response_of(status: int, body: dict, secrets: tuple[str, ...] = ()) -> ProviderResponse:
    return ProviderResponse(
        status=status,
        headers={"Content-Type": "application/json"},
        content=json.dumps(body).encode(),
        url="https://auth.example.com/token",
        secrets=secrets,
    )


def test_raise_for_token_error_maps_invalid_grant():
    with pytest.raises(InvalidGrant):
        raise_for_token_error(response_of(400, {"error": "invalid_grant"}))


def test_raise_for_token_error_passes_success():
    raise_for_token_error(response_of(200, {"access_token": "a"}))


def test_raise_for_token_error_catches_ok_false_in_a_200():
    with pytest.raises(InvalidGrant):
        raise_for_token_error(response_of(200, {"ok": False, "error": "token_revoked"}))


def test_raise_for_token_error_redacts_echoed_secrets():
    body = {"error": "invalid_request", "error_description": f"bad token {SECRET}"}
    with pytest.raises(ProviderError) as excinfo:
        raise_for_token_error(response_of(400, body, secrets=(SECRET,)))
    assert SECRET not in str(excinfo.value)
    assert SECRET not in excinfo.value.error_description
    assert excinfo.value.error == "invalid_request"


def test_raise_for_token_error_maps_5xx_to_transient():
    with pytest.raises(TransientProviderError):
        raise_for_token_error(response_of(502, {"error": "bad_gateway"}))


# --- secrets never leak ------------------------------------------------------------------------


def test_redact_replaces_every_secret():
    assert redact(f"a {SECRET} b {SECRET}", [SECRET]) == "a •••• b ••••"


def test_secrets_never_appear_in_exception_messages(mocked):
    url = f"https://api.example.com/oauth/v1/refresh-tokens/{SECRET}?token={SECRET}"
    mocked.delete(url, body=requests.exceptions.ConnectTimeout(f"timeout for {url}"))
    with pytest.raises(TransientProviderError) as excinfo:
        send(BuiltRequest(method="DELETE", url=url, secrets=(SECRET,)))
    assert SECRET not in str(excinfo.value)
    assert excinfo.value.__cause__ is None or SECRET not in str(excinfo.value.__cause__)


def test_refused_url_message_hides_secrets_and_query_values(strict, dns):
    url = f"https://api.example.com/admin/{SECRET}?code={SECRET}&other=visible-value"
    with pytest.raises(UrlNotAllowedError) as excinfo:
        prepare_target(url, ["https://api.example.com/v1/"], secrets=[SECRET])
    assert SECRET not in str(excinfo.value)
    assert "visible-value" not in str(excinfo.value)
    assert "code=" in str(excinfo.value)


def test_logs_name_method_url_status_and_time_but_no_secrets(mocked, caplog):
    url = f"https://api.example.com/v1/tokens/{SECRET}?access_token={SECRET}"
    mocked.post(url, json={"ok": True})
    request = BuiltRequest(
        method="POST",
        url=url,
        headers={"Authorization": f"Bearer {SECRET}"},
        body=f"refresh_token={SECRET}".encode(),
        secrets=(SECRET,),
    )
    with caplog.at_level(logging.INFO, logger="apps.plugins.http_client"):
        send(request)
    assert caplog.records, "the call is logged"
    text = caplog.text
    assert SECRET not in text
    assert "POST https://api.example.com/v1/tokens/••••?access_token=…" in text
    assert "-> 200 in" in text


# --- session -----------------------------------------------------------------------------------


def test_adapter_is_reused_within_a_thread_and_separate_across_threads():
    mine = http_client._adapter()
    assert http_client._adapter() is mine
    theirs: list = []
    thread = threading.Thread(target=lambda: theirs.append(http_client._adapter()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_cookies_a_provider_sets_are_never_sent_back(mocked):
    mocked.get("https://api.example.com/me", json={}, headers={"Set-Cookie": "sid=abc; Path=/"})
    send(get("https://api.example.com/me"))
    send(get("https://api.example.com/me"))
    assert len(mocked.calls) == 2
    assert "Cookie" not in mocked.calls[1].request.headers


def test_open_request_returns_a_streaming_response_for_a_proxy(loopback_allowed, server):
    response = http_client.open_request(get(f"http://127.0.0.1:{server.server_port}/big"))
    try:
        first = next(response.iter_content(chunk_size=1024))
    finally:
        response.close()
    assert first == b"x" * 1024


# --- TLS to a pinned address -------------------------------------------------------------------


def _self_signed(tmp_path, hostname: str) -> tuple[str, str]:
    """A self-signed certificate for hostname; returns (cert path, key path)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{hostname}.pem", tmp_path / f"{hostname}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An HTTPS loopback server whose certificate names `pinned.test`; records the SNI it got."""
    import ssl

    cert_path, key_path = _self_signed(tmp_path, "pinned.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.server_names = server_names  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # Trust only this certificate, as a CA bundle would.
    monkeypatch.setattr(settings, "OUTBOUND_CA_BUNDLE", cert_path)
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_tls_to_pinned_address_uses_host_name_for_sni_and_certificate(
    loopback_allowed, dns, tls_server
):
    dns.set("pinned.test", ["127.0.0.1"], ["10.9.9.9"])
    response = send(get(f"https://pinned.test:{tls_server.server_port}/ok"))
    assert response.json() == {"path": "/ok", "host": f"pinned.test:{tls_server.server_port}"}
    assert tls_server.server_names == ["pinned.test"]
    assert dns.lookups == ["pinned.test"]


def test_tls_certificate_for_another_name_is_refused(loopback_allowed, dns, tls_server):
    dns.set("impostor.test", ["127.0.0.1"])
    with pytest.raises(TransientProviderError, match="TLS"):
        send(get(f"https://impostor.test:{tls_server.server_port}/ok"))
    assert tls_server.seen == []
