"""Accounting: LLM calls and tokens per model, day and outcome; arXiv requests by result."""

from __future__ import annotations

from datetime import UTC, datetime

from feedsvc.keys import Keys, UsageField
from feedsvc.store.db import Db
from feedsvc.store.records import LlmUsage

USAGE_DAYS_KEPT = 400


class Accounting:
    """Counters every worker adds to and `stats` and `/metrics` read."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def record_llm_call(
        self, model: str, tokens_in: int, tokens_out: int, outcome: str, when: datetime
    ) -> None:
        """Count one call and its tokens per model, on its UTC day and in the running total."""
        day_key = self.keys.llm_usage(when.astimezone(UTC).date().isoformat())
        batch = self.db.batch(atomic=True)
        for key in (day_key, self.keys.llm_usage_total()):
            batch.hincrby(key, UsageField.calls(model), 1)
            batch.hincrby(key, UsageField.tokens_in(model), tokens_in)
            batch.hincrby(key, UsageField.tokens_out(model), tokens_out)
            batch.hincrby(key, UsageField.outcome(outcome), 1)
            batch.hincrby(key, UsageField.TOKENS, tokens_in + tokens_out)
        batch.expire(day_key, USAGE_DAYS_KEPT * 86400)
        batch.run()

    def llm_usage(self, day: str | None = None) -> LlmUsage:
        """The usage of one UTC day (YYYY-MM-DD), or of all time when `day` is None."""
        key = self.keys.llm_usage_total() if day is None else self.keys.llm_usage(day)
        counters = self.db.one(lambda b: b.hgetall(key))
        return LlmUsage.from_counters({name: int(value) for name, value in counters.items()})

    def count_arxiv_request(self, ok: bool) -> None:
        self.db.one(lambda b: b.hincrby(self.keys.arxiv_requests(), "ok" if ok else "error"))

    def arxiv_request_counts(self) -> dict[str, int]:
        counts = self.db.one(lambda b: b.hgetall(self.keys.arxiv_requests()))
        return {result: int(value) for result, value in counts.items()}
