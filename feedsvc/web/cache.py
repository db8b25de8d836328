"""Render once, serve many: rendered feeds kept per version, in memory and in Redis.

The worker bumps a feed's version whenever it stores something the feed shows. A request
reads that version (one round trip); an entry in this process's memory at that version is
served as is. Else another web process may have rendered it already (a second round
trip); only then is the feed rendered, gzipped once, and shared through Redis.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property

from feedsvc.store import Store
from feedsvc.web.bounded import BoundedLru
from feedsvc.web.metrics import CACHE_RESULTS, observe_render

MEMORY_ENTRIES = 512
MEMORY_BYTES = 64 << 20  # per process: a 50-entry feed page and its gzip take about 200 KB
ENTRY_OVERHEAD = 1024
NEVER = float("inf")


@dataclass(frozen=True)
class Built:
    """What a renderer hands the cache: the body and when it stops being current."""

    body: bytes
    content_type: str
    last_modified: datetime
    expires_at: datetime | None = None  # a hidden paper's grace period ends then


@dataclass(frozen=True)
class Rendered:
    """One rendered feed variant at one version, with its gzip body made once."""

    version: str
    body: bytes
    gzip_body: bytes
    etag: str
    content_type: str
    last_modified: datetime
    expires_at: float

    @cached_property
    def last_modified_http(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)

    def fresh(self, version: str, now: datetime) -> bool:
        return self.version == version and now.timestamp() < self.expires_at

    def to_fields(self) -> dict[str, bytes]:
        return {
            "version": self.version.encode(),
            "body": self.body,
            "gzip_body": self.gzip_body,
            "etag": self.etag.encode(),
            "content_type": self.content_type.encode(),
            "last_modified": self.last_modified.isoformat().encode(),
            "expires_at": repr(self.expires_at).encode(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, bytes]) -> Rendered:
        return cls(
            version=fields["version"].decode(),
            body=fields["body"],
            gzip_body=fields["gzip_body"],
            etag=fields["etag"].decode(),
            content_type=fields["content_type"].decode(),
            last_modified=datetime.fromisoformat(fields["last_modified"].decode()),
            expires_at=float(fields["expires_at"].decode()),
        )

    @classmethod
    def build(cls, version: str, built: Built) -> Rendered:
        expires = built.expires_at.timestamp() if built.expires_at else NEVER
        return cls(
            version=version,
            body=built.body,
            gzip_body=gzip.compress(built.body, compresslevel=6, mtime=0),
            etag=hashlib.sha256(built.body).hexdigest()[:32],
            content_type=built.content_type,
            last_modified=built.last_modified.astimezone(UTC),
            expires_at=expires,
        )


class FeedCache:
    """Rendered feeds per (topic, language, variant), rebuilt only when their version moves."""

    def __init__(
        self,
        store: Store,
        version_ttl_seconds: float = 0.0,
        max_entries: int = MEMORY_ENTRIES,
        max_bytes: int = MEMORY_BYTES,
        shape: str = "",
    ) -> None:
        self.store = store
        self.version_ttl_seconds = version_ttl_seconds
        self.shape = shape  # what else shapes the bytes (feedsvc.web.shape): part of the version
        self.memory: BoundedLru[tuple[str, str, str], Rendered] = BoundedLru(
            max_entries, max_bytes, rendered_size
        )
        self.versions: dict[tuple[str, str], tuple[str, float]] = {}
        self.lock = threading.Lock()
        self.hits = {"memory": 0, "redis": 0, "render": 0}

    def version(self, slug: str, language: str) -> str:
        """The feed's version, its content's and its shape's: Redis is asked for the content's
        at most once per `version_ttl_seconds`."""
        key = (slug, language)
        known = self.versions.get(key)
        if known is not None and time.monotonic() - known[1] < self.version_ttl_seconds:
            return known[0]
        version = f"{self.store.feeds.feed_version(slug, language)}.{self.shape}"
        self.versions[key] = (version, time.monotonic())
        return version

    def current(self, slug: str, language: str, variant: str, now: datetime) -> Rendered | None:
        """This process's rendering of the variant if it is current, else None."""
        return self._in_memory((slug, language, variant), self.version(slug, language), now)

    def _in_memory(self, key: tuple[str, str, str], version: str, now: datetime) -> Rendered | None:
        entry = self.memory.get(key)
        if entry is not None and entry.fresh(version, now):
            self._count("memory")
            return entry
        return None

    def get(
        self, slug: str, language: str, variant: str, build: Callable[[], Built], now: datetime
    ) -> Rendered:
        """The feed variant at its current version, rendering it only if nobody has."""
        version = self.version(slug, language)
        key = (slug, language, variant)
        entry = self._in_memory(key, version, now)
        if entry is not None:
            return entry
        fields = self.store.feeds.load_rendered(slug, language, variant)
        entry = Rendered.from_fields(fields) if fields else None
        if entry is not None and entry.fresh(version, now):
            self._count("redis")
        else:
            entry = Rendered.build(version, observe_render(build))
            self.store.feeds.save_rendered(slug, language, variant, entry.to_fields())
            self._count("render")
        self.memory.put(key, entry)
        return entry

    def _count(self, where: str) -> None:
        CACHE_RESULTS.labels(where).inc()
        with self.lock:
            self.hits[where] += 1


def rendered_size(key: tuple[str, str, str], entry: Rendered) -> int:
    return len(entry.body) + len(entry.gzip_body) + ENTRY_OVERHEAD
