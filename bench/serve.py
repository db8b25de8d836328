"""Serving cost: nginx static files against the app, side by side, one server core each.

    .venv/bin/python -m bench.serve [--seconds 5] [--connections 32] [--papers 1000 100000]
                                    [--baseline REF]

Each server runs pinned to core 0 (taskset), wrk on core 1. Rows: nginx serving the same
feed bytes as static files (plain, gzip, 304), the app under gunicorn (the shipped config,
one sync worker... as shipped) and under granian, the app behind the shipped nginx
configuration (deploy/nginx.conf), the app's first render (in-process: a version bump
before every render), and the app's 200 and 304 with 1,000 and 100,000 papers stored: for
the feed, and for its topic page, the index and a filtered feed, each against the feed's 200.
nginx and wrk come from Debian packages, installed when missing (needs root).
Redis: FEEDSVC_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), under a prefix of its
own, deleted afterwards.

This module runs the rows and prints the table; bench/serve_data.py writes the papers,
bench/serve_setup.py installs the tools and starts the servers, bench/serve_measure.py
measures them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.serve_data import FEED_PATH, FILTERED_PATH, PAGE_PATH, dataset
from bench.serve_measure import GZIP, Row, etag_of, fetch, first_render, measure
from bench.serve_setup import (
    app_env,
    ensure_tools,
    granian_command,
    gunicorn_command,
    nginx_static_conf,
    server,
    worktree,
)
from feedsvc.config import Settings
from feedsvc.process.localredis import free_port
from feedsvc.store import Store
from tests.servers.nginx import nginx_proxy_conf


def run_all(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user
    with dataset(args.papers[0]) as (settings, store):
        rows += static_and_app_rows(settings, store, work, args, label=f"{args.papers[0]:,}")
        rows.append(first_render(settings, store))
        if args.baseline:
            rows += baseline_page_rows(args.baseline, settings, args)
    for count in args.papers[1:]:
        with dataset(count) as (settings, store):
            rows += app_rows(settings, args, f"{count:,}")
    return rows


def static_and_app_rows(
    settings: Settings, store: Store, work: Path, args: argparse.Namespace, label: str
) -> list[Row]:
    rows = []
    app_port = free_port()
    with server(granian_command(), app_port, app_env(settings, app_port)) as app:
        root = work / "static" / "feeds"
        root.mkdir(parents=True)
        (root / "bench.atom").write_bytes(fetch(app + FEED_PATH, {}))
        (root / "bench.atom.gz").write_bytes(fetch(app + FEED_PATH, GZIP))
        static_port = free_port()
        static_conf = nginx_static_conf(work / "static", static_port, work)
        with server(["nginx", "-c", str(static_conf)], static_port, {**os.environ}) as static:
            url = static + FEED_PATH
            rows.append(measure("nginx static", url, args, {}))
            rows.append(measure("nginx static gzip", url, args, GZIP))
            tag = etag_of(url, GZIP)
            rows.append(measure("nginx static 304", url, args, {**GZIP, "If-None-Match": tag}))
        proxy_port = free_port()
        proxy_conf = nginx_proxy_conf([app_port], proxy_port, work)
        with server(["nginx", "-c", str(proxy_conf)], proxy_port, {**os.environ}) as proxy:
            fetch(proxy + FEED_PATH, GZIP)  # fill the cache
            rows.append(measure("app behind deploy/nginx.conf (gzip)", proxy + FEED_PATH, args,
                                GZIP, "nginx static gzip"))  # fmt: skip
    rows += app_rows(settings, args, label)
    rows += app_rows(settings, args, label, server_name="gunicorn sync")
    return rows


def app_rows(
    settings: Settings, args: argparse.Namespace, label: str, server_name: str = "granian"
) -> list[Row]:
    """The app's 200 (gzip) and 304 under one WSGI server, for the feed and its topic page."""
    command = granian_command() if server_name == "granian" else gunicorn_command()
    port = free_port()
    with server(command, port, app_env(settings, port)) as app:
        feed = f"app 200 gzip, {server_name} ({label} papers)"
        fetch(app + FEED_PATH, GZIP)  # every row measures a rendering already made
        rows = [
            measure(feed, app + FEED_PATH, args, GZIP, "nginx static gzip"),
            measure(f"app 304, {server_name} ({label} papers)", app + FEED_PATH, args,
                    {**GZIP, "If-None-Match": etag_of(app + FEED_PATH, GZIP)}, "nginx static 304"),
        ]  # fmt: skip
        pages = (("topic page", PAGE_PATH), ("index", "/"), ("filtered feed", FILTERED_PATH))
        for name, path in pages:
            url = app + path
            fetch(url, GZIP)  # rendered once before it is measured
            rows.append(measure(f"  {name} 200 gzip", url, args, GZIP, feed))
            rows.append(measure(f"  {name} 304", url, args,
                                {**GZIP, "If-None-Match": etag_of(url, GZIP)}, feed))  # fmt: skip
        return rows


def baseline_page_rows(ref: str, settings: Settings, args: argparse.Namespace) -> list[Row]:
    """The topic page and the index as the commit `ref` serves them, on the same data."""
    with worktree(ref) as folder:
        port = free_port()
        env = {**app_env(settings, port), "PYTHONPATH": str(folder)}
        with server(granian_command(), port, env, cwd=folder) as app:
            feed = f"before ({ref}): feed 200 gzip"
            rows = [measure(feed, app + FEED_PATH, args, GZIP, "nginx static gzip")]
            for name, path in (("topic page", PAGE_PATH), ("index", "/")):
                rows.append(measure(f"  before ({ref}): {name} 200 gzip", app + path, args,
                                    GZIP, feed))  # fmt: skip
            return rows


def print_table(rows: list[Row]) -> None:
    rates = {row.name: row.requests_per_second for row in rows}
    print(f"{'':<48} {'req/s':>9} {'p99 ms':>8}  vs nginx static")
    for row in rows:
        ratio = ""
        if row.baseline in rates:
            ratio = f"{row.requests_per_second / rates[row.baseline]:>6.1%} of {row.baseline}"
        print(f"{row.name:<48} {row.requests_per_second:>9.0f} {row.p99_ms:>8.2f}  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--papers", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--baseline", help="a commit whose pages to measure side by side")
    args = parser.parse_args()
    ensure_tools()
    rows = run_all(args)
    print(f"\n50-entry feed, one server core, wrk -c{args.connections} for {args.seconds}s\n")
    print_table(rows)


if __name__ == "__main__":
    main()
