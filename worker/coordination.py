"""Coordination between worker processes on any number of machines, through Redis.

- A topic is fetched by one process at a time: a lock with an expiry, renewed while the
  fetch runs, so a process that dies frees the topic within `FETCH_LOCK_SECONDS`.
- arXiv's terms allow one request at a time and one every 3 seconds, counted across every
  machine: `ArxivGate` holds a Redis lock around each request and starts the next one only
  `spacing` seconds (by Redis's clock) after the previous one ended.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from feedsvc.keys import ARXIV_LOCK
from feedsvc.store import Coordination

log = logging.getLogger(__name__)

FETCH_LOCK_SECONDS = 60.0
# The longest a fetch may keep its topic: ten pages, three tries each, 30 s deadline and 3 s
# spacing every time, with room to spare. A holder stuck longer loses the lock.
FETCH_MAX_SECONDS = 1800.0
POLL_SECONDS = 0.05


@contextmanager
def held_lock(
    coordination: Coordination,
    name: str,
    ttl_seconds: float = FETCH_LOCK_SECONDS,
    max_hold_seconds: float = FETCH_MAX_SECONDS,
) -> Iterator[bool]:
    """Yields True while this process holds the lock, else False.

    The lock is renewed in the background for at most `max_hold_seconds`: a holder that is
    stuck (not dead, which the expiry handles) cannot keep it forever.
    """
    token = uuid.uuid4().hex
    if not coordination.acquire_lock(name, token, ttl_seconds):
        yield False
        return
    done = threading.Event()
    renew_until = time.monotonic() + max_hold_seconds - ttl_seconds
    keeper = threading.Thread(
        target=_renew, args=(coordination, name, token, ttl_seconds, renew_until, done),
        daemon=True,
    )  # fmt: skip
    keeper.start()
    try:
        yield True
    finally:
        done.set()
        keeper.join()
        coordination.release_lock(name, token)


def _renew(
    coordination: Coordination, name: str, token: str, ttl_seconds: float,
    renew_until: float, done: threading.Event,
) -> None:  # fmt: skip
    while not done.wait(ttl_seconds / 3):
        if time.monotonic() > renew_until:
            log.error("held the lock %s longer than allowed; letting it expire", name)
            return
        if not coordination.renew_lock(name, token, ttl_seconds):
            log.warning("lost the lock %s while holding it", name)
            return


class ArxivGate:
    """One arXiv request at a time, at least `spacing_seconds` apart, across all workers."""

    def __init__(
        self,
        coordination: Coordination,
        spacing_seconds: float,
        longest_request_seconds: float,
        margin_seconds: float = 5.0,
    ) -> None:
        self.coordination = coordination
        self.spacing_seconds = spacing_seconds
        # A holder that dies mid-request frees the gate once its request would have timed out.
        self.hold_seconds = longest_request_seconds + spacing_seconds + margin_seconds

    @contextmanager
    def turn(self) -> Iterator[None]:
        token = uuid.uuid4().hex
        while not self.coordination.acquire_lock(ARXIV_LOCK, token, self.hold_seconds):
            time.sleep(POLL_SECONDS)
        try:
            since = self.coordination.redis_time() - self.coordination.arxiv_last_request()
            if since < self.spacing_seconds:
                time.sleep(self.spacing_seconds - since)
            yield
        finally:
            self.coordination.mark_arxiv_request()
            self.coordination.release_lock(ARXIV_LOCK, token)
