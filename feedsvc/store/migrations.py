"""The stored layout's version, and the steps that bring older data up to it, once.

`migrate` runs on every worker start: it reads the version in `feedsvc:schema` and, under a
lock so one process does the work, applies each later step in order, recording the version
after each, so an interrupted migration resumes where it stopped. A database with no papers
yet starts at the newest version; one with papers and no version was written before
versions were kept (schema 1).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from feedsvc.keys import MIGRATION_LOCK, Keys
from feedsvc.store.db import Db
from feedsvc.times import decode_time

log = logging.getLogger(__name__)

LOCK_SECONDS = 600
CHUNK = 1000
WAIT_SECONDS = 0.2


@dataclass(frozen=True)
class Migration:
    version: int  # the version the data has once this step is done
    does: str
    apply: Callable[[Db, Keys], int]  # returns how many records it touched


def index_enriched_papers(db: Db, keys: Keys) -> int:
    """Schema 2: a set per language of the papers enriched in it, so `stats` counts in Redis
    instead of reading every paper."""
    indexed = 0
    for batch_keys in db.scan_batches(keys.enrichment_pattern()):
        batch = db.batch()
        for key in batch_keys:
            paper_id, language = keys.paper_of_enrichment(key)
            if paper_id and language:
                batch.sadd(keys.enriched(language), paper_id)
                indexed += 1
        batch.run()
    return indexed


def record_arrivals(db: Db, keys: Keys) -> int:
    """Schema 3: when each paper joined each topic, for the weekly archives; for papers
    stored before it was kept, when the paper was first seen."""
    recorded = 0
    for topic_keys in db.scan_batches(keys.topic_papers("*")):
        for topic_key in topic_keys:
            slug = topic_key.removeprefix(f"{keys.prefix}:topic:").removesuffix(":papers")
            recorded += _record_arrivals_of(db, keys, topic_key, slug)
    return recorded


def _record_arrivals_of(db: Db, keys: Keys, topic_key: str, slug: str) -> int:
    paper_ids = db.one(lambda b: b.zrangebyscore(topic_key, "-inf", "+inf"))
    recorded = 0
    for start in range(0, len(paper_ids), CHUNK):
        chunk = paper_ids[start : start + CHUNK]
        batch = db.batch()
        seen = [batch.hget(keys.paper(paper_id), "first_seen") for paper_id in chunk]
        batch.run()
        arrivals = {
            paper_id: decode_time(reply.value).timestamp()
            for paper_id, reply in zip(chunk, seen, strict=True)
            if reply.value
        }
        if arrivals:
            batch = db.batch()
            batch.zadd_new(keys.topic_arrivals(slug), arrivals)
            batch.run()
            recorded += len(arrivals)
    return recorded


def tag_keys(db: Db, keys: Keys) -> int:
    """Schema 4: the keys that change together take the hash tag `{prefix}` (see
    feedsvc.keys), so that on a Redis Cluster each atomic step stays in one slot."""
    moved = 0
    for batch_keys in db.scan_batches(f"{keys.prefix}:*"):
        pairs = [(key, new) for key in batch_keys if (new := keys.tagged_name(key)) is not None]
        db.move_keys(pairs)
        moved += len(pairs)
    return moved


MIGRATIONS = (
    Migration(2, "index the enriched papers per language", index_enriched_papers),
    Migration(3, "record when each paper joined each topic", record_arrivals),
    Migration(4, "give the keys that change together one hash tag", tag_keys),
)
LATEST = MIGRATIONS[-1].version
TAGGED_SINCE = 4
"""The first version whose keys carry the hash tag: earlier steps read the plain names."""


def migrate(db: Db, keys: Keys) -> int:
    """Bring the stored layout to LATEST; return the version found before (0: a new database)."""
    found = stored_version(db, keys)
    if found >= LATEST:
        return found
    token = uuid.uuid4().hex
    lock = keys.lock(MIGRATION_LOCK)
    while not db.one(lambda b: b.set_string(lock, token, only_new=True,
                                            expire_ms=LOCK_SECONDS * 1000)):  # fmt: skip
        time.sleep(WAIT_SECONDS)  # another process migrates: wait, then see what is left
    try:
        _apply_from(db, keys, stored_version(db, keys))
    finally:
        if db.one(lambda b: b.get(lock)) == token:
            db.one(lambda b: b.delete(lock))
    return found


def stored_version(db: Db, keys: Keys) -> int:
    raw = db.one(lambda b: b.get(keys.schema()))
    if raw is not None:
        return int(raw)
    # A paper hash under its plain name: written before versions were kept. (Today's
    # layout names only a paper's enrichments, pages and thumbnail so.)
    plain_paper = db.first_key(f"{keys.prefix}:paper:*", keys.tagged_name)
    return 1 if plain_paper else 0


def _apply_from(db: Db, keys: Keys, version: int) -> None:
    if version == 0:  # nothing stored yet: every index starts empty and is kept from here on
        _record(db, keys, LATEST)
        return
    for step in MIGRATIONS:
        if step.version > version:
            started = time.monotonic()
            touched = step.apply(db, replace(keys, tagged=step.version > TAGGED_SINCE))
            _record(db, keys, step.version)
            log.info("stored data migrated to schema %d (%s): %d records in %.1fs",
                     step.version, step.does, touched, time.monotonic() - started)  # fmt: skip


def _record(db: Db, keys: Keys, version: int) -> None:
    db.one(lambda b: b.set_string(keys.schema(), str(version)))
