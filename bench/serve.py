"""Serving cost: nginx static files against the app, side by side, one server core each.

    .venv/bin/python -m bench.serve [--seconds 5] [--connections 32] [--papers 1000 100000]

Each server runs pinned to core 0 (taskset), wrk on core 1. Rows: nginx serving the same
feed bytes as static files (plain, gzip, 304), the app under gunicorn (the shipped config,
one sync worker... as shipped) and under granian, the app behind the shipped nginx
configuration (deploy/nginx.conf), the app's first render (in-process: a version bump
before every render), and the app's 200 and 304 with 1,000 and 100,000 papers stored.
nginx and wrk come from Debian packages, installed when missing (needs root).
Redis: FEEDSVC_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), under a prefix of its
own, deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from feedsvc.app import create_app
from feedsvc.config import Settings, Topic
from feedsvc.keys import Keys
from feedsvc.models import Paper
from feedsvc.process.localredis import free_port
from feedsvc.store import Db, Store
from worker.enrich import ExtractiveEnricher

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("FEEDSVC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TOPIC = Topic("bench", "Benchmark topic", "all:bench", ("en",), 50)
FEED_PATH = "/feeds/bench.atom"
SERVER_CORE, LOAD_CORE = "0", "1"


@dataclass
class Row:
    name: str
    requests_per_second: float
    p99_ms: float
    baseline: str = ""  # the nginx row this one is compared with


# -- data ---------------------------------------------------------------------


def abstract(n: int) -> str:
    return (
        f"We study problem {n} in contrastive learning. Our method learns from unlabeled "
        "images and needs no negative pairs. It reaches strong accuracy on ImageNet with a "
        "linear probe. Training takes half the time of prior methods. We release code."
    )


@contextlib.contextmanager
def dataset(papers: int) -> Iterator[tuple[Settings, Store]]:
    """`papers` enriched papers in one topic under a fresh prefix, deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = f"feedsvc-bench-{uuid.uuid4().hex[:8]}"
    store = Store(Db(client), Keys(prefix))
    topics_file = Path(tempfile.mkdtemp()) / "topics.toml"
    topics_file.write_text(
        f'[topics.bench]\ntitle = "{TOPIC.title}"\nquery = "{TOPIC.query}"\nlanguages = ["en"]\n'
    )
    settings = replace(
        Settings(), redis_url=REDIS_URL, redis_prefix=prefix, topics_file=topics_file
    )
    try:
        fill(store, papers)
        yield settings, store
    finally:
        pattern = store.keys.all_keys_pattern()
        for batch in _batches(list(client.scan_iter(pattern, count=5000)), 5000):
            client.delete(*batch)
        store.db.close()
        client.close()


def fill(store: Store, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    template = Paper("0000.00000", 1, "t", abstract(0), ("A. Author", "B. Author"), start, start)
    enrichment = ExtractiveEnricher().enrich(template, "en")
    for batch in _batches(list(range(count)), 2000):
        papers = [bench_paper(template, n, start) for n in batch]
        store.papers.save_papers(TOPIC, papers)
        pipe = store.db.client.pipeline(transaction=False)
        for paper in papers:
            fields = replace(enrichment, source_hash=paper.source_hash).to_redis()
            pipe.hset(store.keys.enrichment(paper.id, "en"), mapping=fields)
        pipe.execute()
    store.db.client.incr(store.keys.feed_version(TOPIC.slug, "en"))


def bench_paper(template: Paper, n: int, start: datetime) -> Paper:
    paper_id = f"9{n:04d}.{n:05d}"
    return replace(
        template,
        id=paper_id,
        title=f"Paper {n}: contrastive learning",
        abstract=abstract(n),
        updated=start + timedelta(minutes=n),
        first_seen=start,
        pdf_url=f"https://arxiv.org/pdf/{paper_id}v1",
    )


def _batches(items: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- servers ------------------------------------------------------------------


@contextlib.contextmanager
def server(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    """A server process pinned to the server core, until it answers /healthz."""
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *command],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz", process)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.args!r}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def app_env(settings: Settings, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "FEEDSVC_REDIS_PREFIX": settings.redis_prefix,
        "FEEDSVC_TOPICS_FILE": str(settings.topics_file),
        "FEEDSVC_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FEEDSVC_LOG_LEVEL": "WARNING",
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_WEB_WORKERS": "1",
        "FEEDSVC_ACCESS_LOG": "0",
    }


def gunicorn_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", str(REPO / "deploy/gunicorn.conf.py"),
            "--workers", "1", "--worker-class", "sync", "--access-logfile", "/dev/null",
            "feedsvc.app:create_app()"]  # fmt: skip


def granian_command() -> list[str]:
    return [sys.executable, "-m", "feedsvc.web.serve"]


def nginx_static_conf(root: Path, port: int, work: Path) -> Path:
    conf = work / "static.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {work}/static.pid; error_log {work}/static-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off; sendfile on; tcp_nopush on; etag on; gzip_static on;
  types {{ application/atom+xml atom; }}
  server {{ listen 127.0.0.1:{port}; root {root};
    location = /healthz {{ return 200 "ok"; }}
  }}
}}
""")
    return conf


def nginx_proxy_conf(app_port: int, port: int, work: Path) -> Path:
    """The shipped deploy/nginx.conf with this run's ports and cache folder."""
    shipped = (REPO / "deploy/nginx.conf").read_text()
    site = (
        shipped.replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace("/var/cache/nginx/feedsvc", str(work / "cache"))
    )
    (work / "site.conf").write_text(site)
    conf = work / "proxy.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {work}/proxy.pid; error_log {work}/proxy-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; sendfile on; include {work}/site.conf; }}
""")
    return conf


# -- load ---------------------------------------------------------------------


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) from wrk on the load core."""
    command = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
               "--latency"]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    assert p99 is not None, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"errors from {url}:\n{output}")
    return rate, float(p99.group(1)) * scale


def etag_of(url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.headers["ETag"])


def fetch(url: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return bytes(response.read())


GZIP = {"Accept-Encoding": "gzip"}


def measure(name: str, url: str, args: argparse.Namespace, headers: dict[str, str],
            baseline: str = "") -> Row:  # fmt: skip
    rate, p99 = wrk(url, args.seconds, args.connections, headers)
    return Row(name, rate, p99, baseline)


def first_render(settings: Settings, store: Store, samples: int = 200) -> Row:
    """The cache-miss path in-process: bump the version, then serve (render + gzip)."""
    client = create_app(replace(settings, version_check_seconds=0), store).test_client()
    times = []
    for _ in range(samples):
        store.db.client.incr(store.keys.feed_version(TOPIC.slug, "en"))
        started = time.perf_counter()
        response = client.get(FEED_PATH, headers=GZIP)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    p99 = statistics.quantiles(times, n=100)[98] * 1000
    return Row("app first render (in-process)", 1 / statistics.mean(times), p99)


# -- the run ------------------------------------------------------------------


def ensure_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"installing {' '.join(missing)} from Debian packages ...", file=sys.stderr)
        packages = [{"taskset": "util-linux"}.get(tool, tool) for tool in missing]
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True)


def run_all(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user
    with dataset(args.papers[0]) as (settings, store):
        rows += static_and_app_rows(settings, store, work, args, label=f"{args.papers[0]:,}")
        rows.append(first_render(settings, store))
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
        proxy_conf = nginx_proxy_conf(app_port, proxy_port, work)
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
    """The app's 200 (gzip) and 304 under one WSGI server."""
    command = granian_command() if server_name == "granian" else gunicorn_command()
    port = free_port()
    with server(command, port, app_env(settings, port)) as app:
        url = app + FEED_PATH
        tag = etag_of(url, GZIP)
        return [
            measure(f"app 200 gzip, {server_name} ({label} papers)", url, args, GZIP,
                    "nginx static gzip"),
            measure(f"app 304, {server_name} ({label} papers)", url, args,
                    {**GZIP, "If-None-Match": tag}, "nginx static 304"),
        ]  # fmt: skip


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
    args = parser.parse_args()
    ensure_tools()
    rows = run_all(args)
    print(f"\n50-entry feed, one server core, wrk -c{args.connections} for {args.seconds}s\n")
    print_table(rows)


if __name__ == "__main__":
    main()
