"""What enriching one item came to, what a cycle did, and how hard the worker may push."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

OutcomeKind = Literal["enriched", "skipped", "retrying", "failed"]


@dataclass(frozen=True)
class Outcome:
    """The result of one work item; a failure carries its one-line reason.

    "retrying": the item failed and is safely scheduled for another attempt; "failed": it
    gave up, and waits for `feedsvc-worker retry-failed`.
    """

    kind: OutcomeKind
    message: str = ""

    @classmethod
    def enriched(cls) -> Outcome:
        return cls("enriched")

    @classmethod
    def skipped(cls) -> Outcome:
        return cls("skipped")

    @classmethod
    def retrying(cls, message: str) -> Outcome:
        return cls("retrying", message)

    @classmethod
    def failed(cls, message: str) -> Outcome:
        return cls("failed", message)


@dataclass
class CycleReport:
    """What one fetch-and-enrich cycle did.

    `failures` are one-line reasons, of everything that failed; `final` are those nothing
    will retry on its own (a failed fetch, an item that gave up); `retrying` counts the items
    safely scheduled for another attempt.
    """

    new: int = 0
    revised: int = 0
    enriched: int = 0
    failures: list[str] = field(default_factory=list)
    final: list[str] = field(default_factory=list)
    retrying: int = 0
    budget_reached: bool = False

    def tally(self, outcome: Outcome) -> None:
        if outcome.kind == "enriched":
            self.enriched += 1
        elif outcome.kind == "retrying":
            self.failures.append(outcome.message)
            self.retrying += 1
        elif outcome.kind == "failed":
            self.fail(outcome.message)

    def fail(self, message: str) -> None:
        """Something failed that nothing retries on its own."""
        self.failures.append(message)
        self.final.append(message)


@dataclass(frozen=True)
class EnrichPolicy:
    """How hard the worker may push the enricher."""

    concurrency: int = 1
    max_attempts: int = 5
    daily_token_budget: int = 0  # 0: no budget
    claim_idle_seconds: float = 600.0
    max_deliveries: int = 5
    retry_base_seconds: float = 60.0
