"""What arXiv's HTML view and OAI-PMH say of each paper's latest version, and which papers
are still to be asked about."""

from __future__ import annotations

from collections.abc import Sequence

from feedsvc.keys import Keys
from feedsvc.models import PaperPages
from feedsvc.store import feeds, queue
from feedsvc.store.db import Db


class PagesStore:
    """One hash per paper (PaperPages), and the set of papers still to fetch pages for."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def pending(self, limit: int) -> list[str]:
        """Up to `limit` papers whose pages are still to be fetched, in no order."""
        return self.db.one(lambda b: b.srandmember(self.keys.pages_pending(), limit))

    def pending_count(self) -> int:
        return self.db.one(lambda b: b.scard(self.keys.pages_pending()))

    def load_pages(self, paper_id: str) -> PaperPages | None:
        data = self.db.one(lambda b: b.hgetall(self.keys.paper_pages(paper_id)))
        return PaperPages.from_redis(data) if data else None

    def save_pages(
        self, paper_id: str, pages: PaperPages, topics: Sequence[str],
        requeue: Sequence[tuple[str, str]] = (),
    ) -> None:  # fmt: skip
        """Store the pages, then commit them (see `commit_pages`): two steps. Killed
        between them, the paper stays pending, and its next fetch finds these pages current
        and commits them."""
        key = self.keys.paper_pages(paper_id)
        content = self.db.batch(atomic=True)
        content.delete(key)
        content.hset(key, pages.to_redis())
        content.run()
        self.commit_pages(paper_id, pages.version, topics, requeue)

    def commit_pages(
        self, paper_id: str, version: int, topics: Sequence[str],
        requeue: Sequence[tuple[str, str]] = (),
    ) -> None:  # fmt: skip
        """The stored pages of `version` are current: take the paper off the pending set,
        clear its failed attempts, move the feeds of its `topics` (their entries show the
        figure) and queue the enrichments to make again (`requeue`, read without the view),
        in one step. A newer version stored meanwhile stays pending."""
        batch = self.db.batch(atomic=True)
        batch.srem(self.keys.pages_pending(), paper_id)
        batch.hdel(self.keys.pages_attempts(), paper_id)
        feeds.bump_topics(batch, self.keys, set(topics))
        queue.add_enqueue(batch, self.keys, requeue)
        stored_version = batch.hget(self.keys.paper(paper_id), "version")
        batch.run()
        if stored_version.value is not None and int(stored_version.value) != version:
            self.fetch_again(paper_id)

    def save_thumbnail(
        self, paper_id: str, version: int, png: bytes, topics: Sequence[str], limit: int,
        now: float,
    ) -> None:  # fmt: skip
        """Count the lead figure's thumbnail, keep it, mark the pages as having one and
        move the feeds that show it; past `limit` thumbnails, drop the oldest.

        In that order, each a step of its own (the bytes and the pages may lie on other
        nodes than the count): killed between two, a thumbnail is counted and dropped in
        its turn, never kept uncounted; one kept but not yet shown shows after the next
        change of its feeds.
        """
        batch = self.db.batch(atomic=True)
        batch.zadd(self.keys.thumbnails(), {paper_id: now})
        count = batch.zcard(self.keys.thumbnails())
        batch.run()
        thumbnail: dict[str, str | bytes] = {"version": str(version), "png": png}
        self.db.one(lambda b: b.hset(self.keys.paper_thumbnail(paper_id), thumbnail))
        self.db.one(lambda b: b.hset(self.keys.paper_pages(paper_id), {"thumbnail": "1"}))
        self._bump(set(topics))
        if count.value > limit:
            self._drop_oldest(count.value - limit)

    def _drop_oldest(self, count: int) -> None:
        """Stop showing the oldest thumbnails, then forget them (the count last, so a drop
        killed half way is done again)."""
        oldest = self.db.one(lambda b: b.zrangebyscore(self.keys.thumbnails(), "-inf", "+inf"))
        for paper_id in oldest[:count]:
            self._drop(paper_id)

    def _drop(self, paper_id: str) -> None:
        topics = self.db.one(lambda b: b.smembers(self.keys.paper_topics(paper_id)))
        self.db.one(lambda b: b.hset(self.keys.paper_pages(paper_id), {"thumbnail": "0"}))
        self._bump(topics)
        self.db.one(lambda b: b.delete(self.keys.paper_thumbnail(paper_id)))
        self.db.one(lambda b: b.zrem(self.keys.thumbnails(), paper_id))

    def _bump(self, topics: set[str]) -> None:
        batch = self.db.batch(atomic=True)
        feeds.bump_topics(batch, self.keys, topics)
        batch.run()

    def load_thumbnail(self, paper_id: str) -> bytes | None:
        """The paper's thumbnail as PNG bytes; None when it has none."""
        fields = self.db.hgetall_bytes(self.keys.paper_thumbnail(paper_id))
        return fields.get("png")

    def fetch_again(self, paper_id: str) -> None:
        """Put the paper back on the pending set: its pages are to be fetched anew."""
        self.db.one(lambda b: b.sadd(self.keys.pages_pending(), paper_id))

    def count_attempt(self, paper_id: str) -> int:
        """Count a failed attempt at the paper's pages; returns how many so far."""
        return self.db.one(lambda b: b.hincrby(self.keys.pages_attempts(), paper_id))

    def drop_pending(self, paper_id: str) -> None:
        """The paper is gone, or its pages are current: nothing to fetch."""
        self.db.one(lambda b: b.srem(self.keys.pages_pending(), paper_id))
