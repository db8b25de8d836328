"""What enriching one item came to, what a cycle did, and how hard the worker may push."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

OutcomeKind = Literal["enriched", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome:
    """The result of one work item; a failure carries its one-line reason."""

    kind: OutcomeKind
    message: str = ""

    @classmethod
    def enriched(cls) -> Outcome:
        return cls("enriched")

    @classmethod
    def skipped(cls) -> Outcome:
        return cls("skipped")

    @classmethod
    def failed(cls, message: str) -> Outcome:
        return cls("failed", message)


@dataclass
class CycleReport:
    """What one fetch-and-enrich cycle did; `failures` are one-line reasons."""

    new: int = 0
    revised: int = 0
    enriched: int = 0
    failures: list[str] = field(default_factory=list)
    budget_reached: bool = False

    def tally(self, outcome: Outcome) -> None:
        if outcome.kind == "enriched":
            self.enriched += 1
        elif outcome.kind == "failed":
            self.failures.append(outcome.message)


@dataclass(frozen=True)
class EnrichPolicy:
    """How hard the worker may push the enricher."""

    concurrency: int = 1
    max_attempts: int = 5
    daily_token_budget: int = 0  # 0: no budget
    claim_idle_seconds: float = 600.0
    max_deliveries: int = 5
    retry_base_seconds: float = 60.0
