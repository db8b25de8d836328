"""Render once, serve many: rendered feeds and pages kept per version, in memory and in Redis.

The worker bumps a feed's version whenever it stores something the feed shows. A request
reads that version (one round trip); an entry in this process's memory at that version is
served as is. Else another web process may have rendered it already (a second round
trip); only then is the feed rendered, gzipped once, and shared through Redis.

Pages are kept the same way. A topic's page (variant `page.pN`) also shows the topic's fetch
status, the index (`index`, under SITE) every topic's: their versions carry it. The OPML
(`opml`) changes only with the topics and settings, which the shape carries.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property

from feedsvc.config import Topic
from feedsvc.errors import StoreMigrating
from feedsvc.store import Store
from feedsvc.web.archives import ARCHIVED, is_archived
from feedsvc.web.bounded import BoundedLru
from feedsvc.web.metrics import TALLY, observe_render
from feedsvc.web.replies import protective_headers

SITE = "_site"  # the slug of what belongs to no one topic: no slug starts with "_"
MEMORY_ENTRIES = 512
# Filtered renderings are kept apart, in memory only: a client that sends a new filter on
# every request can fill this and no more, and evicts no plain feed.
FILTERED_ENTRIES = 256
FILTERED_BYTES = 16 << 20
MEMORY_BYTES = 64 << 20  # per process: a 50-entry feed page and its gzip take about 200 KB
ENTRY_OVERHEAD = 1024
NEVER = float("inf")
IMMUTABLE = "public, max-age=31536000, immutable"
# Weeks' documents (archives, mostly): their own bound, apart from the plain feeds.
WEEK_ENTRIES = 256
WEEK_BYTES = 64 << 20


@dataclass(frozen=True)
class Built:
    """What a renderer hands the cache: the body and when it stops being current."""

    body: bytes
    content_type: str
    last_modified: datetime
    expires_at: datetime | None = None  # a hidden paper's grace period ends then
    filename: str = ""  # Content-Disposition's, for a file to save (the OPML)


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
    filename: str = ""
    surrogate: str = ""  # Surrogate-Key: the topics (and language) it shows, for purging
    _headers: dict[tuple[bool, str], _Headers] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def last_modified_http(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)

    def headers(self, gzip_ok: bool, cache_control: str) -> _Headers:
        """(ETag, the 304's headers, the 200's headers) of one encoding, made once."""
        key = (gzip_ok, cache_control)
        made = self._headers.get(key)
        if made is None:
            made = self._headers[key] = _make_headers(self, gzip_ok, cache_control)
        return made

    def fresh(self, version: str, now: float) -> bool:
        return self.version == version and now < self.expires_at

    def to_fields(self, with_body: bool = True) -> dict[str, bytes]:
        """The rendering as hash fields; without its body (an archive, kept for good, keeps
        only the gzip one)."""
        body = {"body": self.body} if with_body else {}
        return {
            "version": self.version.encode(),
            **body,
            "gzip_body": self.gzip_body,
            "etag": self.etag.encode(),
            "content_type": self.content_type.encode(),
            "last_modified": self.last_modified.isoformat().encode(),
            "expires_at": repr(self.expires_at).encode(),
            "filename": self.filename.encode(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, bytes]) -> Rendered:
        return cls(
            version=fields["version"].decode(),
            body=fields["body"] if "body" in fields else gzip.decompress(fields["gzip_body"]),
            gzip_body=fields["gzip_body"],
            etag=fields["etag"].decode(),
            content_type=fields["content_type"].decode(),
            last_modified=datetime.fromisoformat(fields["last_modified"].decode()),
            expires_at=float(fields["expires_at"].decode()),
            filename=fields.get("filename", b"").decode(),
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
            filename=built.filename,
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
        site_slugs: tuple[str, ...] = (),
        unions: Mapping[str, Topic] | None = None,
    ) -> None:
        self.store = store
        self.site_slugs = site_slugs  # every topic, for the index's version
        self.unions = unions or {}  # the feed of every topic, by slug: its parts' versions
        self.version_ttl_seconds = version_ttl_seconds
        self.shape = shape  # what else shapes the bytes (feedsvc.web.shape): part of the version
        self.memory: BoundedLru[tuple[str, str, str], Rendered] = BoundedLru(
            max_entries, max_bytes, rendered_size
        )
        self.filtered: BoundedLru[tuple[str, str, str], Rendered] = BoundedLru(
            FILTERED_ENTRIES, FILTERED_BYTES, rendered_size
        )
        self.weeks: BoundedLru[tuple[str, str, str], Rendered] = BoundedLru(
            WEEK_ENTRIES, WEEK_BYTES, rendered_size
        )
        self.versions: dict[tuple[str, str, str], tuple[str, float]] = {}
        self.lock = threading.Lock()
        self._rendering: dict[tuple[str, str, str], tuple[threading.Lock, int]] = {}
        self.hits = {"memory": 0, "redis": 0, "render": 0}
        self.layout_current = False  # the stored data has today's layout (see _check_layout)

    def version(
        self, slug: str, language: str, variant: str = "", now: datetime | None = None
    ) -> str:
        """The version of the variant's content, and its shape: Redis is asked for the
        content's at most once per `version_ttl_seconds`. An archived week's never moves;
        `now` is the time the rendering, if one is made, is made for."""
        kind = variant_kind(variant)
        if kind == "week" and is_archived(variant.rsplit(".", 1)[-1], now or datetime.now(UTC)):
            return ARCHIVED
        key = (slug, language, kind)
        known = self.versions.get(key)
        if known is not None and time.monotonic() - known[1] < self.version_ttl_seconds:
            return known[0]
        version = f"{self._content_version(slug, language, kind)}.{self.shape}"
        self.versions[key] = (version, time.monotonic())
        return version

    def _content_version(self, slug: str, language: str, kind: str) -> str:
        union = self.unions.get(slug)
        parts = union.parts_in(language) if union else ()
        if kind == "page":
            return self.store.feeds.page_version(slug, language, parts)
        if kind == "index":
            return self.store.feeds.site_version(self.site_slugs)
        if kind == "static":
            return "static"
        return self.store.feeds.feed_version(slug, language, parts)

    def current(self, slug: str, language: str, variant: str) -> Rendered | None:
        """This process's rendering of the variant if it is current, else None."""
        version = self.version(slug, language, variant)
        return self._in_memory((slug, language, variant), version, time.time())

    def _memory_of(self, variant: str) -> BoundedLru[tuple[str, str, str], Rendered]:
        """Filtered feeds and weeks each in a bounded memory of their own: a client asking
        for new ones evicts no plain feed."""
        if variant_kind(variant) == "week":
            return self.weeks
        return self.filtered if is_filtered(variant) else self.memory

    def _in_memory(self, key: tuple[str, str, str], version: str, now: float) -> Rendered | None:
        entry = self._memory_of(key[2]).get(key)
        if entry is not None and entry.fresh(version, now):
            self._count("memory")
            return entry
        return None

    def get(
        self, slug: str, language: str, variant: str, build: Callable[[], Built], now: datetime
    ) -> Rendered:
        """The feed variant at its current version, rendering it only if nobody has; requests
        that miss together wait for one rendering instead of each making their own."""
        version = self.version(slug, language, variant, now)
        key = (slug, language, variant)
        entry = self._in_memory(key, version, now.timestamp())
        if entry is not None:
            return entry
        with self._one_at_a_time(key):
            entry = self._in_memory(key, version, now.timestamp())
            if entry is not None:
                return entry
            return self._load_or_render(key, version, build, now)

    @contextmanager
    def _one_at_a_time(self, key: tuple[str, str, str]) -> Iterator[None]:
        """A lock of the key's own, kept only while someone holds or waits for it."""
        with self.lock:
            lock, waiting = self._rendering.get(key, (threading.Lock(), 0))
            self._rendering[key] = (lock, waiting + 1)
        try:
            with lock:
                yield
        finally:
            with self.lock:
                lock, waiting = self._rendering[key]
                if waiting == 1:
                    del self._rendering[key]
                else:
                    self._rendering[key] = (lock, waiting - 1)

    def _load_or_render(
        self, key: tuple[str, str, str], version: str, build: Callable[[], Built], now: datetime
    ) -> Rendered:
        slug, language, variant = key
        self._check_layout()
        if version == ARCHIVED:
            return self._archive(key, build)
        shared = not is_filtered(variant)  # filtered renderings stay in this process
        fields = self.store.feeds.load_rendered(slug, language, variant) if shared else {}
        entry = Rendered.from_fields(fields) if fields else None
        if entry is not None and entry.fresh(version, now.timestamp()):
            self._count("redis")
        else:
            entry = Rendered.build(version, observe_render(build))
            if shared:
                self.store.feeds.save_rendered(slug, language, variant, entry.to_fields())
            self._count("render")
        entry = replace(entry, surrogate=self.surrogate_keys(slug, language))
        self._memory_of(variant).put(key, entry)
        return entry

    def _check_layout(self) -> None:
        """Render nothing from data a worker is still migrating: it would be kept under a
        version that the migration does not move. Once migrated, never asked again."""
        if not self.layout_current:
            if not self.store.migrated():
                raise StoreMigrating("the stored data is being migrated to today's layout")
            self.layout_current = True

    def surrogate_keys(self, slug: str, language: str) -> str:
        """What a shared cache may purge this rendering by: each topic it shows, and each
        topic in that language ("topic-rag topic-rag-zh"); the index and OPML "site"."""
        if slug == SITE:
            return "site"
        union = self.unions.get(slug)
        parts = union.parts_in(language) if union else (slug,)
        return " ".join(f"topic-{part} topic-{part}-{language}" for part in parts)

    def _archive(self, key: tuple[str, str, str], build: Callable[[], Built]) -> Rendered:
        """An archived week as it was first rendered once archived, by this process or
        another: kept in Redis for good, once complete (no paper of it still hidden) and
        made from data of today's layout."""
        fields = self.store.feeds.load_archive(*key)
        if fields:
            entry = Rendered.from_fields(fields)
            self._count("redis")
        else:
            entry = Rendered.build(ARCHIVED, observe_render(build))
            if entry.expires_at == NEVER:
                kept = self.store.feeds.keep_archive(*key, entry.to_fields(with_body=False))
                entry = Rendered.from_fields(kept)
            self._count("render")
        entry = replace(entry, surrogate=self.surrogate_keys(key[0], key[1]))
        self.weeks.put(key, entry)
        return entry

    def _count(self, where: str) -> None:
        TALLY.add("cache", where)
        self.hits[where] += 1  # for tests; the exact counts, across threads, are the tally's


def is_filtered(variant: str) -> bool:
    """Whether a variant is a filtered feed's (its name ends in `.f<filter key>`)."""
    return variant.rsplit(".", 1)[-1].startswith("f")


def variant_kind(variant: str) -> str:
    """What a variant's version follows: "page" (a topic page), "index", "static" (the
    OPML), "week" (a week's archive: the feed's until archived) or "feed"."""
    head = variant.split(".", 1)[0]
    return {"page": "page", "index": "index", "opml": "static", "week": "week"}.get(head, "feed")


_Headers = tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def _make_headers(entry: Rendered, gzip_ok: bool, cache_control: str) -> _Headers:
    etag = f'"{entry.etag}-gz"' if gzip_ok else f'"{entry.etag}"'
    archived = entry.version == ARCHIVED  # its bytes never change: cache it for good
    common = (
        ("ETag", etag),
        ("Last-Modified", entry.last_modified_http),
        ("Cache-Control", IMMUTABLE if archived else cache_control),
        ("Vary", "Accept-Encoding"),
        *protective_headers(entry.content_type),
    )
    if entry.surrogate:
        common = (*common, ("Surrogate-Key", entry.surrogate))
    if entry.filename:
        common = (*common, ("Content-Disposition", f'inline; filename="{entry.filename}"'))
    body = entry.gzip_body if gzip_ok else entry.body
    ok: tuple[tuple[str, str], ...] = (
        *common, ("Content-Type", entry.content_type), ("Content-Length", str(len(body))),
    )  # fmt: skip
    if gzip_ok:
        ok = (*ok, ("Content-Encoding", "gzip"))
    return etag, common, ok


def rendered_size(key: tuple[str, str, str], entry: Rendered) -> int:
    return len(entry.body) + len(entry.gzip_body) + ENTRY_OVERHEAD
