"""gunicorn settings: gunicorn -c deploy/gunicorn.conf.py "feedsvc.app:create_app()".

feedsvc-web (granian) is the measured choice; this file keeps gunicorn a working option.
"""

import multiprocessing
import os
import tempfile

from feedsvc.config import Settings
from feedsvc.errors import ConfigError

# The same FEEDSVC_BIND and FEEDSVC_WEB_WORKERS as feedsvc-web, read and checked once.
try:
    settings = Settings.from_env()
except ConfigError as exc:
    raise SystemExit(f"feedsvc: {exc}") from None
bind = settings.web_bind
workers = settings.web_workers or multiprocessing.cpu_count()
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 20
accesslog = "-"
errorlog = "-"

# /metrics sums the request metrics of every worker through this folder (prometheus-client).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="feedsvc-metrics-"))


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from feedsvc.web.metrics import forget_process  # noqa: PLC0415 -- only after the env var is set

    forget_process(worker.pid)
