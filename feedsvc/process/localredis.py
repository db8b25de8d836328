"""Find a Redis that answers, or start a private redis-server when none does."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from feedsvc.store import answers

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
START_TIMEOUT_SECONDS = 10.0


class RedisUnavailable(Exception):
    """No Redis answers and none can be started here; the message says what to do."""


def start_private_redis(port: int, data_dir: Path, persistent: bool) -> subprocess.Popen[bytes]:
    """A redis-server child on 127.0.0.1:`port` keeping its files in `data_dir`."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable(
            "no Redis answers and redis-server is not installed: install it "
            "(apt-get install redis-server, brew install redis) or set REDIS_URL"
        )
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    durability = ["--appendonly", "yes", "--appendfsync", "everysec"] if persistent else []
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir)]
    args += ["--save", "", *durability, "--logfile", str(data_dir / "redis.log")]
    # A group of its own: a terminal's Ctrl-C must not stop Redis before the worker is done.
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
    )
    _wait_until_answering(f"redis://127.0.0.1:{port}/0", process)
    return process


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisUnavailable(f"redis-server exited with code {process.returncode}")
        if answers(url):
            return
        time.sleep(0.05)
    process.terminate()
    raise RedisUnavailable(f"redis-server did not answer at {url} within {START_TIMEOUT_SECONDS}s")


def local_port(url: str) -> int | None:
    """The port of a redis:// URL on this machine, or None for a remote or socket URL."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in LOCAL_HOSTS:
        return None
    return parts.port or 6379


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` now."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
