"""LLM calls made but not yet counted in Redis: each is stored with what it paid for.

The enricher reports every HTTP call as it ends (model, tokens, outcome). The calls wait
here, per thread, until the step that stores the result of the work they were made for
(the enrichment, the retry or the failure), and are counted in that same transaction: no
round trip of their own, and a result is never stored without what it cost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from feedsvc.store import LlmCall


class PendingUsage:
    """Each thread's calls since its last `take`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._local = threading.local()

    def record(self, model: str, tokens_in: int, tokens_out: int, outcome: str) -> None:
        """The enricher's CallRecorder: one call of this thread ended."""
        self._calls().append(LlmCall(model, tokens_in, tokens_out, outcome, self.clock()))

    def take(self) -> list[LlmCall]:
        """This thread's calls so far; they are the caller's to store from now on."""
        calls = self._calls()
        self._local.calls = []
        return calls

    def _calls(self) -> list[LlmCall]:
        calls: list[LlmCall] | None = getattr(self._local, "calls", None)
        if calls is None:
            calls = self._local.calls = []
        return calls
