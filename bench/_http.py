"""HTTP helpers for the API benchmarks: a keep-alive load generator, gunicorn, a loopback provider.

The load generator is one asyncio loop holding N keep-alive connections that stay open across
rounds, so endpoints compared in alternating rounds are driven by the same sockets (and the same
spread of sockets over gunicorn workers). Each connection sends one request, reads the whole
answer, records the latency and sends the next (closed loop).

`python bench/_http.py provider <port>` serves the loopback provider the proxy benchmark calls:
GET /api/data.json answers 1 KiB of JSON, GET /api/big answers a 50 MiB body, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import _common as common

BIG_BYTES = 50 * 1024 * 1024
IDLE_RECONNECT_SECONDS = 1.0


# Load generator


def request_bytes(
    method: str,
    path: str,
    *,
    host: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """One HTTP/1.1 keep-alive request, ready to send."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Measurement:
    """Requests of one target, pooled over its rounds."""

    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_cpu: float = 0.0
    machine_cpu: float = 0.0

    def cpu_ms(self, which: str) -> float:
        """Server (gunicorn workers) or machine CPU milliseconds per completed request."""
        spent = self.server_cpu if which == "server" else self.machine_cpu
        return 1000 * spent / len(self.latencies) if self.latencies else float("nan")

    @property
    def rps(self) -> float:
        """Completed 2xx requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: int) -> float:
        """The q-th percentile latency in milliseconds (of the 2xx answers)."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)


class LoadGenerator:
    """N keep-alive connections to one host:port, driven in closed loop for timed rounds."""

    def __init__(self, port: int, *, connections: int, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.size = host, port, connections
        self._loop = asyncio.new_event_loop()
        self._streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._used = 0.0

    def close(self) -> None:
        """Close every connection and the loop."""
        for _reader, writer in self._streams:
            writer.close()
        self._streams = []
        self._loop.close()

    def run(self, request: bytes, *, seconds: float, into: Measurement) -> None:
        """Send `request` on every connection for `seconds`; add the results to `into`."""
        self._loop.run_until_complete(self._round(request, seconds, into))

    async def _round(self, request: bytes, seconds: float, into: Measurement) -> None:
        if time.monotonic() - self._used > IDLE_RECONNECT_SECONDS:
            # gunicorn closes keep-alive connections idle for 2 s: start this round on new ones.
            for _reader, writer in self._streams:
                writer.close()
            self._streams = []
        while len(self._streams) < self.size:
            self._streams.append(await asyncio.open_connection(self.host, self.port))
        started = time.perf_counter()
        deadline = started + seconds
        results = await asyncio.gather(
            *(self._drive(i, request, deadline, into) for i in range(self.size)),
            return_exceptions=True,
        )
        into.seconds += time.perf_counter() - started
        self._used = time.monotonic()
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                into.failures.append(f"{type(result).__name__}: {result}")
                self._streams[index][1].close()
        self._streams = [pair for i, pair in enumerate(self._streams) if results[i] is None]

    async def _drive(self, index: int, request: bytes, deadline: float, into: Measurement) -> None:
        reader, writer = self._streams[index]
        clock = time.perf_counter
        while (sent := clock()) < deadline:
            writer.write(request)
            status = await _read_response(reader)
            if 200 <= status < 300:
                into.latencies.append(clock() - sent)
            else:
                into.failures.append(f"HTTP {status}")


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one whole answer (Content-Length or chunked); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    elif length:
        await reader.readexactly(length)
    return status


def alternate(
    rounds: int,
    seconds: float,
    plan: Sequence[tuple[LoadGenerator, bytes, Measurement]],
    *,
    server_pids: Sequence[int] = (),
) -> None:
    """Run every (generator, request, measurement) for `seconds`, in rounds of alternating order.

    Also adds the CPU time the server processes and the whole machine spent to each measurement.
    """
    for number in range(rounds):
        order = plan if number % 2 == 0 else list(reversed(plan))
        for generator, request, measurement in order:
            server = sum(common.cpu_seconds(pid) for pid in server_pids)
            machine = common.machine_cpu_seconds()
            generator.run(request, seconds=seconds, into=measurement)
            measurement.server_cpu += sum(common.cpu_seconds(pid) for pid in server_pids) - server
            measurement.machine_cpu += common.machine_cpu_seconds() - machine


def fetch(port: int, method: str, path: str, **kwargs: object) -> tuple[int, bytes]:
    """One request with http.client (setup checks); the status and the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, **kwargs)  # type: ignore[arg-type]
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def download(port: int, path: str, headers: Mapping[str, str]) -> tuple[int, int]:
    """Stream a GET's body to nowhere; the status and the byte count."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=dict(headers))
        response = conn.getresponse()
        size = 0
        while chunk := response.read(256 * 1024):
            size += len(chunk)
        return response.status, size
    finally:
        conn.close()


def wait_for_http(port: int, path: str, *, timeout: float = 60.0) -> None:
    """Block until the server answers `path` (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fetch(port, "GET", path)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


# gunicorn


def start_gunicorn(
    *, env: Mapping[str, str], port: int, log: Path, workers: int = 2, threads: int = 8
) -> subprocess.Popen:
    """`gunicorn config.wsgi` as in the Procfile (gthread workers), on 127.0.0.1:<port>."""
    args = [common.PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", str(workers), "--threads", str(threads), "--log-level", "warning"]
    process = common.start_process(args, env=env, log=log)
    try:
        wait_for_http(port, "/healthz")
        deadline = time.monotonic() + 30
        while len(worker_pids(process.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
    except Exception:
        common.stop_process(process)
        raise
    return process


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's worker processes."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


@contextmanager
def profiled(pids: Sequence[int], directory: Path | None, name: str) -> Iterator[None]:
    """Sample the processes with py-spy into `<directory>/<name>-<pid>.txt` (collapsed stacks).

    No-op without a directory. py-spy is not a project dependency: `.venv/bin/pip install py-spy`.
    """
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    profilers = [
        subprocess.Popen(
            [
                *(py_spy, "record", "--gil", "--format", "raw", "--rate", "200", "--nonblocking"),
                *("--output", str(directory / f"{name}-{pid}.txt"), "--pid", str(pid)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    time.sleep(1)
    try:
        yield
    finally:
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)


# Data


@dataclass(frozen=True)
class Seed:
    """What the requests need: the tenant's API key and its connection's id."""

    api_key: str
    connection_id: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.api_key}"}


def seed(*, api_base_url: str) -> Seed:
    """A tenant with an API key, a published plugin version and an active connection (Django set up).

    The token is valid for a day (no refresh on the measured path); request_params render one
    templated header and query parameter, as a typical plugin's do.
    """
    from datetime import timedelta

    from django.utils import timezone

    from apps.connections.models import Connection
    from apps.plugins.models import AuthVersion, Plugin
    from apps.tenants.models import Tenant
    from apps.tenants.services import api_key_create

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    issued = api_key_create(tenant=tenant, name="bench service")
    plugin = Plugin.objects.create(slug="bench", name="Bench", api_base_url=api_base_url)
    token_url = f"{api_base_url.rstrip('/')}/oauth/token"
    version = AuthVersion.objects.create(
        plugin=plugin,
        version=1,
        status="published",
        grant_type="authorization_code",
        client_id="bench-client",
        client_secret="bench-client-secret",
        authorization_url=f"{api_base_url.rstrip('/')}/oauth/authorize",
        scopes=["read"],
        token_request=token_url,
        refresh_request=token_url,
        allowed_urls=[api_base_url],
        request_params={
            "headers": {"X-Region": "{{ fields.region }}"},
            "query": {"region": "{{ fields.region }}"},
            "body": {},
        },
    )
    connection = Connection.objects.create(
        tenant=tenant,
        plugin=plugin,
        auth_version=version,
        label="Bench account",
        unique_identifier="bench-account",
        field_values={"region": "eu"},
        access_token="bench-access-token-" + "a" * 40,
        refresh_token="bench-refresh-token-" + "r" * 40,
        token_response={"token_type": "Bearer", "expires_in": 86400, "scope": "read"},
        expires_at=timezone.now() + timedelta(days=1),
        next_refresh_at=timezone.now() + timedelta(days=1),
    )
    return Seed(api_key=issued.secret, connection_id=str(connection.pk))


# The loopback provider (a subprocess, so the load generator and it do not share a GIL)


def _json_kib() -> bytes:
    """A JSON document of exactly 1 KiB."""
    items = [{"id": i, "name": f"item {i:04d}"} for i in range(24)]
    base = json.dumps({"items": items, "pad": ""}, separators=(",", ":")).encode()
    return json.dumps(
        {"items": items, "pad": "x" * (1024 - len(base))}, separators=(",", ":")
    ).encode()


DATA = _json_kib()


async def _provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    chunk = b"\0" * (1024 * 1024)
    try:
        while line := await reader.readline():
            path = line.split(b" ")[1].split(b"?")[0] if line.count(b" ") >= 2 else b""
            length = 0
            while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            if path == b"/api/data.json":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(DATA), DATA)
                )
            elif path == b"/api/big":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    b"Content-Length: %d\r\n\r\n" % BIG_BYTES
                )
                for _ in range(BIG_BYTES // len(chunk)):
                    writer.write(chunk)
                    await writer.drain()
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _serve(port: int) -> None:
    server = await asyncio.start_server(_provider, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def start_provider(*, port: int, log: Path) -> subprocess.Popen:
    """The loopback provider as a subprocess on 127.0.0.1:<port>."""
    process = common.start_process(
        [common.PYTHON, str(Path(__file__).resolve()), "provider", str(port)],
        env=os.environ,
        log=log,
    )
    wait_for_http(port, "/api/data.json", timeout=20)
    return process


if __name__ == "__main__" and sys.argv[1:2] == ["provider"]:
    asyncio.run(_serve(int(sys.argv[2])))
