"""feedsvc-up: Redis (found or started), the worker and the web service, in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError
from feedsvc.process.localredis import RedisUnavailable, local_port, start_private_redis
from feedsvc.store import answers

DATA_DIR = Path(".feedsvc") / "redis"


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, wait until one part stops or a signal arrives, stop the rest."""
    try:
        settings = Settings.from_env()
        load_topics(settings.topics_file)
        redis_process = ensure_redis(settings)
    except (ConfigError, RedisUnavailable) as exc:
        print(f"feedsvc-up: {exc}", file=sys.stderr)
        return 2
    children = [p for p in (redis_process,) if p is not None]
    children.append(_spawn([sys.executable, "-m", "worker", "run"]))
    children.append(_spawn(web_command()))
    print(f"feedsvc-up: serving on {settings.public_url}/ (Ctrl-C stops)", flush=True)
    return supervise(children)


def ensure_redis(settings: Settings) -> subprocess.Popen[bytes] | None:
    """None when REDIS_URL answers; else a private redis-server on its port, data kept."""
    if answers(settings.redis_url):
        return None
    port = local_port(settings.redis_url)
    if port is None:
        raise RedisUnavailable(f"no Redis answers at {settings.redis_url_redacted}")
    print(f"feedsvc-up: starting a private redis-server on port {port}, data in {DATA_DIR}/")
    return start_private_redis(port, DATA_DIR, persistent=True)


def web_command() -> list[str]:
    return [sys.executable, "-m", "feedsvc.web.serve"]


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=os.environ.copy())


def supervise(children: list[subprocess.Popen[bytes]]) -> int:
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    code = 0
    while not stopping:
        exited = [p for p in children if p.poll() is not None]
        if exited:
            code = exited[0].returncode or 1
            break
        time.sleep(0.2)
    for process in reversed(children):
        stop_process(process)
    return code


def stop_process(process: subprocess.Popen[bytes], timeout_seconds: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_seconds`; always reaped."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    raise SystemExit(main())
