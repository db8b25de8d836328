"""Logging set-up shared by web and worker: one line per event, to stdout."""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stdout, force=True)
    for noisy in ("httpx", "httpx2", "urllib3", "arxiv", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
