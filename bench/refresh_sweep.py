"""Beat sweep throughput: N connections due now, refreshed by real Celery workers on Redis + PostgreSQL.

A loopback token endpoint (asyncio, keep-alive) answers every refresh after 100 ms and counts the
refreshes per refresh token. The sweep is one `connections.schedule_refreshes` task sent to the
workers, as beat sends it: it enqueues `connections.refresh_batch` messages of --batch connections.
Refreshes in flight = workers x min(threads x batch, send threads): a worker's provider calls run
on its pool of --send-threads threads, so with 2 batch threads of 16 and 16 send threads one batch
is prepared and stored while the other's calls are in flight. Ideal rate = in flight / 0.1 s.

    .venv/bin/python bench/refresh_sweep.py [--quick] [--connections N] [--workers 2]
        [--concurrency 2] [--batch 16] [--send-threads 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

REDIS_DB = 10
PROVIDER_DELAY = 0.1
TARGET = 0.6


class TokenEndpoint:
    """A minimal HTTP/1.1 token endpoint on 127.0.0.1: answers after `delay`, counts per refresh token."""

    def __init__(self, *, delay: float) -> None:
        self.delay = delay
        self.port = common.free_port()
        self.counts: Counter[str] = Counter()
        self.answered = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The token (and refresh) URL."""
        return f"http://127.0.0.1:{self.port}/oauth/token"

    def start(self) -> None:
        """Serve from a background thread."""
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        """Close every connection and stop the thread."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def snapshot(self) -> Counter[str]:
        """A copy of the counts taken on the server's own thread."""
        done: Counter[str] = Counter()
        future = asyncio.run_coroutine_threadsafe(self._copy(done), self._loop)
        future.result(5)
        return done

    async def _copy(self, into: Counter[str]) -> None:
        into.update(self.counts)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():  # request line; keep-alive until the client closes
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                form = parse_qs((await reader.readexactly(length)).decode())
                token = form.get("refresh_token", [""])[0]
                self.counts[token] += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                await asyncio.sleep(self.delay)
                self.in_flight -= 1
                body = json.dumps(
                    {"access_token": f"new-{token}", "token_type": "bearer", "expires_in": 3600}
                ).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                self.answered += 1
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def create_connections(*, token_url: str, prefix: str, count: int, due: bool) -> None:
    """`count` active connections with refresh tokens `<prefix>-<i>` (due now, or in a day)."""
    from django.utils import timezone

    from apps.connections.models import Connection
    from apps.plugins.models import AuthVersion, Plugin
    from apps.tenants.models import Tenant

    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    plugin, _ = Plugin.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    version, _ = AuthVersion.objects.get_or_create(
        plugin=plugin,
        version=1,
        defaults={
            "status": "published",
            "grant_type": "authorization_code",
            "client_id": "bench-client",
            "client_secret": "bench-client-secret",
            "authorization_url": "http://127.0.0.1/authorize",
            "scopes": ["read"],
            "token_request": token_url,
            "refresh_request": token_url,
            "allowed_urls": ["http://127.0.0.1/"],
        },
    )
    now = timezone.now()
    rows = [
        Connection(
            tenant=tenant,
            plugin=plugin,
            auth_version=version,
            label=f"{prefix} {i}",
            unique_identifier=f"{prefix}-{i}",
            access_token=f"old-{prefix}-{i}",
            refresh_token=f"{prefix}-{i}",
            expires_at=now + timedelta(minutes=4),
            next_refresh_at=now - timedelta(seconds=1) if due else now + timedelta(days=1),
        )
        for i in range(count)
    ]
    Connection.objects.bulk_create(rows, batch_size=1000)


def make_due(prefix: str) -> int:
    """Make the `<prefix>-*` connections due now."""
    from django.utils import timezone

    from apps.connections.models import Connection

    return Connection.objects.filter(unique_identifier__startswith=f"{prefix}-").update(
        next_refresh_at=timezone.now() - timedelta(seconds=1)
    )


def refreshed(prefix: str) -> int:
    """How many `<prefix>-*` connections have been refreshed (stored)."""
    from apps.connections.models import Connection

    return Connection.objects.filter(
        unique_identifier__startswith=f"{prefix}-", last_refreshed_at__isnull=False
    ).count()


def wait_until(predicate: Any, *, timeout: float, poll: float = 0.05) -> bool:
    """Poll until predicate() is true; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def queue_idle(url: str) -> bool:
    """No message waiting in the default queue and none delivered but unacknowledged."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.llen("celery") == 0 and client.hlen("unacked") == 0
    finally:
        client.close()


def profile(pid: int, output: Path) -> subprocess.Popen:
    """Sample a worker's Python CPU (the GIL holder) with py-spy into collapsed stacks.

    py-spy is not a project dependency: `.venv/bin/pip install py-spy`.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--gil",
            "--format",
            "raw",
            "-r",
            "250",
            "-o",
            str(output),
            "-p",
            str(pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def send_sweep() -> None:
    """Enqueue one beat tick, as celery beat does."""
    from apps.connections.tasks import schedule_refreshes

    schedule_refreshes.delay()


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Set up, warm up, sweep, verify, tear down; print the table and the ratio last."""
    name = common.database_name("refresh_sweep")
    redis = common.redis_url(REDIS_DB)
    # A worker's batch threads queue their calls on its pool of send threads.
    in_flight = args.workers * min(args.concurrency * args.batch, args.send_threads)
    db_threads = args.workers * args.concurrency
    max_connections = int(common.pg_setting("max_connections"))
    if db_threads + 10 > max_connections:
        raise SystemExit(
            f"{db_threads} worker threads need more than max_connections={max_connections}"
        )
    env = common.bench_env(
        database_url=common.create_database(name),
        redis_url=redis,
        # Persistent connections as production sets them; note that Celery's Django fixup still
        # closes them around every task unless CELERY_DB_REUSE_MAX is set (docs/benchmarks.md).
        DB_CONN_MAX_AGE="600",
        REFRESH_BATCH_SIZE=str(args.batch),
        REFRESH_SEND_THREADS=str(args.send_threads),
    )
    endpoint = TokenEndpoint(delay=PROVIDER_DELAY)
    workers: list[Any] = []
    try:
        common.flush_redis(redis)
        common.migrate(env)
        common.setup_django(env)
        endpoint.start()
        warm = max(2 * in_flight, 100)
        create_connections(token_url=endpoint.url, prefix="warm", count=warm, due=True)
        create_connections(
            token_url=endpoint.url, prefix="sweep", count=args.connections, due=False
        )

        from config.celery import app

        names = [f"bench{i}" for i in range(args.workers)]
        workers = [
            common.celery_worker(
                name=worker, concurrency=args.concurrency, env=env, log=workdir / f"{worker}.log"
            )
            for worker in names
        ]
        common.wait_for_workers(app, names)

        # Warm-up: every worker thread opens its DB connection and HTTP session.
        send_sweep()
        if not wait_until(lambda: refreshed("warm") == warm, timeout=120):
            raise RuntimeError(f"warm-up did not finish; see {workdir}")
        wait_until(lambda: queue_idle(redis), timeout=30)

        make_due("sweep")
        cpu_before = sum(common.cpu_seconds(w.pid) for w in workers)
        machine_before = common.machine_cpu_seconds()
        answered_before = endpoint.answered
        profilers = (
            [profile(w.pid, args.profile / f"{n}.txt") for w, n in zip(workers, names, strict=True)]
            if args.profile
            else []
        )
        started = time.perf_counter()
        send_sweep()
        done = wait_until(
            lambda: (
                endpoint.answered - answered_before >= args.connections
                and refreshed("sweep") == args.connections
            ),
            timeout=args.timeout,
        )
        elapsed = time.perf_counter() - started
        worker_cpu = sum(common.cpu_seconds(w.pid) for w in workers) - cpu_before
        machine_cpu = common.machine_cpu_seconds() - machine_before
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        if not done:
            raise RuntimeError(
                f"sweep incomplete after {args.timeout:.0f} s: "
                f"{refreshed('sweep')}/{args.connections} refreshed; logs in {workdir}"
            )
        # Let any duplicate refresh surface before counting.
        time.sleep(2)
        wait_until(lambda: queue_idle(redis), timeout=30)
        counts = endpoint.snapshot()
    finally:
        for worker in workers:
            common.stop_process(worker)
        endpoint.stop()
        from django.db import connections

        connections.close_all()
        common.drop_database(name)
        common.flush_redis(redis)

    sweep = {f"sweep-{i}" for i in range(args.connections)}
    sweep_counts = [counts.get(token, 0) for token in sweep]
    strays = {t: c for t, c in counts.items() if t not in sweep and not t.startswith("warm-")}
    exactly_once = all(c == 1 for c in sweep_counts) and not strays
    rate = args.connections / elapsed
    ideal = in_flight / PROVIDER_DELAY
    ratio = rate / ideal
    ceiling = (os.cpu_count() or 1) * args.connections / max(machine_cpu, 1e-9)
    common.print_table(
        ["measure", "value"],
        [
            ["machine", common.machine()],
            ["workers x min(threads x batch, send threads) (in flight)",
             f"{args.workers} x min({args.concurrency} x {args.batch}, {args.send_threads})"
             f" = {in_flight}"],
            ["PostgreSQL max_connections", max_connections],
            ["connections refreshed", args.connections],
            ["max requests in flight at provider", endpoint.max_in_flight],
            ["sweep time (tick sent -> all stored)", f"{elapsed:.2f} s"],
            ["measured rate", f"{rate:.1f} refreshes/s"],
            ["ideal rate (in flight / 0.1 s)", f"{ideal:.1f} refreshes/s"],
            ["worker CPU per refresh", f"{1000 * worker_cpu / args.connections:.2f} ms"],
            ["machine CPU per refresh (all processes)", f"{1000 * machine_cpu / args.connections:.2f} ms"],
            ["CPU-bound ceiling (cores / machine CPU per refresh)", f"{ceiling:.1f} refreshes/s"],
            ["refreshed exactly once (at provider)", "yes" if exactly_once else "NO"],
            ["duplicates / missing / strays", f"{sum(c > 1 for c in sweep_counts)} / "
             f"{sum(c == 0 for c in sweep_counts)} / {len(strays)}"],
        ],
    )  # fmt: skip
    met = ratio >= TARGET
    print(
        f"ratio measured/ideal = {ratio:.2f} (target >= {TARGET}: "
        f"{'met' if met else 'MISSED'}{', not asserted with --quick' if args.quick else ''})"
    )
    if not exactly_once:
        return 1
    return 0 if met or args.quick else 2


def main() -> int:
    """Parse arguments and run; exit 1 when a refresh was not exactly once, 2 on a missed target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 500 connections")
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="threads per worker")
    parser.add_argument("--batch", type=int, default=16, help="connections per refresh_batch task")
    parser.add_argument(
        "--send-threads", type=int, default=16, help="provider-call threads per worker"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the sweep")
    parser.add_argument(
        "--profile", type=Path, help="write py-spy collapsed stacks of each worker here"
    )
    args = parser.parse_args()
    if args.connections is None:
        args.connections = 500 if args.quick else 10_000
    workdir = Path(tempfile.mkdtemp(prefix="bench-refresh-sweep-"))
    print(f"worker logs: {workdir}", flush=True)
    return run(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
