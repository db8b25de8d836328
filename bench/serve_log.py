"""What the access log and the request metrics cost on the hot path, side by side with nginx.

    .venv/bin/python -m bench.serve_log [--seconds 5] [--connections 32] [--papers 1000]

One server core each (taskset), wrk on the other, a cached 50-entry feed. Rows: nginx
serving the same bytes as static files (200 gzip, 304); the app under `feedsvc-web` with its
defaults (access log on), its output written to a file as a container's log driver takes it;
with `FEEDSVC_ACCESS_LOG=0`; today's app under granian's own
access log (one Python logging call per request, as `feedsvc-web` logged before); and with
`--baseline REF`, `feedsvc-web` of that commit with its defaults, from a git worktree, on the
same data. The goal: the defaults at 50% or more of nginx on 200 gzip and on 304.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.serve import print_table
from bench.serve_data import FEED_PATH, dataset
from bench.serve_measure import GZIP, Row, etag_of, fetch, measure
from bench.serve_setup import (
    app_env,
    ensure_tools,
    granian_command,
    nginx_static_conf,
    server,
    worktree,
)
from feedsvc.config import Settings
from feedsvc.process.localredis import free_port


def granian_own_log_command(port: int) -> list[str]:
    """granian logging each request itself, as feedsvc-web ran it before."""
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
            "--workers", "1", "--host", "127.0.0.1", "--port", str(port), "--access-log",
            "feedsvc.app:create_app"]  # fmt: skip


def app_pair(name: str, command: list[str], port: int, env: dict[str, str],
             args: argparse.Namespace, cwd: Path | None = None) -> list[Row]:  # fmt: skip
    """200 gzip and 304, the server's output written to a file, as a log driver takes it,
    unbuffered as the image runs Python (PYTHONUNBUFFERED=1 in the Dockerfile)."""
    output = Path(tempfile.mkdtemp(prefix="feedsvc-bench-log-")) / "server.log"
    with server(command, port, {**env, "PYTHONUNBUFFERED": "1"}, output, cwd) as app:
        url = app + FEED_PATH
        tag = etag_of(url, GZIP)
        return [
            measure(f"{name}: 200 gzip", url, args, GZIP, "nginx static gzip"),
            measure(f"{name}: 304", url, args, {**GZIP, "If-None-Match": tag}, "nginx static 304"),
        ]


def nginx_rows(settings: Settings, args: argparse.Namespace, work: Path) -> list[Row]:
    port = free_port()
    with server(granian_command(), port, quiet(app_env(settings, port))) as app:
        root = work / "static" / "feeds"
        root.mkdir(parents=True)
        (root / "bench.atom").write_bytes(fetch(app + FEED_PATH, {}))
        (root / "bench.atom.gz").write_bytes(fetch(app + FEED_PATH, GZIP))
    static_port = free_port()
    conf = nginx_static_conf(work / "static", static_port, work)
    with server(["nginx", "-c", str(conf)], static_port, {**os.environ}) as static:
        url = static + FEED_PATH
        tag = etag_of(url, GZIP)
        return [
            measure("nginx static gzip", url, args, GZIP),
            measure("nginx static 304", url, args, {**GZIP, "If-None-Match": tag}),
        ]


def quiet(env: dict[str, str]) -> dict[str, str]:
    return {**env, "FEEDSVC_ACCESS_LOG": "0"}


def defaults(env: dict[str, str]) -> dict[str, str]:
    """The app's environment with the access log and the log level left at their defaults
    (at WARNING, granian's own access lines would be dropped before they are written)."""
    return {k: v for k, v in env.items() if k not in ("FEEDSVC_ACCESS_LOG", "FEEDSVC_LOG_LEVEL")}


def baseline_rows(ref: str, settings: Settings, args: argparse.Namespace) -> list[Row]:
    with worktree(ref) as folder:
        port = free_port()
        env = {**defaults(app_env(settings, port)), "PYTHONPATH": str(folder)}
        return app_pair(f"before ({ref}), defaults", granian_command(), port, env, args, folder)


def run(args: argparse.Namespace) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user
    rows: list[Row] = []
    with dataset(args.papers) as (settings, _store):
        rows += nginx_rows(settings, args, work)
        port = free_port()
        rows += app_pair("feedsvc-web, defaults (access log on)", granian_command(), port,
                         defaults(app_env(settings, port)), args)  # fmt: skip
        port = free_port()
        rows += app_pair("feedsvc-web, FEEDSVC_ACCESS_LOG=0", granian_command(), port,
                         quiet(app_env(settings, port)), args)  # fmt: skip
        port = free_port()
        metrics_dir = tempfile.mkdtemp(prefix="feedsvc-metrics-")
        env = {**defaults(app_env(settings, port)), "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        rows += app_pair("granian's own access log", granian_own_log_command(port),
                         port, env, args)  # fmt: skip
        if args.baseline:
            rows += baseline_rows(args.baseline, settings, args)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--baseline", help="a commit to measure side by side, e.g. 95f55e0")
    args = parser.parse_args()
    ensure_tools()
    rows = run(args)
    print(f"\n50-entry feed ({args.papers:,} papers stored), one server core, "
          f"wrk -c{args.connections} for {args.seconds}s\n")  # fmt: skip
    print_table(rows)


if __name__ == "__main__":
    main()
