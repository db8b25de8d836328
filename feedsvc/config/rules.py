"""What a text setting must look like, said once for the README and once for the error."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Rule:
    """A test of a text value, what passes it (README, Markdown) and what fails (the error)."""

    accepts: str
    holds: Callable[[str], bool]
    problem: str


def one_of(*choices: str) -> Rule:
    shown = [f"`{choice}`" for choice in choices]
    return Rule(
        accepts=f"{', '.join(shown[:-1])} or {shown[-1]}",
        holds=lambda value: value in choices,
        problem=f"must be one of {', '.join(choices)}",
    )


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _is_host_port(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


AN_HTTP_URL = Rule(
    accepts="`http://` or `https://` URL",
    holds=_is_http_url,
    problem="must be an http:// or https:// URL",
)
REDIS_SCHEMES = {"redis", "rediss", "unix"}
CLUSTER_SCHEMES = {"redis+cluster", "rediss+cluster"}
A_REDIS_URL = Rule(
    accepts="`redis://`, `rediss://` or `unix://` URL; `redis+cluster://host:port` (or "
    "`rediss+cluster://`) names any node of a Redis Cluster",
    holds=lambda value: urlsplit(value).scheme in REDIS_SCHEMES | CLUSTER_SCHEMES,
    problem="must start with redis://, rediss://, unix://, redis+cluster:// or rediss+cluster://",
)
A_KEY_PREFIX = Rule(
    accepts="letters, digits, `_`, `.` and `-`",
    holds=lambda value: re.fullmatch(r"[A-Za-z0-9_.-]+", value) is not None,
    problem="may hold only letters, digits, '_', '.' and '-'",
)
A_HOST_PORT = Rule(
    accepts="`host:port`",
    holds=_is_host_port,
    problem="must be host:port, such as 127.0.0.1:8000",
)
A_LOG_LEVEL = Rule(
    accepts="`DEBUG`, `INFO`, `WARNING` or `ERROR` (any case)",
    holds=lambda value: value in LOG_LEVELS,
    problem="must be DEBUG, INFO, WARNING or ERROR",
)


def redact_url(url: str) -> str:
    """The URL with any password replaced by '***', safe for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
