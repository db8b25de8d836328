"""Settings from the environment, each declared once: variable, default, bounds and meaning.

The body of `Settings` is the settings table. It drives reading the environment
(`Settings.from_env`), validation of every instance (also `dataclasses.replace` copies), the
README's table (`settings_markdown`) and the way back to variables (`Settings.to_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from feedsvc.config.kinds import SETTING, Setting, flag, number, optional, path, prices, text, whole
from feedsvc.config.rules import (
    A_HOST_PORT,
    A_KEY_PREFIX,
    A_LOG_LEVEL,
    A_REDIS_URL,
    AN_HTTP_URL,
    one_of,
    redact_url,
)
from feedsvc.config.topics import DEFAULT_TOPICS_FILE
from feedsvc.licences import DEFAULT_GENERATED_LICENCE, GENERATED_LICENCES

DEFAULT_ARXIV_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_ARXIV_HTML_URL = "https://arxiv.org/html"
# Usage of full-text calls is counted under "<model>+full-text" (feedsvc-worker stats).
FULL_TEXT_SUFFIX = "+full-text"
DEFAULT_FULL_TEXT_TOKENS = 3000  # one full-text call: about 3,100 tokens in (bench/full_text.py)
DEFAULT_ARXIV_OAI_URL = "https://export.arxiv.org/oai2"
DEFAULT_FETCH_INTERVAL_SECONDS = 3600.0
DEFAULT_BIND = "127.0.0.1:8000"
# Addresses that mean "this machine" to a listener; links show them as localhost.
LOCAL_HOSTS = {"0.0.0.0", "::", "[::]", "127.0.0.1"}
# USD per million tokens (input, output), standard tier, as published when this was written.
DEFAULT_PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


SAFETY_POLL_SECONDS = 86400.0  # the announcement schedule polls at least once a day


def stale_after(fetch_interval_seconds: float, schedule: str = "interval") -> float:
    """On an interval: two intervals and a day (arXiv announces nothing on Fridays and
    Saturdays). After announcements: the daily safety poll and six hours."""
    if schedule == "announcements":
        return SAFETY_POLL_SECONDS + 6 * 3600
    return 2 * fetch_interval_seconds + 86400


def default_schedule(fetch_interval_seconds: float) -> str:
    """`interval` for whoever set an interval of their own, else after each announcement."""
    same = fetch_interval_seconds == DEFAULT_FETCH_INTERVAL_SECONDS
    return "announcements" if same else "interval"


def bound_url(bind: str) -> str:
    """The URL of a host:port bind, the default public URL: http://localhost:8000."""
    host, _, port = bind.rpartition(":")
    if host in LOCAL_HOSTS:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class Settings:
    """Every setting of web and worker, validated on creation; build with `Settings.from_env()`."""

    # fmt: off
    # One setting a statement: name, kind, variable, default, bounds, what it means. Each call
    # returns a dataclass field (RUF009 cannot see that), a dict default a factory.
    redis_url: str = text("REDIS_URL", "redis://localhost:6379/0", rule=A_REDIS_URL,
        meaning="the Redis to use")
    redis_prefix: str = text("FEEDSVC_REDIS_PREFIX", "feedsvc", rule=A_KEY_PREFIX,
        meaning="prefix of every Redis key")
    redis_cluster: bool = flag("FEEDSVC_REDIS_CLUSTER", False,
        meaning="`REDIS_URL` names a node of a Redis Cluster (or Valkey cluster): the "
        "client finds the others and routes each command; the same as a `redis+cluster://` "
        "URL")
    topics_file: Path = path("FEEDSVC_TOPICS_FILE", DEFAULT_TOPICS_FILE,  # noqa: RUF009
        documented_default="the shipped `topics.toml`", meaning="the topics file")
    arxiv_api_url: str = text("FEEDSVC_ARXIV_API_URL", DEFAULT_ARXIV_API_URL, rule=AN_HTTP_URL,
        meaning="the arXiv API endpoint")
    arxiv_html_url: str = text("FEEDSVC_ARXIV_HTML_URL", DEFAULT_ARXIV_HTML_URL, rule=AN_HTTP_URL,
        normalize=lambda raw: raw.rstrip("/"),
        meaning="where arXiv serves papers as HTML: `<url>/<id>v<version>` (figures, full text)")
    arxiv_oai_url: str = text("FEEDSVC_ARXIV_OAI_URL", DEFAULT_ARXIV_OAI_URL, rule=AN_HTTP_URL,
        meaning="arXiv's OAI-PMH endpoint: each paper's licence")
    paper_pages: bool = flag("FEEDSVC_PAPER_PAGES", True,
        meaning="fetch each new paper version's HTML view and licence (one arXiv request "
        "each, through the same 3 s spacing): the lead figure in feeds; `0` skips both")
    figure_thumbnails: bool = flag("FEEDSVC_FIGURE_THUMBNAILS", False,
        meaning="keep a thumbnail (at most 640 pixels a side, PNG) of each reusable lead "
        "figure and serve it at `/papers/<id>.png`, instead of linking the image at arXiv "
        "(one more arXiv request a figure)")
    thumbnail_limit: int = whole("FEEDSVC_THUMBNAIL_LIMIT", 2000, at_least=1,
        meaning="the most thumbnails kept; past it the oldest are dropped (their entries "
        "link arXiv's image again)")
    arxiv_delay_seconds: float = number("FEEDSVC_ARXIV_DELAY_SECONDS", 3.0, at_least=0,
        meaning="pause between arXiv requests (arXiv asks for at least 3)")
    arxiv_timeout_seconds: float = number("FEEDSVC_ARXIV_TIMEOUT_SECONDS", 30.0, at_least=1,
        meaning="timeout of each arXiv request")
    web_bind: str = text("FEEDSVC_BIND", DEFAULT_BIND, rule=A_HOST_PORT,
        meaning="where `feedsvc-web` (and `deploy/gunicorn.conf.py`) listen; the image uses "
        "`0.0.0.0:8000`")
    public_url: str = text("FEEDSVC_PUBLIC_URL", bound_url(DEFAULT_BIND), rule=AN_HTTP_URL,
        normalize=lambda raw: raw.rstrip("/"),
        derive=lambda earlier: bound_url(earlier["web_bind"]),
        documented_default="`http://<host>:<port>` of `FEEDSVC_BIND` (`localhost` for "
        "`0.0.0.0`, `::` and `127.0.0.1`)",
        meaning="base of the links in feeds (feed ids, self links) and of the address "
        "`feedsvc-up` prints; set it when readers reach the service by another name; a "
        "trailing `/` is dropped")
    openai_base_url: str | None = optional("OPENAI_BASE_URL", rule=AN_HTTP_URL,
        documented_default="unset (OpenAI)",
        meaning="an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, LiteLLM)")
    openai_api_key: str | None = optional("OPENAI_API_KEY", secret=True,
        documented_default="unset", meaning="the API key; never logged")
    llm_model: str = text("FEEDSVC_LLM_MODEL", "gpt-4o-mini",
        meaning="the model to ask")
    llm_timeout_seconds: float = number("FEEDSVC_LLM_TIMEOUT_SECONDS", 60.0, at_least=1,
        meaning="timeout of one LLM call")
    llm_max_retries: int = whole("FEEDSVC_LLM_MAX_RETRIES", 2, at_least=0,
        meaning="quick retries of one attempt (429, 5xx, timeouts), each call counted and paced")
    full_text_tokens: int = whole("FEEDSVC_FULL_TEXT_TOKENS", DEFAULT_FULL_TEXT_TOKENS,
        at_least=200,
        meaning="how much of a paper's sections a `full_text` topic's call reads, in tokens "
        "(about 4 characters each): its own sections share it, related work and appendices "
        "left out")
    llm_response_format: str = text("FEEDSVC_LLM_RESPONSE_FORMAT", "json_schema",
        rule=one_of("json_schema", "json_object"),
        meaning="`json_schema`: Structured Outputs, strict; `json_object`: JSON mode, for "
        "llama.cpp, Ollama and other servers with less schema support; the output is "
        "validated the same way")
    llm_mode: str = text("FEEDSVC_LLM_MODE", "sync", rule=one_of("sync", "batch"),
        meaning="`sync`: one call per paper and language as work arrives; `batch`: the queued "
        "work goes through the OpenAI Batch API (half the price, results within 24 h)")
    llm_concurrency: int = whole("FEEDSVC_LLM_CONCURRENCY", 8, at_least=1,
        meaning="calls in flight per worker process")
    llm_max_attempts: int = whole("FEEDSVC_LLM_MAX_ATTEMPTS", 5, at_least=1,
        meaning="attempts per paper and language before it is marked failed")
    llm_retry_base_seconds: float = number("FEEDSVC_LLM_RETRY_BASE_SECONDS", 60.0, at_least=0.1,
        meaning="the first backoff step; each later attempt waits twice as long "
        "(at most 6 hours)")
    llm_rpm: int = whole("FEEDSVC_LLM_RPM", 0, at_least=0, documented_default="`0` (no limit)",
        meaning="requests per minute, shared by every worker process through Redis")
    llm_tpm: int = whole("FEEDSVC_LLM_TPM", 0, at_least=0, documented_default="`0` (no limit)",
        meaning="tokens per minute (estimated before each call), shared the same way")
    llm_daily_token_budget: int = whole("FEEDSVC_LLM_DAILY_TOKEN_BUDGET", 0, at_least=0,
        documented_default="`0` (no budget)",
        meaning="tokens per UTC day; when reached, enrichment pauses until the next UTC day")
    llm_prices: dict[str, tuple[float, float]] = prices("FEEDSVC_LLM_PRICES", DEFAULT_PRICES,  # noqa: RUF009
        meaning="USD per million tokens in and out, over the defaults, for the cost in "
        "`stats` (batch usage at half)")
    fetch_interval_seconds: float = number("FEEDSVC_FETCH_INTERVAL_SECONDS",
        DEFAULT_FETCH_INTERVAL_SECONDS, at_least=60,
        meaning="with `FEEDSVC_FETCH_SCHEDULE=interval`: how often `feedsvc-worker run` "
        "fetches every topic")
    fetch_schedule: str = text("FEEDSVC_FETCH_SCHEDULE", "announcements",
        rule=one_of("announcements", "interval"),
        derive=lambda earlier: default_schedule(earlier["fetch_interval_seconds"]),
        documented_default="`announcements`; `interval` when `FEEDSVC_FETCH_INTERVAL_SECONDS` "
        "is set to other than 3600",
        meaning="`announcements`: daily at 20:30 US Eastern, 30 minutes after each arXiv "
        "announcement; `interval`: every `FEEDSVC_FETCH_INTERVAL_SECONDS`")
    stale_after_seconds: float = number("FEEDSVC_STALE_AFTER_SECONDS",
        stale_after(DEFAULT_FETCH_INTERVAL_SECONDS, "announcements"), at_least=60,
        derive=lambda e: stale_after(e["fetch_interval_seconds"], e["fetch_schedule"]),
        documented_default="30 h; on an interval, 2 × the interval + 1 day",
        meaning="a topic whose last successful fetch is older is flagged stale (arXiv "
        "announces nothing on Fridays and Saturdays)")
    generated_license: str = text("FEEDSVC_GENERATED_LICENSE", DEFAULT_GENERATED_LICENCE,
        rule=one_of(*GENERATED_LICENCES),
        meaning="the licence feeds and pages state for the summaries, takeaways and "
        "translations this service generates (SPDX id), beside arXiv's CC0 1.0 for the "
        "metadata; papers keep their own licences")
    feed_size: int = whole("FEEDSVC_FEED_SIZE", 50, at_least=1,
        meaning="entries per feed page")
    cache_max_age_seconds: int = whole("FEEDSVC_CACHE_MAX_AGE_SECONDS", 300, at_least=0,
        meaning="`Cache-Control` `max-age`, `s-maxage` and `stale-while-revalidate` of feeds and "
        "pages, for readers, proxies and CDNs")
    version_check_seconds: float = number("FEEDSVC_VERSION_CHECK_SECONDS", 1.0, at_least=0,
        meaning="how long a web process trusts a feed version it read from Redis")
    publish_grace_seconds: float = number("FEEDSVC_PUBLISH_GRACE_SECONDS", 21600.0, at_least=0,
        meaning="how long an unenriched paper waits before it is published anyway")
    claim_idle_seconds: float = number("FEEDSVC_CLAIM_IDLE_SECONDS", 600.0, at_least=1,
        meaning="after how long a dead worker's enrichment items are claimed by a live one")
    max_deliveries: int = whole("FEEDSVC_MAX_DELIVERIES", 5, at_least=1,
        meaning="deliveries of one item before it goes to the dead letters")
    shutdown_seconds: float = number("FEEDSVC_SHUTDOWN_SECONDS", 30.0, at_least=0,
        meaning="how long SIGTERM waits for work in flight before handing it back")
    log_level: str = text("FEEDSVC_LOG_LEVEL", "INFO", rule=A_LOG_LEVEL, normalize=str.upper,
        meaning="the least severe level logged")
    log_format: str = text("FEEDSVC_LOG_FORMAT", "text", rule=one_of("text", "json"),
        meaning="`json`: one JSON object per line with `topic`, `paper`, `language`, "
        "`attempt` fields where they apply")
    web_workers: int = whole("FEEDSVC_WEB_WORKERS", 0, at_least=0,
        documented_default="one per core", meaning="web worker processes (`0`: one per core)")
    access_log: bool = flag("FEEDSVC_ACCESS_LOG", True,
        meaning="`0` turns off `feedsvc-web`'s access log on stdout (written off the hot path)")
    metrics_token: str | None = optional("FEEDSVC_METRICS_TOKEN", secret=True,
        documented_default="unset (both public)",
        meaning="when set, `/metrics` and `/readyz?verbose=1` answer only requests with "
        "`Authorization: Bearer <token>` (else 401); plain `/readyz` stays public for probes")
    # fmt: on

    def __post_init__(self) -> None:
        for setting in SETTINGS:
            setting.check(getattr(self, setting.attribute))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError naming the first bad one."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            values[setting.attribute] = setting.read(env.get(setting.variable, ""), values)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The variables, beyond the defaults, from which `from_env` rebuilds these settings.

        Prices are written as the models that differ from the defaults, so settings whose
        prices drop a default model cannot be rebuilt.
        """
        values = {setting.attribute: getattr(self, setting.attribute) for setting in SETTINGS}
        return {
            setting.variable: setting.render(values[setting.attribute])
            for setting in SETTINGS
            if values[setting.attribute] != setting.default_for(values)
        }

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def web_host_port(self) -> tuple[str, int]:
        host, _, port = self.web_bind.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def redis_url_redacted(self) -> str:
        return redact_url(self.redis_url)


def price_per_million(settings: Settings, model: str) -> tuple[float, float] | None:
    """USD per million tokens in and out; '<model>@batch' usage costs half, and
    '<model>+full-text' (calls that read the papers' sections) the model's price."""
    base, batch, _ = model.removesuffix(FULL_TEXT_SUFFIX).partition("@batch")
    price = settings.llm_prices.get(base)
    if price is None or not batch:
        return price
    return price[0] / 2, price[1] / 2


SETTINGS: tuple[Setting, ...] = tuple(
    replace(item.metadata[SETTING], attribute=item.name) for item in fields(Settings)
)


def settings_markdown() -> str:
    """The README's settings table, one row per setting in declaration order."""
    rows = [
        "| variable | default | accepts | meaning |",
        "|---|---|---|---|",
        *(setting.markdown_row() for setting in SETTINGS),
    ]
    return "\n".join(rows) + "\n"
