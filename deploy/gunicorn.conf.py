"""gunicorn settings: gunicorn -c deploy/gunicorn.conf.py "feedsvc.app:create_app()"."""

import multiprocessing
import os

bind = os.environ.get("FEEDSVC_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FEEDSVC_WEB_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
