"""feedsvc-web: the production web server, granian running the WSGI app.

Why granian and not gunicorn: measured by bench/serve.py (README, "Production serving").
Settings: FEEDSVC_BIND (default 127.0.0.1:8000), FEEDSVC_WEB_WORKERS (default: one per
CPU core), FEEDSVC_ACCESS_LOG (default 1: one line per request on stdout).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence

from granian import Granian
from granian.constants import Interfaces

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    """Check the settings once, then serve `feedsvc.app:create_app()` until SIGTERM."""
    try:
        Settings.from_env()
        load_topics(Settings.from_env().topics_file)
        host, port = parse_bind(os.environ.get("FEEDSVC_BIND", "127.0.0.1:8000"))
        workers = whole_number("FEEDSVC_WEB_WORKERS", os.cpu_count() or 1)
    except ConfigError as exc:
        print(f"feedsvc-web: {exc}", file=sys.stderr)
        return 2
    # Request metrics of every worker process, summed at /metrics (prometheus-client).
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="feedsvc-metrics-"))
    Granian(
        "feedsvc.app:create_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=workers,
        log_access=os.environ.get("FEEDSVC_ACCESS_LOG", "1") != "0",
        respawn_failed_workers=True,
    ).serve()
    return 0


def parse_bind(raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"FEEDSVC_BIND={raw!r} is not host:port")
    return host.strip("[]"), int(port)


def whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r} is not a whole number of at least 1")
    return int(raw)


if __name__ == "__main__":
    raise SystemExit(main())
