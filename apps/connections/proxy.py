"""The API proxy: forward a service's call to the plugin's API with the connection's credentials.

The target is the plugin's api_base_url (a template rendered per connection) plus the path; the
final URL must start with one of the connection's allowed_urls. request_params are applied
(headers and query merged; body merged into JSON/form bodies when it has values). When the provider
answers with one of the auth version's expired_token_statuses, the token is refreshed once and the
call retried once (not for streamed request bodies). Answers are streamed back above a small size.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlencode

import requests

from apps.connections.credentials import connection_context, request_params_for
from apps.connections.models import Connection
from apps.connections.refresh import connection_refresh, get_fresh_credentials
from apps.connections.services import can_refresh
from apps.plugins import http_client, templating
from apps.plugins.errors import ConfigurationError, PlugsmithError, TransientProviderError
from apps.plugins.request_spec import BuiltRequest

logger = logging.getLogger(__name__)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_REQUEST_BYTES = 10 * 1024 * 1024
BUFFERED_REQUEST_BYTES = 1024 * 1024
BUFFERED_RESPONSE_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
MIN_VALIDITY = 30
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded to the provider: the caller's own credentials and what the transport recomputes.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"authorization", "cookie", "host", "content-length", "accept-encoding", "expect"}
)
# Never passed back: what Django recomputes, what the decoded body no longer has, provider cookies.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "content-encoding", "set-cookie", "set-cookie2"}
)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class RequestTooLarge(PlugsmithError):
    """The body to forward is over MAX_REQUEST_BYTES."""


class InvalidProxyBody(PlugsmithError):
    """The body cannot be merged with the plugin's request_params.body."""


class BodyStream(Protocol):
    """A readable request body (Django's request) of known length."""

    def read(self, size: int = -1) -> bytes: ...


class _SizedStream:
    """A request body read on demand with a known length, so requests sends Content-Length."""

    def __init__(self, stream: BodyStream, length: int) -> None:
        self._stream = stream
        self._remaining = length
        self.len = length

    def __len__(self) -> int:
        return self.len

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        wanted = self._remaining if size is None or size < 0 else min(size, self._remaining)
        chunk = self._stream.read(wanted)
        self._remaining -= len(chunk)
        return chunk


@dataclass(frozen=True)
class ProxyCall:
    """The service's call, as received: method, path under api_base_url, query, headers, body."""

    method: str
    path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    body: BodyStream | None = None
    content_length: int = 0


@dataclass
class ProxyResponse:
    """The provider's answer: a small body read whole, or a stream to pass on chunk by chunk."""

    status: int
    headers: list[tuple[str, str]]
    content: bytes | None
    stream: Iterator[bytes] | None
    retried: bool = False


def _forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    listed = {
        name.strip().lower()
        for value in (v for k, v in headers.items() if k.lower() == "connection")
        for name in value.split(",")
    }
    return {
        name: value
        for name, value in headers.items()
        if (lowered := name.lower()) not in HOP_BY_HOP
        and lowered not in _DROPPED_REQUEST_HEADERS
        and lowered not in listed
        and not lowered.startswith("proxy-")
    }


def _merged_headers(client: Mapping[str, str], params: Mapping[str, str]) -> dict[str, str]:
    """The client's headers, with the plugin's request_params headers winning (case-insensitive)."""
    overridden = {name.lower() for name in params}
    merged = {name: value for name, value in client.items() if name.lower() not in overridden}
    merged.update(params)
    return merged


def _target_url(connection: Connection, path: str, context: Mapping[str, Any]) -> str:
    template = connection.plugin.api_base_url
    if not template:
        raise ConfigurationError(
            f"The plugin {connection.plugin.slug!r} has no api_base_url: the proxy cannot be used."
        )
    base = templating.render(template, context).strip()
    return base.rstrip("/") + "/" + quote(path.lstrip("/"), safe=_PATH_SAFE)


def _merged_query(client: Sequence[tuple[str, str]], params: Mapping[str, str]) -> str:
    """The client's query with the plugin's request_params query keys replacing the same keys."""
    kept = [(key, value) for key, value in client if key not in params]
    return urlencode([*kept, *params.items()])


def _media_type(headers: Mapping[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def _merged_body(body: bytes, media_type: str, extra: Mapping[str, Any]) -> bytes:
    """Merge request_params.body into a JSON object or form body (the plugin's keys win)."""
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise InvalidProxyBody("The form body is not UTF-8.") from None
        kept = [(key, value) for key, value in pairs if key not in extra]
        return urlencode([*kept, *((key, _form_value(v)) for key, v in extra.items())]).encode()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            data = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InvalidProxyBody("The JSON body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise InvalidProxyBody(
                "The JSON body must be an object: this plugin adds fields to every request body."
            )
        return json.dumps({**data, **extra}).encode()
    return body


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _read_body(call: ProxyCall) -> bytes:
    if call.body is None or call.content_length <= 0:
        return b""
    chunks, size = [], 0
    while size < call.content_length:
        chunk = call.body.read(min(CHUNK_BYTES, call.content_length - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _prepare_body(
    call: ProxyCall, params_body: Mapping[str, Any]
) -> tuple[bytes | _SizedStream | None, bool]:
    """The body to send and whether it can be sent twice (buffered) for a retry."""
    if call.content_length > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            f"The request body is {call.content_length} bytes; the proxy accepts at most "
            f"{MAX_REQUEST_BYTES} bytes."
        )
    media_type = _media_type(call.headers)
    mergeable = media_type in ("application/json", "application/x-www-form-urlencoded") or (
        media_type.endswith("+json")
    )
    if params_body and mergeable and call.method != "GET":
        return _merged_body(_read_body(call), media_type, params_body), True
    if call.body is None or call.content_length <= 0:
        return None, True
    if call.content_length <= BUFFERED_REQUEST_BYTES:
        return _read_body(call), True
    return _SizedStream(call.body, call.content_length), False


@dataclass(frozen=True)
class _Rendered:
    """A connection's template context and request_params, rendered once per token."""

    context: Mapping[str, Any]
    params: Mapping[str, Any]

    @classmethod
    def of(cls, connection: Connection) -> _Rendered:
        context = connection_context(connection)
        return cls(context, request_params_for(connection, context=context))


def _build(
    connection: Connection,
    call: ProxyCall,
    body: bytes | _SizedStream | None,
    rendered: _Rendered,
) -> tuple[BuiltRequest, list[str]]:
    context, params = rendered.context, rendered.params
    url = _target_url(connection, call.path, context)
    query = _merged_query(call.query, params["query"])
    if query:
        url = f"{url}?{query}"
    headers = _merged_headers(_forwarded_headers(call.headers), params["headers"])
    allowed = [
        str(prefix)
        for prefix in templating.render_value(list(connection.auth_version.allowed_urls), context)
    ]
    secrets = tuple(value for value in (connection.access_token, connection.refresh_token) if value)
    # The outbound client passes the body to requests as is: bytes, or a sized stream.
    built = BuiltRequest(
        method=call.method,
        url=url,
        headers=headers,
        body=body,  # type: ignore[arg-type]
        secrets=secrets,
    )
    return built, allowed


def _send(
    connection: Connection, call: ProxyCall, body: Any, rendered: _Rendered
) -> requests.Response:
    built, allowed = _build(connection, call, body, rendered)
    response = http_client.open_request(built, allowed_urls=allowed)
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "proxy %s %s for connection %s -> %s",
            call.method,
            http_client.redact(built.url.split("?", 1)[0], built.secrets),
            connection.pk,
            response.status_code,
        )
    return response


def _response_headers(response: requests.Response) -> list[tuple[str, str]]:
    listed = {
        name.strip().lower() for name in response.headers.get("Connection", "").split(",") if name
    }
    return [
        (name, value)
        for name, value in response.headers.items()
        if (lowered := name.lower()) not in HOP_BY_HOP
        and lowered not in _DROPPED_RESPONSE_HEADERS
        and lowered not in listed
        and not lowered.startswith("proxy-")
    ]


def _rest(chunks: Iterator[bytes], response: requests.Response) -> Iterator[bytes]:
    """The remaining body; the upstream connection is closed however the stream ends."""
    try:
        yield from chunks
    except requests.RequestException as exc:
        # The status line is already sent: the stream can only end early.
        logger.warning("proxy stream broke: %s", exc.__class__.__name__)
    finally:
        response.close()


def _answer(response: requests.Response, *, retried: bool) -> ProxyResponse:
    headers = _response_headers(response)
    chunks = response.iter_content(chunk_size=CHUNK_BYTES)
    buffered: list[bytes] = []
    size = 0
    try:
        for chunk in chunks:
            buffered.append(chunk)
            size += len(chunk)
            if size > BUFFERED_RESPONSE_BYTES:
                stream = itertools.chain(buffered, _rest(chunks, response))
                return ProxyResponse(response.status_code, headers, None, stream, retried)
    except requests.RequestException:
        response.close()
        raise TransientProviderError(
            "The provider's answer broke off while it was being read."
        ) from None
    response.close()
    return ProxyResponse(response.status_code, headers, b"".join(buffered), None, retried)


def proxy_call(*, connection: Connection, call: ProxyCall) -> ProxyResponse:
    """Forward one call to the provider; refresh once and retry on an expired-token status."""
    if call.method not in METHODS:
        raise ConfigurationError(f"The proxy does not forward {call.method} requests.")
    connection = get_fresh_credentials(connection=connection, min_validity=MIN_VALIDITY)
    rendered = _Rendered.of(connection)
    body, repeatable = _prepare_body(call, rendered.params.get("body") or {})
    response = _send(connection, call, body, rendered)
    expired = {int(status) for status in connection.auth_version.expired_token_statuses or []}
    if response.status_code in expired and repeatable and can_refresh(connection):
        response.close()
        # Concurrent calls that saw the same stale token share one refresh.
        connection = connection_refresh(
            connection_id=connection.pk, stale_access_token=connection.access_token
        )
        return _answer(_send(connection, call, body, _Rendered.of(connection)), retried=True)
    return _answer(response, retried=False)
