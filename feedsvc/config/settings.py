"""Settings from the environment, validated once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from feedsvc.config.topics import DEFAULT_TOPICS_FILE
from feedsvc.errors import ConfigError

DEFAULT_ARXIV_API_URL = "https://export.arxiv.org/api/query"
# USD per million tokens (input, output), standard tier, as published when this was written.
DEFAULT_PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


@dataclass(frozen=True)
class Settings:
    """Every setting of web and worker; build with `Settings.from_env()`."""

    redis_url: str = "redis://localhost:6379/0"
    redis_prefix: str = "feedsvc"
    topics_file: Path = DEFAULT_TOPICS_FILE
    arxiv_api_url: str = DEFAULT_ARXIV_API_URL
    arxiv_delay_seconds: float = 3.0
    arxiv_timeout_seconds: float = 30.0
    public_url: str = "http://localhost:8000"
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 60.0
    llm_max_retries: int = 2
    llm_response_format: str = "json_schema"
    llm_mode: str = "sync"
    llm_max_attempts: int = 5
    llm_retry_base_seconds: float = 60.0
    llm_concurrency: int = 8
    llm_rpm: int = 0
    llm_tpm: int = 0
    llm_daily_token_budget: int = 0
    llm_prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    fetch_interval_seconds: float = 3600.0
    feed_size: int = 50
    cache_max_age_seconds: int = 300
    version_check_seconds: float = 1.0
    publish_grace_seconds: float = 21600.0
    claim_idle_seconds: float = 600.0
    max_deliveries: int = 5
    shutdown_seconds: float = 30.0
    web_bind: str = "127.0.0.1:8000"
    web_workers: int = 0  # 0: one per CPU core
    access_log: bool = True
    log_level: str = "INFO"
    log_format: str = "text"
    stale_after_seconds: float = 2 * 3600.0 + 86400.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError naming the first bad one."""
        env = os.environ if environ is None else environ
        reader = _EnvReader(env)
        defaults = cls()
        interval = reader.number("FEEDSVC_FETCH_INTERVAL_SECONDS", 3600.0, minimum=60)
        return cls(
            redis_url=reader.text("REDIS_URL", defaults.redis_url, _check_redis_url),
            redis_prefix=reader.text("FEEDSVC_REDIS_PREFIX", defaults.redis_prefix, _check_prefix),
            topics_file=Path(reader.text("FEEDSVC_TOPICS_FILE", str(defaults.topics_file))),
            arxiv_api_url=reader.text("FEEDSVC_ARXIV_API_URL", defaults.arxiv_api_url, _check_url),
            arxiv_delay_seconds=reader.number("FEEDSVC_ARXIV_DELAY_SECONDS", 3.0, minimum=0),
            arxiv_timeout_seconds=reader.number("FEEDSVC_ARXIV_TIMEOUT_SECONDS", 30.0, minimum=1),
            public_url=reader.text("FEEDSVC_PUBLIC_URL", defaults.public_url, _check_url).rstrip(
                "/"
            ),
            openai_base_url=reader.optional("OPENAI_BASE_URL", _check_url),
            openai_api_key=reader.optional("OPENAI_API_KEY"),
            llm_model=reader.text("FEEDSVC_LLM_MODEL", defaults.llm_model),
            llm_timeout_seconds=reader.number("FEEDSVC_LLM_TIMEOUT_SECONDS", 60.0, minimum=1),
            llm_max_retries=reader.whole("FEEDSVC_LLM_MAX_RETRIES", 2, minimum=0),
            llm_response_format=reader.text(
                "FEEDSVC_LLM_RESPONSE_FORMAT", "json_schema", _one_of("json_schema", "json_object")
            ),
            llm_mode=reader.text("FEEDSVC_LLM_MODE", "sync", _one_of("sync", "batch")),
            llm_max_attempts=reader.whole("FEEDSVC_LLM_MAX_ATTEMPTS", 5, minimum=1),
            llm_retry_base_seconds=reader.number(
                "FEEDSVC_LLM_RETRY_BASE_SECONDS", 60.0, minimum=0.1
            ),
            llm_concurrency=reader.whole("FEEDSVC_LLM_CONCURRENCY", 8, minimum=1),
            llm_rpm=reader.whole("FEEDSVC_LLM_RPM", 0, minimum=0),
            llm_tpm=reader.whole("FEEDSVC_LLM_TPM", 0, minimum=0),
            llm_daily_token_budget=reader.whole("FEEDSVC_LLM_DAILY_TOKEN_BUDGET", 0, minimum=0),
            llm_prices=reader.prices("FEEDSVC_LLM_PRICES"),
            fetch_interval_seconds=interval,
            feed_size=reader.whole("FEEDSVC_FEED_SIZE", 50, minimum=1),
            cache_max_age_seconds=reader.whole("FEEDSVC_CACHE_MAX_AGE_SECONDS", 300, minimum=0),
            version_check_seconds=reader.number("FEEDSVC_VERSION_CHECK_SECONDS", 1.0, minimum=0),
            publish_grace_seconds=reader.number(
                "FEEDSVC_PUBLISH_GRACE_SECONDS", 21600.0, minimum=0
            ),
            claim_idle_seconds=reader.number("FEEDSVC_CLAIM_IDLE_SECONDS", 600.0, minimum=1),
            max_deliveries=reader.whole("FEEDSVC_MAX_DELIVERIES", 5, minimum=1),
            shutdown_seconds=reader.number("FEEDSVC_SHUTDOWN_SECONDS", 30.0, minimum=0),
            log_level=reader.text("FEEDSVC_LOG_LEVEL", defaults.log_level, _check_log_level),
            log_format=reader.text("FEEDSVC_LOG_FORMAT", "text", _one_of("text", "json")),
            stale_after_seconds=reader.number(
                "FEEDSVC_STALE_AFTER_SECONDS", 2 * interval + 86400, minimum=60
            ),
            web_bind=reader.text("FEEDSVC_BIND", defaults.web_bind, _check_bind),
            web_workers=reader.whole("FEEDSVC_WEB_WORKERS", 0, minimum=0),
            access_log=reader.text("FEEDSVC_ACCESS_LOG", "1", _one_of("0", "1")) == "1",
        )

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    def price_per_million(self, model: str) -> tuple[float, float] | None:
        """USD per million tokens in and out; '<model>@batch' usage costs half."""
        base, batch, _ = model.partition("@batch")
        price = self.llm_prices.get(base)
        if price is None or not batch:
            return price
        return price[0] / 2, price[1] / 2

    @property
    def web_host_port(self) -> tuple[str, int]:
        host, _, port = self.web_bind.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def redis_url_redacted(self) -> str:
        return redact_url(self.redis_url)


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def optional(self, name: str, check: Callable[[str], str] | None = None) -> str | None:
        raw = self.env.get(name, "").strip()
        if not raw:
            return None
        return _checked(name, raw, check) if check else raw

    def text(self, name: str, default: str, check: Callable[[str], str] | None = None) -> str:
        raw = self.env.get(name, "").strip() or default
        return _checked(name, raw, check) if check else raw

    def whole(self, name: str, default: int, minimum: int) -> int:
        return int(self.number(name, default, minimum, whole=True))

    def prices(self, name: str) -> dict[str, tuple[float, float]]:
        """'model=in:out,...' in USD per million tokens, over the defaults."""
        prices = dict(DEFAULT_PRICES)
        raw = self.env.get(name, "").strip()
        for item in filter(None, (part.strip() for part in raw.split(","))):
            model, _, pair = item.partition("=")
            try:
                tokens_in, tokens_out = (float(x) for x in pair.split(":"))
            except ValueError:
                raise ConfigError(
                    f"{name}: {item!r} is not model=input:output (USD per million tokens)"
                ) from None
            prices[model.strip()] = (tokens_in, tokens_out)
        return prices

    def number(self, name: str, default: float, minimum: float, whole: bool = False) -> float:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(f"{name}={raw!r} is not {kind}") from None
        if value < minimum:
            raise ConfigError(f"{name}={raw!r} must be at least {minimum:g}")
        return value


def _checked(name: str, raw: str, check: Callable[[str], str]) -> str:
    try:
        return check(raw)
    except ValueError as exc:
        shown = redact_url(raw) if "://" in raw else raw
        raise ConfigError(f"{name}={shown!r}: {exc}") from None


def _check_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return raw


def _check_redis_url(raw: str) -> str:
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("must start with redis://, rediss:// or unix://")
    return raw


def _check_prefix(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", raw):
        raise ValueError("may hold only letters, digits, '_', '.' and '-'")
    return raw


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return raw

    return check


def _check_bind(raw: str) -> str:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, such as 127.0.0.1:8000")
    return raw


def _check_log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def redact_url(url: str) -> str:
    """The URL with any password replaced by '***', safe for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
