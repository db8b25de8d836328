"""Logging set-up shared by web and worker: one line per event, to stdout.

FEEDSVC_LOG_FORMAT=json gives one JSON object per line, with the ids a line is about
(`topic`, `paper`, `language`, `attempt`) as fields of their own when the caller passes
them with `extra=ids(...)`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ID_FIELDS = ("topic", "paper", "language", "attempt", "batch")


def ids(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: the ids the line is about."""
    return {k: v for k, v in values.items() if v is not None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ID_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """Log lines at `level` and above to `stream` (stdout, where containers collect them)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "httpx2", "urllib3", "arxiv", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
