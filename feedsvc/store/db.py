"""The one module that imports `redis`: typed commands sent in batches, errors as our own.

Every store talks to Redis through a `Batch`: commands queued together go in one round
trip, and with `atomic=True` as one MULTI/EXEC, so a write that touches several keys is
never half done. Each queued command returns a typed `Reply`, filled when the batch runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import redis

from feedsvc.errors import StoreError, StoreUnavailable
from feedsvc.store import replies
from feedsvc.store.replies import Reply
from feedsvc.store.streams import StreamCommands

T = TypeVar("T")
SOCKET_TIMEOUT_SECONDS = 5.0


class Batch(StreamCommands):
    """Redis commands sent together: one round trip, one MULTI/EXEC when atomic."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline
        self._replies: list[Reply[Any]] = []

    def _queue(self, convert: Callable[[Any], T], command: str, *args: Any, **kw: Any) -> Reply[T]:
        getattr(self._pipeline, command)(*args, **kw)
        reply: Reply[T] = Reply(convert)
        self._replies.append(reply)
        return reply

    def run(self) -> None:
        """Send every queued command and fill the replies."""
        if not self._replies:
            return
        with translated_errors():
            raw_replies = self._pipeline.execute()
        for reply, raw in zip(self._replies, raw_replies, strict=True):
            reply.fill(raw)
        self._replies = []

    # -- strings and counters -------------------------------------------------

    def get(self, key: str) -> Reply[str | None]:
        return self._queue(replies.optional_str, "get", key)

    def mget(self, keys: Sequence[str]) -> Reply[list[str | None]]:
        return self._queue(replies.optional_strs, "mget", list(keys))

    def set_string(
        self, key: str, value: str, *, only_new: bool = False, expire_ms: int | None = None
    ) -> Reply[bool]:
        return self._queue(bool, "set", key, value, nx=only_new, px=expire_ms)

    def incrby(self, key: str, amount: int = 1) -> Reply[int]:
        return self._queue(int, "incrby", key, amount)

    def expire(self, key: str, seconds: int) -> Reply[bool]:
        return self._queue(bool, "expire", key, seconds)

    def delete(self, *keys: str) -> Reply[int]:
        return self._queue(int, "delete", *keys)

    # -- hashes ---------------------------------------------------------------

    def hget(self, key: str, field: str) -> Reply[str | None]:
        return self._queue(replies.optional_str, "hget", key, field)

    def hmget(self, key: str, fields: Sequence[str]) -> Reply[list[str | None]]:
        return self._queue(replies.optional_strs, "hmget", key, list(fields))

    def hgetall(self, key: str) -> Reply[dict[str, str]]:
        return self._queue(replies.str_dict, "hgetall", key)

    def hkeys(self, key: str) -> Reply[list[str]]:
        return self._queue(replies.strs, "hkeys", key)

    def hexists(self, key: str, field: str) -> Reply[bool]:
        return self._queue(bool, "hexists", key, field)

    def hset(self, key: str, mapping: Mapping[str, str | bytes]) -> Reply[int]:
        return self._queue(int, "hset", key, mapping=dict(mapping))

    def hsetnx(self, key: str, field: str, value: str | bytes) -> Reply[bool]:
        return self._queue(bool, "hsetnx", key, field, value)

    def hdel(self, key: str, *fields: str) -> Reply[int]:
        return self._queue(int, "hdel", key, *fields)

    def hincrby(self, key: str, field: str, amount: int = 1) -> Reply[int]:
        return self._queue(int, "hincrby", key, field, amount)

    # -- sets -----------------------------------------------------------------

    def sadd(self, key: str, *members: str) -> Reply[int]:
        return self._queue(int, "sadd", key, *members)

    def srem(self, key: str, *members: str) -> Reply[int]:
        return self._queue(int, "srem", key, *members)

    def smembers(self, key: str) -> Reply[set[str]]:
        return self._queue(replies.str_set, "smembers", key)

    def srandmember(self, key: str, count: int) -> Reply[list[str]]:
        """Up to `count` distinct members, in no order."""
        return self._queue(replies.strs, "srandmember", key, count)

    def scard(self, key: str) -> Reply[int]:
        return self._queue(int, "scard", key)

    def sismember(self, key: str, member: str) -> Reply[bool]:
        return self._queue(bool, "sismember", key, member)

    # -- sorted sets ----------------------------------------------------------

    def zadd(self, key: str, scores: Mapping[str, float]) -> Reply[int]:
        return self._queue(int, "zadd", key, dict(scores))

    def zadd_new(self, key: str, scores: Mapping[str, float]) -> Reply[int]:
        """Add members not in the set yet; those in it keep their score."""
        return self._queue(int, "zadd", key, dict(scores), nx=True)

    def zrem(self, key: str, *members: str) -> Reply[int]:
        return self._queue(int, "zrem", key, *members)

    def zunionstore(
        self, destination: str, keys: Sequence[str], aggregate: str = "MAX"
    ) -> Reply[int]:
        """`destination` holds every member of the sorted sets, at its highest score (or, with
        aggregate="MIN", its lowest)."""
        return self._queue(int, "zunionstore", destination, list(keys), aggregate=aggregate)

    def zcard(self, key: str) -> Reply[int]:
        return self._queue(int, "zcard", key)

    def zscore(self, key: str, member: str) -> Reply[float | None]:
        return self._queue(replies.optional_float, "zscore", key, member)

    def zintercard(self, keys: Sequence[str]) -> Reply[int]:
        """How many members the sets (or sorted sets) share, counted by Redis (7.0+)."""
        return self._queue(int, "zintercard", len(keys), list(keys))

    def zcount(self, key: str, low: float | str, high: float | str) -> Reply[int]:
        return self._queue(int, "zcount", key, low, high)

    def zrevrange(self, key: str, start: int, stop: int) -> Reply[list[str]]:
        return self._queue(replies.strs, "zrevrange", key, start, stop)

    def zrevrangebyscore(
        self, key: str, high: float | str, low: float | str, limit: int
    ) -> Reply[list[str]]:
        return self._queue(replies.strs, "zrevrangebyscore", key, high, low, start=0, num=limit)

    def zrevrangebyscore_scored(
        self, key: str, high: float | str, low: float | str, limit: int
    ) -> Reply[list[tuple[str, float]]]:
        """Members from the highest score down to `low`, with their scores."""
        return self._queue(replies.scored, "zrevrangebyscore", key, high, low, start=0,
                           num=limit, withscores=True)  # fmt: skip

    def zrangebyscore_scored(
        self, key: str, low: float | str, high: float | str, limit: int
    ) -> Reply[list[tuple[str, float]]]:
        """Members from the lowest score up to `high`, with their scores."""
        return self._queue(replies.scored, "zrangebyscore", key, low, high, start=0,
                           num=limit, withscores=True)  # fmt: skip

    def zrangebyscore(self, key: str, low: float | str, high: float | str) -> Reply[list[str]]:
        return self._queue(replies.strs, "zrangebyscore", key, low, high)

    def zlast(self, key: str) -> Reply[tuple[str, float] | None]:
        """The member with the highest score, and its score."""
        return self._queue(replies.first_scored, "zrevrange", key, 0, 0, withscores=True)

    def zfirst(self, key: str) -> Reply[tuple[str, float] | None]:
        """The member with the lowest score, and its score."""
        return self._queue(replies.first_scored, "zrange", key, 0, 0, withscores=True)

    # -- scripts and server ---------------------------------------------------

    def eval(self, script: str, keys: Sequence[str], args: Sequence[str | int]) -> Reply[int]:
        return self._queue(int, "eval", script, len(keys), *keys, *args)

    def time(self) -> Reply[float]:
        return self._queue(replies.seconds, "time")


class Db:
    """A Redis connection: batches of decoded (str) commands, and raw bytes where needed."""

    def __init__(self, client: Any) -> None:
        self.client: Any = client
        pool = client.connection_pool
        binary_kwargs = {**pool.connection_kwargs, "decode_responses": False}
        binary_pool = redis.ConnectionPool(connection_class=pool.connection_class, **binary_kwargs)
        self._binary: Any = redis.Redis(connection_pool=binary_pool)

    @classmethod
    def from_url(cls, url: str, timeout: float = SOCKET_TIMEOUT_SECONDS) -> Db:
        """A connection whose every connect and reply waits at most `timeout` seconds."""
        return cls(
            redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                health_check_interval=30,
            )
        )

    def batch(self, atomic: bool = False) -> Batch:
        return Batch(self.client.pipeline(transaction=atomic))

    def one(self, command: Callable[[Batch], Reply[T]]) -> T:
        """Run a single command: `db.one(lambda b: b.hget(key, field))`."""
        batch = self.batch()
        reply = command(batch)
        batch.run()
        return reply.value

    def ping(self) -> None:
        with translated_errors():
            self.client.ping()

    def ensure_group(self, stream: str, group: str) -> None:
        """Create the stream and its consumer group unless both exist."""
        try:
            with translated_errors():
                self.client.xgroup_create(stream, group, id="0", mkstream=True)
        except StoreError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def hgetall_bytes(self, key: str) -> dict[str, bytes]:
        """A hash whose values are raw bytes (rendered feeds)."""
        with translated_errors():
            raw = self._binary.hgetall(key)
        return {name.decode(): value for name, value in raw.items()}

    def scan(self, pattern: str) -> list[str]:
        with translated_errors():
            return [str(key) for key in self.client.scan_iter(pattern, count=1000)]

    def first_key(self, pattern: str) -> str | None:
        """Some key matching `pattern`, or None when there is none."""
        with translated_errors():
            return next((str(key) for key in self.client.scan_iter(pattern, count=1000)), None)

    def scan_batches(self, pattern: str, size: int = 1000) -> Iterator[list[str]]:
        """Every key matching `pattern`, a list at a time, without holding them all."""
        with translated_errors():
            keys: list[str] = []
            for key in self.client.scan_iter(pattern, count=size):
                keys.append(str(key))
                if len(keys) >= size:
                    yield keys
                    keys = []
            if keys:
                yield keys

    def close(self) -> None:
        self.client.close()
        self._binary.close()


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turns redis-py's errors into the project's: StoreUnavailable when unreachable."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(str(exc)) from exc
    except redis.RedisError as exc:
        raise StoreError(str(exc)) from exc


def answers(url: str) -> bool:
    """True when a Redis server answers PING at `url` within a second."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
