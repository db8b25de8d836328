"""bench/serve.py's measurements: wrk against a running server, the first render in-process."""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import time
import urllib.request
from dataclasses import dataclass, replace

from bench.serve_data import FEED_PATH, TOPIC
from bench.serve_setup import LOAD_CORE
from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store


@dataclass
class Row:
    name: str
    requests_per_second: float
    p99_ms: float
    baseline: str = ""  # the nginx row this one is compared with


def wrk(
    url: str, seconds: int, connections: int, headers: dict[str, str], pinned: bool = True
) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) from wrk on the load core (or anywhere)."""
    pin = ["taskset", "-c", LOAD_CORE] if pinned else []
    command = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
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
