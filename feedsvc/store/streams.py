"""The stream commands of a Batch, for the work queue's stream and its consumer group."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from feedsvc.store import replies
from feedsvc.store.replies import Reply, StreamEntry

T = TypeVar("T")


class StreamCommands:
    """The stream commands of a Batch: the work queue's stream and its consumer group."""

    def _queue(self, convert: Callable[[Any], T], command: str, *args: Any, **kw: Any) -> Reply[T]:
        raise NotImplementedError  # Batch queues the command

    def xadd(self, key: str, fields: Mapping[str, str]) -> Reply[str]:
        return self._queue(str, "xadd", key, dict(fields))

    def xlen(self, key: str) -> Reply[int]:
        return self._queue(int, "xlen", key)

    def xack(self, key: str, group: str, entry_id: str) -> Reply[int]:
        return self._queue(int, "xack", key, group, entry_id)

    def xdel(self, key: str, entry_id: str) -> Reply[int]:
        return self._queue(int, "xdel", key, entry_id)

    def xreadgroup(
        self, group: str, consumer: str, key: str, count: int
    ) -> Reply[list[StreamEntry]]:
        return self._queue(
            replies.read_entries, "xreadgroup", group, consumer, {key: ">"}, count=count
        )

    def xautoclaim(
        self, key: str, group: str, consumer: str, min_idle_ms: int, count: int
    ) -> Reply[list[StreamEntry]]:
        return self._queue(replies.claimed_entries, "xautoclaim", key, group, consumer,
                           min_idle_time=min_idle_ms, count=count)  # fmt: skip

    def xdeliveries(self, key: str, group: str, entry_id: str) -> Reply[int]:
        """How many times a pending entry was delivered (0 if it is not pending)."""
        return self._queue(replies.deliveries, "xpending_range", key, group, entry_id, entry_id, 1)

    def xconsumers(self, key: str, group: str) -> Reply[list[tuple[str, int, float]]]:
        """(name, pending entries, idle seconds) of each consumer of the group."""
        return self._queue(replies.consumers, "xinfo_consumers", key, group)
