"""The names in the work stream's consumer group: one per worker process that ever read it."""

from __future__ import annotations

from feedsvc.keys import ENRICH_GROUP, Keys
from feedsvc.store.db import Db

# Forget a consumer of the group, unless entries are still pending for it: one step.
_FORGET_CONSUMER = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""


class ConsumerGroup:
    """Takes a worker's name out of the group when it leaves, and reaps the long gone."""

    def __init__(self, db: Db, keys: Keys) -> None:
        self.db = db
        self.keys = keys

    def forget_consumer(self, consumer: str) -> bool:
        """Remove a consumer with nothing pending from the group (a worker that exits)."""
        self.db.ensure_group(self.keys.enrich_queue(), ENRICH_GROUP)  # none yet if it took nothing
        return self._forget(consumer)

    def forget_idle_consumers(self, idle_seconds: float) -> int:
        """Remove every consumer idle that long with nothing pending; they pile up, one per
        worker process ever started. A live one that is only idle comes back when it reads."""
        gone = [name for name, pending, idle in self._listed() if not pending
                and idle >= idle_seconds]  # fmt: skip
        return sum(self._forget(name) for name in gone)

    def consumers(self) -> list[str]:
        return [name for name, _pending, _idle in self._listed()]

    def workers(self) -> list[tuple[str, int, float]]:
        """(name, entries in hand, seconds since it last read) of every worker the group
        knows: `<host>-<pid>`, on any host."""
        return self._listed()

    def _listed(self) -> list[tuple[str, int, float]]:
        """(name, pending entries, idle seconds) of each consumer of the group."""
        self.db.ensure_group(self.keys.enrich_queue(), ENRICH_GROUP)
        return self.db.one(lambda b: b.xconsumers(self.keys.enrich_queue(), ENRICH_GROUP))

    def _forget(self, consumer: str) -> bool:
        key, args = self.keys.enrich_queue(), [ENRICH_GROUP, consumer]
        return self.db.one(lambda b: b.eval(_FORGET_CONSUMER, [key], args)) >= 0
