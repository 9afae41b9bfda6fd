"""Shared helpers for the benchmark scripts: databases, env, subprocesses, CPU time, tables.

Every script owns what it uses: a PostgreSQL database named `bench_*` (created and dropped here), a
Redis DB number of its own, loopback ports picked free, and its own subprocesses.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_BASE_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
# Fixed, bench-only keys: the databases are throwaway.
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnop"
FIELD_ENCRYPTION_KEY = "YmVuY2gtb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA="
CLK_TCK = os.sysconf("SC_CLK_TCK")


# PostgreSQL


def database_name(prefix: str) -> str:
    """A unique database name `bench_<prefix>_<pid>` (runs in parallel do not collide)."""
    return f"bench_{prefix}_{os.getpid()}"


def database_url(name: str) -> str:
    """The DATABASE_URL of a database on the bench PostgreSQL server."""
    return f"{PG_URL.rstrip('/')}/{name}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG_URL.rstrip('/')}/postgres", autocommit=True)


def create_database(name: str) -> str:
    """Create an empty database (dropping a leftover of the same name); returns its URL."""
    assert name.startswith("bench_"), "bench databases are named bench_*"
    drop_database(name)
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(name)


def drop_database(name: str) -> None:
    """Drop a bench database, disconnecting whoever still uses it."""
    assert name.startswith("bench_"), "bench databases are named bench_*"
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def pg_setting(name: str) -> str:
    """A server setting, e.g. max_connections."""
    with _admin() as conn:
        row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
    return str(row[0]) if row else ""


# Redis


def redis_url(db: int) -> str:
    """A Redis URL for one DB number (each script uses its own)."""
    return f"{REDIS_BASE_URL.rstrip('/')}/{db}"


def flush_redis(url: str) -> None:
    """Empty one Redis DB (only the bench's own number)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# Environment and Django


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment for the app (this process and subprocesses): explicit, no .env file read."""
    env = {
        **os.environ,
        # A candidate settings module can be measured without editing config/settings.py.
        "DJANGO_SETTINGS_MODULE": os.environ.get("BENCH_SETTINGS_MODULE", "config.settings"),
        "ENV_FILE": "/nonexistent",
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": FIELD_ENCRYPTION_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOW_INSECURE_LOOPBACK": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def setup_django(env: Mapping[str, str]) -> None:
    """Configure Django (and the Celery app) in this process with the bench environment."""
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    import config.celery  # noqa: F401 - binds shared tasks to the app configured from env


def migrate(env: Mapping[str, str]) -> None:
    """Run `manage.py migrate` into the bench database."""
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=dict(env),
        check=True,
    )


# Subprocesses


def start_process(args: Sequence[str], *, env: Mapping[str, str], log: Path) -> subprocess.Popen:
    """Start a subprocess from the repository root, output to a log file, in its own group."""
    handle: IO[bytes] = log.open("wb")
    return subprocess.Popen(
        list(args),
        cwd=REPO,
        env=dict(env),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen, *, timeout: float = 20.0) -> None:
    """SIGTERM (warm shutdown), then SIGKILL the process group after `timeout` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def celery_worker(
    *, name: str, concurrency: int, env: Mapping[str, str], log: Path, pool: str = "threads"
) -> subprocess.Popen:
    """A real `celery -A config worker` subprocess."""
    args = [PYTHON, "-m", "celery", "-A", "config", "worker", f"--pool={pool}"]
    args += ["-c", str(concurrency), "-n", f"{name}@%h", "--loglevel=WARNING", "--without-gossip"]
    return start_process([*args, "--without-mingle", "--without-heartbeat"], env=env, log=log)


def wait_for_workers(app: Any, names: Sequence[str], *, timeout: float = 60.0) -> None:
    """Block until every named worker answers a control ping."""
    deadline = time.monotonic() + timeout
    wanted = {name.split("@")[0] for name in names}
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        answered = {next(iter(reply)).split("@")[0] for reply in replies}
        if wanted <= answered:
            return
    raise RuntimeError(f"workers {sorted(wanted)} did not start within {timeout:.0f} s")


# Measuring


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); index 0 here is field 3.
    return sum(int(value) for value in fields[11:15]) / CLK_TCK


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores, /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def machine() -> str:
    """`<n> CPUs, <m> GiB RAM` for the report."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return f"{os.cpu_count()} CPUs, {pages / 2**30:.1f} GiB RAM"


def median_seconds(samples: Sequence[float]) -> float:
    """The median of timing samples."""
    return statistics.median(samples)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as elapsed:` then `elapsed[0]` holds the seconds taken."""
    elapsed: list[float] = []
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.append(time.perf_counter() - started)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table on stdout."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    print("\n".join(line.rstrip() for line in lines), flush=True)
