"""What the web views need, built once per app by create_app."""

from __future__ import annotations

from dataclasses import dataclass

from feedsvc.config import Settings, Topic
from feedsvc.store import Store
from feedsvc.web.cache import FeedCache


@dataclass(frozen=True)
class Services:
    settings: Settings
    topics: dict[str, Topic]
    store: Store
    cache: FeedCache
