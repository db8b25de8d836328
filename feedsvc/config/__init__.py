"""Settings from the environment and topics from a TOML file, validated once at start-up."""

from feedsvc.config.rules import redact_url
from feedsvc.config.settings import (
    DEFAULT_ARXIV_API_URL,
    DEFAULT_PRICES,
    Settings,
    settings_markdown,
)
from feedsvc.config.topics import (
    ALL,
    ARXIV_PAGE_LIMIT,
    DEFAULT_TOPICS_FILE,
    LANGUAGE_PATTERN,
    SLUG_PATTERN,
    Topic,
    all_topics,
    load_topics,
)

__all__ = [
    "ALL",
    "ARXIV_PAGE_LIMIT",
    "DEFAULT_ARXIV_API_URL",
    "DEFAULT_PRICES",
    "DEFAULT_TOPICS_FILE",
    "LANGUAGE_PATTERN",
    "SLUG_PATTERN",
    "Settings",
    "Topic",
    "all_topics",
    "load_topics",
    "redact_url",
    "settings_markdown",
]
