"""gunicorn settings: gunicorn -c deploy/gunicorn.conf.py "feedsvc.app:create_app()".

feedsvc-web (granian) is the measured choice; this file keeps gunicorn a working option.
"""

import multiprocessing
import os
import tempfile

bind = os.environ.get("FEEDSVC_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FEEDSVC_WEB_WORKERS", multiprocessing.cpu_count()))
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
