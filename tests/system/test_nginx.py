"""The shipped deploy/nginx.conf as a deployment: two web processes (as if on two hosts)
behind nginx's cache, both sharing one Redis.

Every web process serves the same bytes and ETag for one feed version, so nginx may ask any
of them, revalidate with either, and keep serving when one is gone.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message
from pathlib import Path

import pytest

from feedsvc.config import Settings
from feedsvc.process.localredis import free_port
from feedsvc.store import Store
from tests.servers.nginx import nginx_missing, nginx_proxy_conf, start_nginx
from tests.system.test_processes import environment, poll
from tests.web.test_web import paper, publish

FEED = "/feeds/testing.en.atom"


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """Status, headers (any case: granian sends them in lower case) and body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextlib.contextmanager
def web_process(settings: Settings, port: int, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`feedsvc-web` (granian, one worker) on `port`, until it is stopped."""
    env = environment(settings, FEEDSVC_BIND=f"127.0.0.1:{port}", FEEDSVC_WEB_WORKERS="1")
    with subprocess.Popen(
        [sys.executable, "-m", "feedsvc.web.serve"], env=env, cwd=cwd,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as web:  # fmt: skip
        try:
            poll(f"http://127.0.0.1:{port}/healthz", "ok")
            yield web
        finally:
            web.terminate()
            web.wait(timeout=20)


@pytest.fixture
def deployment(
    settings: Settings, store: Store, tmp_path: Path
) -> Iterator[tuple[str, list[str], list[subprocess.Popen[bytes]]]]:
    """nginx's URL, the two web processes' URLs and the processes."""
    if (why := nginx_missing()) is not None:
        pytest.skip(why)
    settings = replace(settings, publish_grace_seconds=0, cache_max_age_seconds=60)
    publish(store, settings, [paper(1), paper(2)])
    ports, nginx_port = [free_port(), free_port()], free_port()
    with contextlib.ExitStack() as stack:
        webs = [stack.enter_context(web_process(settings, port, tmp_path)) for port in ports]
        nginx = start_nginx(nginx_proxy_conf(ports, nginx_port, tmp_path))
        stack.callback(nginx.wait, 10)
        stack.callback(nginx.terminate)
        poll(f"http://127.0.0.1:{nginx_port}/healthz", "ok")
        yield f"http://127.0.0.1:{nginx_port}", [f"http://127.0.0.1:{p}" for p in ports], webs


def test_both_web_processes_serve_one_feed_version_with_the_same_bytes_and_etag(
    deployment: tuple[str, list[str], list[subprocess.Popen[bytes]]],
) -> None:
    _, webs, _ = deployment
    answers = [fetch(web + FEED, {"Accept-Encoding": "gzip"}) for web in webs]
    (status_a, headers_a, body_a), (status_b, headers_b, body_b) = answers
    assert status_a == status_b == 200
    assert body_a == body_b and headers_a["ETag"] == headers_b["ETag"]
    assert headers_a["Surrogate-Key"] == "topic-testing topic-testing-en"
    assert "s-maxage=60" in headers_a["Cache-Control"]
    revalidated = fetch(webs[1] + FEED, {"If-None-Match": headers_a["ETag"],
                                         "Accept-Encoding": "gzip"})  # fmt: skip
    assert revalidated[0] == 304, "the other host's ETag revalidates here"


def test_nginx_caches_the_feed_and_serves_it_while_a_web_process_is_gone(
    deployment: tuple[str, list[str], list[subprocess.Popen[bytes]]],
) -> None:
    proxy, _, webs = deployment
    first = fetch(proxy + FEED, {"Accept-Encoding": "gzip"})
    second = fetch(proxy + FEED, {"Accept-Encoding": "gzip"})
    assert first[0] == second[0] == 200 and first[2] == second[2]
    assert (first[1]["X-Cache-Status"], second[1]["X-Cache-Status"]) == ("MISS", "HIT")
    revalidated = fetch(
        proxy + FEED, {"If-None-Match": first[1]["ETag"], "Accept-Encoding": "gzip"}
    )
    assert revalidated[0] == 304
    webs[0].terminate()
    webs[0].wait(timeout=20)
    for path in ["/", "/topics/testing", "/feeds/testing.zh.atom"]:  # not cached yet: the
        assert fetch(proxy + path)[0] == 200, path  # live process answers each
    webs[1].terminate()
    webs[1].wait(timeout=20)
    stale = fetch(proxy + FEED, {"Accept-Encoding": "gzip"})
    assert stale[0] == 200 and stale[2] == first[2], "nginx keeps serving its copy"
