"""Every stored format of feedsvc: key names, stream members and fields, lock names, hash fields.

These are stored data: once shipped, never rename one (schema 4 renamed the keys below that
change together, with a migration).

Keys that one atomic step changes together share the hash tag `{prefix}`: on a Redis
Cluster they sit in one hash slot, so a MULTI/EXEC or a script may touch them all. The bulk
of the data, each written alone (a paper's enrichments, pages and thumbnail, rendered feeds
and archives), and single counters and locks keep plain `prefix:` names and spread over the
cluster's nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAGGED_SHAPES = re.compile(
    r"paper:[^:]+(:topics)?|enriched:[^:]+|pages:(pending|attempts)|thumbnails"
    r"|topic:[^:]+:(version|days|papers|arrivals|status)|feed:[^:]+:[^:]+:(version|days)"
    r"|all:[^:]+:(arrivals|papers)|enrich:(queue|waiting|retry|attempts|failures|dead|failed)"
    r"|llm:usage:[^:]+|llm:batches"
)
"""What follows the prefix in the name of every key under the hash tag."""


@dataclass(frozen=True)
class Keys:
    """Key builders under one prefix (default 'feedsvc'; tests use a prefix of their own).

    `tagged=False` names the keys as schema 3 and earlier did, all under `prefix:`: the
    schema 4 migration reads them.
    """

    prefix: str = "feedsvc"
    tagged: bool = True

    @property
    def tag(self) -> str:
        """What the keys that change together start with: `{prefix}`, a hash tag."""
        return f"{{{self.prefix}}}" if self.tagged else self.prefix

    def tagged_name(self, plain: str) -> str | None:
        """The name schema 4 gives a key schema 3 named `plain`; None if it keeps it."""
        rest = plain.removeprefix(f"{self.prefix}:")
        if rest == plain or not TAGGED_SHAPES.fullmatch(rest):
            return None
        return f"{{{self.prefix}}}:{rest}"

    def paper(self, paper_id: str) -> str:
        """Hash: arXiv metadata of one paper, keyed by its versionless id."""
        return f"{self.tag}:paper:{paper_id}"

    def enrichment(self, paper_id: str, language: str) -> str:
        """Hash: the enrichment of one paper in one language."""
        return f"{self.prefix}:paper:{paper_id}:enrichment:{language}"

    def enrichment_pattern(self) -> str:
        """A SCAN pattern matching every enrichment hash (the schema 2 migration reads them)."""
        return f"{self.prefix}:paper:*:enrichment:*"

    def paper_of_enrichment(self, key: str) -> tuple[str, str]:
        """'feedsvc:paper:2412.01234:enrichment:zh' -> ('2412.01234', 'zh')."""
        paper, _, language = key.removeprefix(f"{self.prefix}:paper:").rpartition(":enrichment:")
        return paper, language

    def enriched(self, language: str) -> str:
        """Set: ids of the papers enriched in `language`, so counts never read every paper."""
        return f"{self.tag}:enriched:{language}"

    def enrich_identity(self) -> str:
        """String: JSON [method, model, prompt version] stored results were last checked against."""
        return f"{self.prefix}:enrich:identity"

    def schema(self) -> str:
        """String: the version of the stored layout; start-up migrates older data once."""
        return f"{self.prefix}:schema"

    def paper_pages(self, paper_id: str) -> str:
        """Hash: what the paper's HTML view and OAI-PMH record said of its latest version:
        its first figures and its licence (PaperPages)."""
        return f"{self.prefix}:paper:{paper_id}:pages"

    def pages_pending(self) -> str:
        """Set: ids of papers whose latest version's HTML view and licence are still to be
        fetched."""
        return f"{self.tag}:pages:pending"

    def paper_thumbnail(self, paper_id: str) -> str:
        """Hash: the lead figure's thumbnail (PNG bytes) and the paper version it is of."""
        return f"{self.prefix}:paper:{paper_id}:thumbnail"

    def thumbnails(self) -> str:
        """Sorted set: papers with a thumbnail, by when it was made: the oldest go first."""
        return f"{self.tag}:thumbnails"

    def pages_attempts(self) -> str:
        """Hash: failed attempts at a pending paper's pages, by id."""
        return f"{self.tag}:pages:attempts"

    def paper_topics(self, paper_id: str) -> str:
        """Set: slugs of the topics a paper belongs to."""
        return f"{self.tag}:paper:{paper_id}:topics"

    def topic_version(self, slug: str) -> str:
        """Counter: bumped whenever the topic's papers or their metadata change."""
        return f"{self.tag}:topic:{slug}:version"

    def feed_version(self, slug: str, language: str) -> str:
        """Counter: bumped whenever an enrichment shown in this topic's feed changes."""
        return f"{self.tag}:feed:{slug}:{language}:version"

    def topic_days(self, slug: str) -> str:
        """Hash: announcement day (YYYY-MM-DD) -> counter, bumped when a paper of that day
        changes in place for the topic (a new version, metadata added)."""
        return f"{self.tag}:topic:{slug}:days"

    def feed_days(self, slug: str, language: str) -> str:
        """Hash: announcement day (YYYY-MM-DD) -> counter, bumped when an enrichment of one
        of that day's papers changes in this feed: the digest re-renders that day alone."""
        return f"{self.tag}:feed:{slug}:{language}:days"

    def rendered(self, slug: str, language: str, variant: str) -> str:
        """Hash: one rendered feed (body, gzip body, etag, version ...) shared by web workers."""
        return f"{self.prefix}:feed:{slug}:{language}:rendered:{variant}"

    def topic_papers(self, slug: str) -> str:
        """Sorted set: paper ids of a topic, scored by their last update (Unix seconds)."""
        return f"{self.tag}:topic:{slug}:papers"

    def topic_arrivals(self, slug: str) -> str:
        """Sorted set: paper ids of a topic, scored by when each joined it (Unix seconds),
        which never changes: the topic's weekly archives."""
        return f"{self.tag}:topic:{slug}:arrivals"

    def archive(self, slug: str, language: str, variant: str) -> str:
        """Hash: a week's archive as first rendered once the week was over (gzip body, etag
        ...), kept for good: its bytes never change."""
        return f"{self.prefix}:feed:{slug}:{language}:archive:{variant}"

    def union_arrivals(self, language: str) -> str:
        """Sorted set, kept a minute: the papers of every topic with `language`, scored by
        when each first joined one of them; made by the web for the weekly archives of the
        feed of every topic."""
        return f"{self.tag}:all:{language}:arrivals"

    def union_papers(self, language: str) -> str:
        """Sorted set, kept a minute: the papers of every topic with `language`, scored as in
        topic_papers; made by the web when it renders the feed of every topic."""
        return f"{self.tag}:all:{language}:papers"

    def topic_status(self, slug: str) -> str:
        """Hash: last fetch time, last error and its time for a topic."""
        return f"{self.tag}:topic:{slug}:status"

    def topic_backfilled(self, slug: str) -> str:
        """Set: ISO dates whose backfill finished, so an interrupted backfill resumes."""
        return f"{self.prefix}:topic:{slug}:backfilled"

    def enrich_queue(self) -> str:
        """Stream: enrichment work items (paper id, language); consumer group below."""
        return f"{self.tag}:enrich:queue"

    def enrich_waiting(self) -> str:
        """Set: 'paper_id|language' members queued or parked for retry, not yet done."""
        return f"{self.tag}:enrich:waiting"

    def enrich_retry(self) -> str:
        """Sorted set: 'paper_id|language' members waiting to retry, scored by due time."""
        return f"{self.tag}:enrich:retry"

    def enrich_attempts(self) -> str:
        """Hash: failed attempts so far per 'paper_id|language'."""
        return f"{self.tag}:enrich:attempts"

    def enrich_failures(self) -> str:
        """Hash: the last failure reason per 'paper_id|language'."""
        return f"{self.tag}:enrich:failures"

    def enrich_dead(self) -> str:
        """Hash: 'paper_id|language' -> JSON {deliveries, at} of items delivered too often."""
        return f"{self.tag}:enrich:dead"

    def lock(self, name: str) -> str:
        """String: a lock's holder token, with an expiry (see fetch_lock_name, ARXIV_LOCK)."""
        return f"{self.prefix}:lock:{name}"

    def arxiv_last_request(self) -> str:
        """String: Redis time (seconds) when the last arXiv request by any worker ended."""
        return f"{self.prefix}:arxiv:last_request"

    def enrich_failed(self) -> str:
        """Hash: 'paper_id|language' -> JSON {reason, source_hash, at} of items that gave up."""
        return f"{self.tag}:enrich:failed"

    def llm_usage(self, day: str) -> str:
        """Hash: LLM calls, tokens and outcomes per model on one UTC day (YYYY-MM-DD)."""
        return f"{self.tag}:llm:usage:{day}"

    def llm_usage_total(self) -> str:
        """Hash: LLM calls, tokens and outcomes per model since the start."""
        return f"{self.tag}:llm:usage:total"

    def arxiv_requests(self) -> str:
        """Hash: arXiv API requests made by every worker, 'ok' and 'error'."""
        return f"{self.prefix}:arxiv:requests"

    def llm_batches(self) -> str:
        """Hash: batch id -> JSON {members, created} of Batch API jobs not yet applied."""
        return f"{self.tag}:llm:batches"

    def llm_rate(self, kind: str, window: int) -> str:
        """String: requests or tokens spent in one minute window, shared by all workers."""
        return f"{self.prefix}:llm:rate:{kind}:{window}"

    def plain_name(self, tagged: str) -> str:
        """The name schema 3 and earlier gave a key that schema 4 tags (tagged_name undone)."""
        return f"{self.prefix}:{tagged.removeprefix(f'{{{self.prefix}}}:')}"

    def all_keys_patterns(self) -> tuple[str, str]:
        """SCAN patterns that together match every key of this prefix, tagged or not."""
        return f"{self.prefix}:*", f"{{{self.prefix}}}:*"


ENRICH_GROUP = "enrichers"
"""The consumer group of the enrichment stream."""

ARXIV_LOCK = "arxiv"
"""The lock name held around each arXiv request, by any worker."""

_MEMBER_SEPARATOR = "|"
STREAM_PAPER_FIELD = "paper"
STREAM_LANGUAGE_FIELD = "lang"


MIGRATION_LOCK = "migrate"
"""The lock name held while the stored layout is migrated."""


def fetch_lock_name(slug: str) -> str:
    """The lock name held while a topic is fetched."""
    return f"fetch:{slug}"


def work_member(paper_id: str, language: str) -> str:
    """'paper_id|language': one enrichment to do, as sets, hashes and batches hold it."""
    return f"{paper_id}{_MEMBER_SEPARATOR}{language}"


def split_work_member(member: str) -> tuple[str, str]:
    """'2412.01234|zh' -> ('2412.01234', 'zh')."""
    paper_id, language = member.rsplit(_MEMBER_SEPARATOR, 1)
    return paper_id, language


def stream_fields(paper_id: str, language: str) -> dict[str, str]:
    """The fields of one entry of the enrichment stream."""
    return {STREAM_PAPER_FIELD: paper_id, STREAM_LANGUAGE_FIELD: language}


class UsageField:
    """Field names of the LLM usage hashes: per model, per outcome, and the token total."""

    TOKENS = "tokens"

    @staticmethod
    def calls(model: str) -> str:
        return f"calls:{model}"

    @staticmethod
    def tokens_in(model: str) -> str:
        return f"tokens_in:{model}"

    @staticmethod
    def tokens_out(model: str) -> str:
        return f"tokens_out:{model}"

    @staticmethod
    def outcome(name: str) -> str:
        return f"outcome:{name}"

    @staticmethod
    def parse(field: str) -> tuple[str, str]:
        """('calls' | 'tokens_in' | 'tokens_out' | 'outcome' | 'tokens', model or outcome)."""
        kind, _, label = field.partition(":")
        return kind, label
