"""The one outbound HTTP client: every call to a provider goes through here.

It refuses URLs that are not https (http only to loopback when ALLOW_INSECURE_LOOPBACK is on), that
carry credentials, that fall outside `allowed_urls`, or whose host resolves to a private,
link-local, multicast, reserved or metadata address. The connection then goes to the exact address
that was checked (no second DNS lookup, so DNS rebinding cannot slip in), while the Host header,
TLS SNI and certificate checks keep using the URL's host name. Secrets never reach logs or
exception messages.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from apps.plugins.errors import (
    ConfigurationError,
    ProviderError,
    TransientProviderError,
    UrlNotAllowedError,
)
from apps.plugins.request_spec import BuiltRequest, mask_secrets
from apps.plugins.token_response import classify_error_response, parse_body

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "ProviderResponse",
    "Target",
    "open_request",
    "prepare_target",
    "raise_for_token_error",
    "redact",
    "send",
    "url_allowed",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5, 30)
DEFAULT_MAX_BYTES = 1_048_576
MAX_REDIRECTS = 5
USER_AGENT = "Plugsmith/1.0"
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PIN_ATTRIBUTE = "plugsmith_target"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Timeout = float | tuple[float, float]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked URL and the address the connection must go to."""

    url: str
    scheme: str
    hostname: str
    port: int
    address: str
    host_header: str


@dataclass(frozen=True)
class ProviderResponse:
    """A provider's answer, read in full (up to the size cap)."""

    status: int
    headers: Mapping[str, str]
    content: bytes = field(repr=False)
    url: str = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if any."""
        return self.headers.get("Content-Type")

    def json(self) -> Any:
        """The body parsed as JSON; an unreadable body is a TransientProviderError."""
        try:
            return json.loads(self.content.decode("utf-8"))
        except ValueError:
            raise TransientProviderError(
                f"Provider answered HTTP {self.status} with a body that is not JSON",
                status=self.status,
            ) from None


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in text with `••••` (for logs and exception messages)."""
    return mask_secrets(text, secrets, keep_last=0)


def url_allowed(url: str, allowed_urls: Sequence[str]) -> bool:
    """True when url starts with one of the prefixes (same scheme, host, port; whole path segments)."""
    target = urlsplit(url)
    target_key = _origin(target)
    target_path = target.path or "/"
    for prefix in allowed_urls:
        allowed = urlsplit(prefix.strip())
        if allowed.username is not None or _origin(allowed) != target_key:
            continue
        allowed_path = allowed.path or "/"
        if allowed_path.endswith("/"):
            if target_path.startswith(allowed_path):
                return True
        elif target_path == allowed_path or target_path.startswith(allowed_path + "/"):
            return True
    return False


def prepare_target(
    url: str, allowed_urls: Sequence[str] | None = None, *, secrets: Iterable[str] = ()
) -> Target:
    """Check a URL (scheme, host, allowed_urls, resolved addresses) and pick the address to use."""

    def refused(reason: str) -> UrlNotAllowedError:
        return UrlNotAllowedError(_display_url(url, secrets), reason)

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or (scheme == "http" and not _insecure_loopback_allowed()):
        raise refused("only https URLs are allowed")
    if "@" in parts.netloc or "\\" in parts.netloc:
        raise refused("credentials in the URL are not allowed")
    if not parts.hostname:
        raise refused("the URL has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
        hostname = parts.hostname.rstrip(".").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise refused("the host or port is malformed") from None
    if _has_dot_segments(parts.path):
        raise refused("the path contains . or .. segments")
    if allowed_urls is not None and not url_allowed(url, allowed_urls):
        raise refused("it does not start with one of the allowed URLs")

    addresses = _resolve(hostname, port)
    for address in addresses:
        problem = _address_problem(address)
        if problem:
            raise refused(f"{hostname} resolves to {address}, {problem}")
    if scheme == "http" and not all(address.is_loopback for address in addresses):
        raise refused("only https URLs are allowed (http only to loopback)")

    netloc_host = f"[{hostname}]" if ":" in hostname else hostname
    host_header = netloc_host if port == _DEFAULT_PORTS[scheme] else f"{netloc_host}:{port}"
    return Target(
        url=url,
        scheme=scheme,
        hostname=hostname,
        port=port,
        address=str(addresses[0]),
        host_header=host_header,
    )


def open_request(
    request: BuiltRequest,
    *,
    allowed_urls: Sequence[str] | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> requests.Response:
    """Send one request (no redirects) to its checked address; the caller reads and closes it.

    The body is streamed and not capped: for a proxy that forwards it chunk by chunk.
    """
    target = prepare_target(request.url, allowed_urls, secrets=request.secrets)
    headers = CaseInsensitiveDict(request.headers)
    headers.setdefault("User-Agent", USER_AGENT)
    # What requests.Request(...).prepare() does, minus cookies, auth and hooks (none are used).
    prepared = requests.PreparedRequest()
    prepared.prepare_method(request.method)
    prepared.prepare_url(request.url, None)
    prepared.prepare_headers(headers)
    prepared.prepare_body(request.body, None)
    prepared.headers["Host"] = target.host_header
    setattr(prepared, _PIN_ATTRIBUTE, target)
    try:
        # The adapter directly: a Session would only add cookie handling (refused anyway),
        # hooks and redirects (never followed here), at a cost on every call.
        return _adapter().send(prepared, stream=True, timeout=timeout, verify=_ca_bundle())
    except requests.RequestException as exc:
        raise _send_error(exc, request) from None


def _send_error(exc: requests.RequestException, request: BuiltRequest) -> ProviderError:
    """The error to raise for a failed send (the URL shown without secrets)."""
    shown = f"{request.method} {_display_url(request.url, request.secrets)}"
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(f"Timed out calling {shown}")
    if isinstance(exc, requests.exceptions.SSLError):
        return TransientProviderError(f"TLS error calling {shown}")
    if isinstance(exc, requests.ConnectionError):
        return TransientProviderError(f"Could not connect to {shown}")
    return ProviderError(f"Request failed ({exc.__class__.__name__}): {shown}")


def send(
    request: BuiltRequest,
    *,
    allowed_urls: Sequence[str] | None = None,
    follow_redirects: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> ProviderResponse:
    """Send a request and read its answer (at most max_bytes), re-checking every redirect hop."""
    started = time.monotonic()
    deadline = started + (sum(timeout) if isinstance(timeout, tuple) else 2 * timeout)
    current = request
    for _hop in range(MAX_REDIRECTS + 1):
        response = open_request(current, allowed_urls=allowed_urls, timeout=timeout)
        try:
            if follow_redirects and response.status_code in _REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if location:
                    _log(current, response.status_code, started)
                    current = _redirected(current, response.status_code, location)
                    continue
            content = _read_capped(response, current, max_bytes=max_bytes, deadline=deadline)
        finally:
            response.close()
        _log(current, response.status_code, started)
        return ProviderResponse(
            status=response.status_code,
            headers=CaseInsensitiveDict(response.headers),
            content=content,
            url=current.url,
            secrets=current.secrets,
        )
    raise ProviderError(f"Too many redirects from {_display_url(request.url, request.secrets)}")


def raise_for_token_error(response: ProviderResponse) -> None:
    """Raise the classified ProviderError for an error answer from a token/refresh/revoke endpoint.

    Besides non-2xx answers this also catches 2xx bodies carrying `error` or `"ok": false`
    (GitHub, Slack).
    """
    parsed = parse_body(response.content_type, response.content)
    if response.ok and not (parsed and (parsed.get("error") or parsed.get("ok") is False)):
        return
    exc = classify_error_response(response.status, parsed)
    raise type(exc)(
        redact(str(exc), response.secrets),
        status=exc.status,
        error=exc.error,
        error_description=(
            redact(exc.error_description, response.secrets) if exc.error_description else None
        ),
    )


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address prepare_target() checked, keeping SNI and cert checks on the host."""

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Any = None,
        cert: Any = None,
    ) -> Any:
        target: Target | None = getattr(request, _PIN_ATTRIBUTE, None)
        if target is None:
            # Fail closed: nothing may leave without having been checked.
            raise ConfigurationError("Outbound request was not checked by prepare_target()")
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = target.address
        if target.scheme == "https":
            pool_kwargs["server_hostname"] = target.hostname
            pool_kwargs["assert_hostname"] = target.hostname
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)


_local = threading.local()


def _adapter() -> _PinnedAdapter:
    """One pooled adapter per thread (no Session: no cookies, no proxies or .netrc from the env)."""
    adapter: _PinnedAdapter | None = getattr(_local, "adapter", None)
    if adapter is None:
        adapter = _local.adapter = _PinnedAdapter(
            pool_connections=32, pool_maxsize=32, max_retries=0
        )
    return adapter


def _read_capped(
    response: requests.Response, request: BuiltRequest, *, max_bytes: int, deadline: float
) -> bytes:
    shown = _display_url(request.url, request.secrets)
    too_large = ProviderError(
        f"Response too large (over {max_bytes} bytes) from {request.method} {shown}",
        status=response.status_code,
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=65_536):
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise TransientProviderError(f"Timed out reading {request.method} {shown}")
            chunks.append(chunk)
    except requests.RequestException:
        raise TransientProviderError(f"Connection broke reading {request.method} {shown}") from None
    return b"".join(chunks)


def _redirected(request: BuiltRequest, status: int, location: str) -> BuiltRequest:
    """The next hop of a redirect, as browsers and requests do it."""
    url = urljoin(request.url, location)
    method, body, headers = request.method, request.body, dict(request.headers)
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {
            name: value
            for name, value in headers.items()
            if name.lower() not in ("content-type", "content-length")
        }
    if _origin(urlsplit(url)) != _origin(urlsplit(request.url)):
        headers = {
            name: value for name, value in headers.items() if name.lower() != "authorization"
        }
    return replace(request, method=method, url=url, body=body, headers=headers)


def _resolve(hostname: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(hostname)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TransientProviderError(f"Could not resolve {hostname}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TransientProviderError(f"Could not resolve {hostname}")
    return addresses


def _address_problem(address: IPAddress) -> str | None:
    """Why an address may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and (problem := _address_problem(embedded)):
            return problem
    if address in _METADATA_ADDRESSES:
        return "the cloud metadata address"
    if any(address in network for network in _allowed_private_networks()):
        return None
    if address.is_loopback:
        return None if _insecure_loopback_allowed() else "a loopback address"
    if (
        address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return "a private, link-local, multicast or reserved address"
    return None


def _ca_bundle() -> str | bool:
    """The CA bundle that verifies providers' certificates (OUTBOUND_CA_BUNDLE, else certifi's)."""
    return getattr(settings, "OUTBOUND_CA_BUNDLE", None) or True


def _insecure_loopback_allowed() -> bool:
    return bool(getattr(settings, "ALLOW_INSECURE_LOOPBACK", False))


def _allowed_private_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _parse_networks(tuple(getattr(settings, "OUTBOUND_ALLOWED_PRIVATE_NETWORKS", ()) or ()))


@lru_cache(maxsize=16)
def _parse_networks(
    cidrs: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ConfigurationError(f"OUTBOUND_ALLOWED_PRIVATE_NETWORKS: {exc}") from None


def _origin(parts: Any) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").rstrip("."), port


def _has_dot_segments(path: str) -> bool:
    decoded = unquote(path).replace("\\", "/")
    return any(segment in (".", "..") for segment in decoded.split("/"))


def _display_url(url: str, secrets: Iterable[str]) -> str:
    """The URL for logs and messages: no userinfo, no query values, secrets in the path hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        shown = f"{parts.scheme}://{netloc}{parts.path}"
        if parts.query:
            keys = [key for key, _value in parse_qsl(parts.query, keep_blank_values=True)]
            shown += "?" + "&".join(f"{key}=…" for key in keys)
    except ValueError:
        shown = "<malformed URL>"
    return redact(shown, secrets)


def _log(request: BuiltRequest, status: int, started: float) -> None:
    logger.info(
        "%s %s -> %s in %d ms",
        request.method,
        _display_url(request.url, request.secrets),
        status,
        (time.monotonic() - started) * 1000,
    )
