"""Everything feedsvc keeps in Redis, as small stores, one per thing kept.

Only `feedsvc.store.db` imports redis; callers see models and records, never raw replies,
and an outage as `StoreUnavailable`. Every write that touches more than one key is atomic,
its keys under one hash tag (see feedsvc.keys); the bulk a step stores (an enrichment,
pages, a thumbnail) is written on its own first, and a crash before the commit that follows
leaves the work pending, to be committed by whoever takes it next.
"""

from __future__ import annotations

from feedsvc.config import Settings
from feedsvc.keys import Keys
from feedsvc.store import migrations
from feedsvc.store.accounting import Accounting
from feedsvc.store.batches import BatchStore
from feedsvc.store.consumers import ConsumerGroup
from feedsvc.store.coordination import Coordination
from feedsvc.store.db import Db, answers
from feedsvc.store.enrichments import EnrichmentStore
from feedsvc.store.failures import FailureStore
from feedsvc.store.feeds import FeedStore
from feedsvc.store.pages import PagesStore
from feedsvc.store.papers import PaperStore
from feedsvc.store.queue import WorkQueue
from feedsvc.store.records import (
    DayPage,
    DigestListing,
    EnrichmentInputs,
    EnrichmentStamp,
    FeedPage,
    LlmCall,
    LlmUsage,
    ModelUsage,
    SaveResult,
    WorkItem,
)
from feedsvc.store.topics import TopicStore

__all__ = [
    "Accounting",
    "BatchStore",
    "ConsumerGroup",
    "Coordination",
    "DayPage",
    "Db",
    "DigestListing",
    "EnrichmentInputs",
    "EnrichmentStamp",
    "EnrichmentStore",
    "FailureStore",
    "FeedPage",
    "FeedStore",
    "LlmCall",
    "LlmUsage",
    "ModelUsage",
    "PaperStore",
    "SaveResult",
    "Store",
    "TopicStore",
    "WorkItem",
    "WorkQueue",
    "answers",
    "connect",
]  # fmt: skip


class Store:
    """The small stores over one connection and one key prefix."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys
        self.papers = PaperStore(db, keys)
        self.pages = PagesStore(db, keys)
        self.enrichments = EnrichmentStore(db, keys)
        self.topics = TopicStore(db, keys)
        self.feeds = FeedStore(db, keys)
        self.queue = WorkQueue(db, keys)
        self.consumers = ConsumerGroup(db, keys)
        self.failures = FailureStore(db, keys)
        self.batches = BatchStore(db, keys)
        self.coordination = Coordination(db, keys)
        self.accounting = Accounting(db, keys)

    def ping(self) -> None:
        self.db.ping()

    def migrate(self) -> int:
        """Bring older stored data to today's layout, once (see feedsvc.store.migrations)."""
        return migrations.migrate(self.db, self.keys)

    def migrated(self) -> bool:
        """Whether the stored data has today's layout (a worker migrates it on start)."""
        return migrations.stored_version(self.db, self.keys) in (0, migrations.LATEST)


def connect(settings: Settings) -> Store:
    """The store at the configured Redis URL and key prefix."""
    db = Db.from_url(settings.redis_url, cluster=settings.redis_cluster)
    return Store(db, Keys(settings.redis_prefix))
