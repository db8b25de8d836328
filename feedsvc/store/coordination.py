"""What workers on any number of machines agree on through Redis: locks, clock, rate windows."""

from __future__ import annotations

from feedsvc.keys import Keys
from feedsvc.store.db import Db

RATE_WINDOW_TTL_SECONDS = 180
ARXIV_MARK_TTL_SECONDS = 86400

_RENEW_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Coordination:
    """Expiring locks held by a token, Redis's clock, the arXiv mark and shared counters."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def acquire_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        key = self.keys.lock(name)
        ttl_ms = int(ttl_seconds * 1000)
        return self.db.one(lambda b: b.set_string(key, token, only_new=True, expire_ms=ttl_ms))

    def renew_lock(self, name: str, token: str, ttl_seconds: float) -> bool:
        args: list[str | int] = [token, int(ttl_seconds * 1000)]
        return bool(self.db.one(lambda b: b.eval(_RENEW_LOCK, [self.keys.lock(name)], args)))

    def release_lock(self, name: str, token: str) -> None:
        self.db.one(lambda b: b.eval(_RELEASE_LOCK, [self.keys.lock(name)], [token]))

    def redis_time(self) -> float:
        """Redis's clock, the same for every worker on every machine."""
        return self.db.one(lambda b: b.time())

    def arxiv_last_request(self) -> float:
        return float(self.db.one(lambda b: b.get(self.keys.arxiv_last_request())) or 0.0)

    def mark_arxiv_request(self) -> None:
        now = repr(self.redis_time())
        key = self.keys.arxiv_last_request()
        self.db.one(lambda b: b.set_string(key, now, expire_ms=ARXIV_MARK_TTL_SECONDS * 1000))

    def add_to_rate_window(self, kind: str, window: int, amount: int) -> int:
        """Add to a shared per-minute counter and return its new total."""
        key = self.keys.llm_rate(kind, window)
        batch = self.db.batch(atomic=True)
        total = batch.incrby(key, amount)
        batch.expire(key, RATE_WINDOW_TTL_SECONDS)
        batch.run()
        return total.value
