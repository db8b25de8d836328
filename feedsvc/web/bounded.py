"""A least-recently-used map bounded by entries and by bytes: for anything requests fill.

Clients choose what requests hold, so a cache keyed or sized by them needs a bound on both
how many entries it keeps and how much memory they take.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLru(Generic[K, V]):
    """At most `max_entries` entries of at most `max_bytes` in all, as `size_of` measures them.

    The least recently used entries go first; an entry bigger than `max_bytes` is not kept.
    """

    def __init__(self, max_entries: int, max_bytes: int, size_of: Callable[[K, V], int]) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size_of = size_of
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        size = self.size_of(key, value)
        with self._lock:
            self._remove(key)
            if size > self.max_bytes:
                return
            self._entries[key] = (value, size)
            self.bytes += size
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                self._remove(next(iter(self._entries)))

    def _remove(self, key: K) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self.bytes -= found[1]
