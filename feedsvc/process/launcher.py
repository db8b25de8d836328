"""feedsvc-up: Redis (found or started), the worker and the web service, in one command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError
from feedsvc.process.children import Children, stop_process
from feedsvc.process.envfile import ENV_FILE, load_env_file
from feedsvc.process.localredis import RedisUnavailable, local_port, start_private_redis
from feedsvc.process.ports import check_port_free
from feedsvc.store import answers

__all__ = ["ensure_redis", "main", "stop_process", "web_command"]

DATA_DIR = Path(".feedsvc") / "redis"
# From SIGTERM to SIGKILL: a worker may take FEEDSVC_SHUTDOWN_SECONDS to hand its work back;
# Redis and the web service stop in a moment, unless a granian worker hangs while starting.
STOP_SECONDS = 10.0


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, wait until one part stops or a signal arrives, stop the rest."""
    children = Children()
    children.catch_signals()
    try:
        from_file = load_env_file(ENV_FILE)
        if from_file:
            print(f"feedsvc-up: from {ENV_FILE}: {', '.join(from_file)}", flush=True)
        settings = Settings.from_env()
        load_topics(settings.topics_file)
        check_port_free(*settings.web_host_port)
        redis_process = ensure_redis(settings)
    except (ConfigError, RedisUnavailable) as exc:
        print(f"feedsvc-up: {exc}", file=sys.stderr)
        return 2
    if redis_process is not None:
        children.adopt(redis_process, STOP_SECONDS)
    children.spawn(
        [sys.executable, "-m", "worker", "run"], settings.shutdown_seconds + STOP_SECONDS
    )
    children.spawn(web_command(), STOP_SECONDS)
    print(f"feedsvc-up: serving on {settings.public_url}/ (Ctrl-C stops)", flush=True)
    return children.watch()


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


if __name__ == "__main__":
    raise SystemExit(main())
