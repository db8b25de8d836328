"""Redis hung, not down: a server that takes the connection and never answers.

The web answers 503 with Retry-After within about a second, and /healthz never waits.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.keys import Keys
from feedsvc.process.localredis import free_port, start_private_redis
from feedsvc.store import Db, Store, connect
from tests.web.test_web import paper, publish

LATENCY_BOUND_SECONDS = 1.5
REDIS_ROUTES = ("/feeds/testing.atom", "/feeds/testing.en.rss?page=2", "/", "/topics/testing",
                "/readyz", "/readyz?verbose=1", "/metrics")  # fmt: skip


class SilentServer:
    """A TCP listener on loopback that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def web_client(settings: Settings, redis_url: str) -> FlaskClient:
    """The app as it runs: its own connection to `redis_url`, with the web's timeouts."""
    offline = replace(settings, redis_url=redis_url, openai_base_url=None, openai_api_key=None)
    return create_app(offline).test_client()


def timed_get(client: FlaskClient, path: str) -> tuple[int, str | None, float]:
    started = time.monotonic()
    response = client.get(path)
    return response.status_code, response.headers.get("Retry-After"), time.monotonic() - started


@pytest.mark.parametrize("path", REDIS_ROUTES)
def test_a_silent_redis_is_a_quick_503(settings: Settings, silent: SilentServer, path: str) -> None:
    client = web_client(settings, f"redis://127.0.0.1:{silent.port}/0")
    status, retry_after, seconds = timed_get(client, path)
    assert (status, retry_after) == (503, "30")
    assert seconds < LATENCY_BOUND_SECONDS, f"{path} took {seconds:.2f}s"


def test_healthz_never_touches_redis(settings: Settings, silent: SilentServer) -> None:
    client = web_client(settings, f"redis://127.0.0.1:{silent.port}/0")
    status, _, seconds = timed_get(client, "/healthz")
    assert status == 200 and seconds < 0.2
    time.sleep(0.05)
    assert silent.accepted == []  # not even a connection


@pytest.fixture
def stoppable_redis(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A private redis-server to SIGSTOP: its URL and its pid."""
    port = free_port()
    process = start_private_redis(port, tmp_path / "redis", persistent=False)
    yield f"redis://127.0.0.1:{port}/0", process.pid
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    process.wait(timeout=10)


def test_a_cached_feed_is_a_quick_503_when_redis_stops(
    settings: Settings, stoppable_redis: tuple[str, int]
) -> None:
    url, pid = stoppable_redis
    publish(Store(Db.from_url(url), Keys(settings.redis_prefix)), settings, [paper(1)])
    client = web_client(settings, url)
    assert client.get("/feeds/testing.atom").status_code == 200  # rendered, in memory
    os.kill(pid, signal.SIGSTOP)
    status, retry_after, seconds = timed_get(client, "/feeds/testing.atom")  # the fast path
    assert (status, retry_after) == (503, "30")
    assert seconds < LATENCY_BOUND_SECONDS, f"took {seconds:.2f}s"
    os.kill(pid, signal.SIGCONT)
    assert client.get("/feeds/testing.atom").status_code == 200  # and back when Redis is


def test_only_the_web_waits_less_the_worker_keeps_its_timeout(settings: Settings) -> None:
    def timeouts(store: Store) -> tuple[float, float]:
        kwargs = store.db.client.connection_pool.connection_kwargs
        return kwargs["socket_timeout"], kwargs["socket_connect_timeout"]

    assert timeouts(connect(settings)) == (5.0, 5.0)  # what the worker connects with
    assert timeouts(create_app(settings).extensions["feedsvc"].store) == (1.0, 1.0)
