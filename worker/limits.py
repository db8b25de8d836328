"""LLM request and token limits per minute, shared by every worker process through Redis."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from feedsvc.store import Coordination

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class RateLimiter:
    """Blocks until a call fits under FEEDSVC_LLM_RPM and FEEDSVC_LLM_TPM (0: no limit).

    Fixed one-minute windows counted in Redis: every process on every machine draws from
    the same counters. A call that does not fit waits for the next window.
    """

    def __init__(
        self,
        coordination: Coordination,
        requests_per_minute: int,
        tokens_per_minute: int,
        stop: threading.Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.coordination = coordination
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self.stop = stop
        self.clock = clock

    def acquire(self, tokens_estimate: int) -> bool:
        """Wait for room for one call of about `tokens_estimate` tokens; False if stopped."""
        tokens = min(tokens_estimate, self.tpm) if self.tpm else tokens_estimate
        while not self.stop.is_set():
            window = int(self.clock() // WINDOW_SECONDS)
            if self._take(window, tokens):
                return True
            wait = (window + 1) * WINDOW_SECONDS - self.clock()
            log.info("LLM rate limit reached; waiting %.1fs for the next minute", wait)
            self.stop.wait(max(wait, 0.05))
        return False

    def _take(self, window: int, tokens: int) -> bool:
        if not self._fits("requests", window, 1, self.rpm):
            return False
        if not self._fits("tokens", window, tokens, self.tpm):
            self.coordination.add_to_rate_window("requests", window, -1)
            return False
        return True

    def _fits(self, kind: str, window: int, amount: int, limit: int) -> bool:
        if not limit:
            return True
        if self.coordination.add_to_rate_window(kind, window, amount) <= limit:
            return True
        self.coordination.add_to_rate_window(kind, window, -amount)
        return False
