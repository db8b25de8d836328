"""feedsvc-web: the production web server, granian running the WSGI app.

Why granian and not gunicorn: measured by bench/serve.py (README, "Production serving").
Settings: FEEDSVC_BIND (default 127.0.0.1:8000), FEEDSVC_WEB_WORKERS (default: one per
CPU core), FEEDSVC_ACCESS_LOG (default 1: one line per request on stdout, written in batches
four times a second by feedsvc.web.accesslog, not by granian, which writes each itself).
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
from feedsvc.process.ports import check_port_free
from feedsvc.web.app import create_app
from feedsvc.web.fastpath import WSGIApp


def main(argv: Sequence[str] | None = None) -> int:
    """Check the settings once, then serve `feedsvc.app:create_app()` until SIGTERM."""
    try:
        settings = Settings.from_env()
        load_topics(settings.topics_file)
        check_port_free(*settings.web_host_port)
    except ConfigError as exc:
        print(f"feedsvc-web: {exc}", file=sys.stderr)
        return 2
    # Request metrics of every worker process, summed at /metrics (prometheus-client).
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="feedsvc-metrics-"))
    host, port = settings.web_host_port
    Granian(
        "feedsvc.web.serve:served_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=settings.web_workers or os.cpu_count() or 1,
        log_access=False,  # a Python logging call per request: see served_app
        respawn_failed_workers=True,
    ).serve()
    return 0


def served_app() -> WSGIApp:
    """The app each granian worker serves: with FEEDSVC_ACCESS_LOG (the default), its lines
    written off the hot path (feedsvc.web.accesslog)."""
    return create_app(access_log=True)


if __name__ == "__main__":
    raise SystemExit(main())
