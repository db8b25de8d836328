"""Accounting: LLM calls and tokens per model, day and outcome; arXiv requests by result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from feedsvc.keys import Keys, UsageField
from feedsvc.store.db import Batch, Db
from feedsvc.store.records import LlmCall, LlmUsage

USAGE_DAYS_KEPT = 400


def add_llm_calls(batch: Batch, keys: Keys, calls: Sequence[LlmCall]) -> None:
    """Queue: count each call and its tokens per model, on its UTC day and in the total."""
    for call in calls:
        day_key = keys.llm_usage(call.at.astimezone(UTC).date().isoformat())
        for key in (day_key, keys.llm_usage_total()):
            batch.hincrby(key, UsageField.calls(call.model), 1)
            batch.hincrby(key, UsageField.tokens_in(call.model), call.tokens_in)
            batch.hincrby(key, UsageField.tokens_out(call.model), call.tokens_out)
            batch.hincrby(key, UsageField.outcome(call.outcome), 1)
            batch.hincrby(key, UsageField.TOKENS, call.tokens_in + call.tokens_out)
        batch.expire(day_key, USAGE_DAYS_KEPT * 86400)


class Accounting:
    """Counters every worker adds to and `stats` and `/metrics` read."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def record_llm_call(
        self, model: str, tokens_in: int, tokens_out: int, outcome: str, when: datetime
    ) -> None:
        """Count one call and its tokens per model, on its UTC day and in the running total."""
        self.record_llm_calls([LlmCall(model, tokens_in, tokens_out, outcome, when)])

    def record_llm_calls(self, calls: Sequence[LlmCall]) -> None:
        """Count calls whose result is stored elsewhere (or never): one step."""
        if not calls:
            return
        batch = self.db.batch(atomic=True)
        add_llm_calls(batch, self.keys, calls)
        batch.run()

    def llm_usage(self, day: str | None = None) -> LlmUsage:
        """The usage of one UTC day (YYYY-MM-DD), or of all time when `day` is None."""
        key = self.keys.llm_usage_total() if day is None else self.keys.llm_usage(day)
        counters = self.db.one(lambda b: b.hgetall(key))
        return LlmUsage.from_counters({name: int(value) for name, value in counters.items()})

    def count_arxiv_request(self, ok: bool) -> None:
        self.db.one(lambda b: b.hincrby(self.keys.arxiv_requests(), "ok" if ok else "error"))

    def count_arxiv_page_request(self, ok: bool) -> None:
        """A request for a paper's HTML view or OAI-PMH record (not the API's count)."""
        field = "pages_ok" if ok else "pages_error"
        self.db.one(lambda b: b.hincrby(self.keys.arxiv_requests(), field))

    def arxiv_request_counts(self) -> dict[str, int]:
        counts = self.db.one(lambda b: b.hgetall(self.keys.arxiv_requests()))
        return {result: int(value) for result, value in counts.items()}
