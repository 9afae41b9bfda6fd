"""Credentials throughput: POST /api/v1/connections/{id}/credentials/ vs. the bare API endpoint.

Both are served by one `gunicorn config.wsgi --workers 2 --threads 8` (the Procfile's gthread
configuration) on loopback with PostgreSQL, and driven by the same keep-alive connections in
alternating rounds. The bare endpoint is GET /api/v1/tenant/: API-key authentication (one indexed
read by key prefix, joined to the tenant) and the tenant rendered, nothing else. The connection's
token is valid for a day, so no refresh is on the measured path.

    .venv/bin/python bench/credentials.py [--quick] [--connections 16] [--rounds 6] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
import _http as http

REDIS_DB = 12
TARGET = 0.8


def run(args: argparse.Namespace, workdir: Path) -> int:
    name = common.database_name("api_cred")
    env = common.bench_env(
        database_url=common.create_database(name),
        redis_url=common.redis_url(REDIS_DB),
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    try:
        common.migrate(env)
        common.setup_django(env)
        data = http.seed(api_base_url="http://127.0.0.1:9/api/")
        from django.db import connections

        connections.close_all()
        port = common.free_port()
        server = http.start_gunicorn(env=env, port=port, log=workdir / "gunicorn.log")
        try:
            return measure(args, port, data, workers=http.worker_pids(server.pid))
        finally:
            common.stop_process(server)
    finally:
        common.drop_database(name)


def measure(args: argparse.Namespace, port: int, data: http.Seed, *, workers: list[int]) -> int:
    host = f"127.0.0.1:{port}"
    credentials_path = f"/api/v1/connections/{data.connection_id}/credentials/"
    json_headers = {**data.auth, "Content-Type": "application/json"}
    status, body = http.fetch(port, "POST", credentials_path, body=b"{}", headers=json_headers)
    if status != 200 or not json.loads(body).get("access_token"):
        print(f"credentials answered HTTP {status}: {body[:300]!r}")
        return 1
    status, body = http.fetch(port, "GET", "/api/v1/tenant/", headers=data.auth)
    if status != 200:
        print(f"tenant answered HTTP {status}: {body[:300]!r}")
        return 1

    bare = http.Measurement("GET /api/v1/tenant/ (bare)")
    credentials = http.Measurement("POST .../credentials/")
    requests = [
        (http.request_bytes("GET", "/api/v1/tenant/", host=host, headers=data.auth), bare),
        (
            http.request_bytes(
                "POST", credentials_path, host=host, headers=json_headers, body=b"{}"
            ),
            credentials,
        ),
    ]
    generator = http.LoadGenerator(port, connections=args.connections)
    try:
        for request, _measurement in requests:  # warm up every thread's DB connection
            generator.run(request, seconds=args.seconds / 2, into=http.Measurement("warm-up"))
        http.alternate(
            args.rounds,
            args.seconds,
            [(generator, request, measurement) for request, measurement in requests],
            server_pids=workers,
        )
        if args.profile:
            for (request, _measurement), name in zip(
                requests, ("bare", "credentials"), strict=True
            ):
                with http.profiled(workers, args.profile, name):
                    generator.run(request, seconds=10, into=http.Measurement("profile"))
    finally:
        generator.close()

    common.print_table(
        ["endpoint", "requests", "req/s", "p50 ms", "p99 ms", "gunicorn CPU ms/req",
         "machine CPU ms/req", "non-2xx/errors"],
        [
            [m.label, len(m.latencies), f"{m.rps:.0f}", f"{m.p50_ms:.2f}", f"{m.p99_ms:.2f}",
             f"{m.cpu_ms('server'):.2f}", f"{m.cpu_ms('machine'):.2f}", len(m.failures)]
            for m in (bare, credentials)
        ],
    )  # fmt: skip
    print(
        f"{common.machine()}; gunicorn 2 workers x 8 threads; {args.connections} keep-alive "
        f"connections; {args.rounds} alternating rounds of {args.seconds:g} s each"
    )
    failures = bare.failures + credentials.failures
    if failures:
        print(f"FAILED requests: {len(failures)}, e.g. {failures[:3]}")
    ratio = credentials.rps / bare.rps if bare.rps else 0.0
    met = ratio >= TARGET
    print(
        f"throughput credentials/bare = {ratio:.2f} (target >= {TARGET}: "
        f"{'met' if met else 'MISSED'}{', not asserted with --quick' if args.quick else ''})"
    )
    if failures:
        return 1
    return 0 if met or args.quick else 2


def main() -> int:
    """Parse arguments and run; exit 1 on any failed request, 2 on a missed target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 2 rounds of 1 s")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per endpoint")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per round")
    parser.add_argument(
        "--profile", type=Path, help="then profile each endpoint for 10 s with py-spy into here"
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 6)
    args.seconds = args.seconds or (1.0 if args.quick else 5.0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-credentials-"))
    print(f"gunicorn log: {workdir}", flush=True)
    return run(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
