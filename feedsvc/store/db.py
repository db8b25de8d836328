"""The one module that imports `redis`: typed commands sent in batches, errors as our own.

Every store talks to Redis through a `Batch`: commands queued together go in one round
trip, and with `atomic=True` as one MULTI/EXEC, so a write that touches several keys is
never half done. Each queued command returns a typed `Reply`, filled when the batch runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode
from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    MovedError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.retry import Retry

from feedsvc.errors import StoreError, StoreUnavailable
from feedsvc.store import replies
from feedsvc.store.replies import Reply
from feedsvc.store.streams import StreamCommands

T = TypeVar("T")

UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, ClusterDownError, MasterDownError,
               TryAgainError, SlotNotCoveredError, MovedError)  # fmt: skip
"""Errors of a Redis that is down, or of a cluster electing a new master: worth a retry."""
SOCKET_TIMEOUT_SECONDS = 5.0
CLUSTER_SCHEME_SUFFIX = "+cluster"
EXPIRED = -2  # PTTL of a key that is gone


class Batch(StreamCommands):
    """Redis commands sent together: one round trip, one MULTI/EXEC when atomic."""

    def __init__(self, pipeline: Any, on_unavailable: Callable[[], None] = lambda: None) -> None:
        self._pipeline = pipeline
        self._on_unavailable = on_unavailable
        self._replies: list[Reply[Any]] = []

    def _queue(self, convert: Callable[[Any], T], command: str, *args: Any, **kw: Any) -> Reply[T]:
        getattr(self._pipeline, command)(*args, **kw)
        reply: Reply[T] = Reply(convert)
        self._replies.append(reply)
        return reply

    def _raw(self, convert: Callable[[Any], T], *command: Any) -> Reply[T]:
        """Queue a command as sent on the wire: a cluster pipeline has no method for some
        (EVAL, MGET, TIME), yet sends them to the node of their keys."""
        return self._queue(convert, "execute_command", *command)

    def run(self) -> None:
        """Send every queued command and fill the replies."""
        if not self._replies:
            return
        try:
            with translated_errors():
                raw_replies = self._pipeline.execute()
        except StoreUnavailable:
            self._on_unavailable()
            raise
        for reply, raw in zip(self._replies, raw_replies, strict=True):
            reply.fill(raw)
        self._replies = []

    # -- strings and counters -------------------------------------------------

    def get(self, key: str) -> Reply[str | None]:
        return self._queue(replies.optional_str, "get", key)

    def mget(self, keys: Sequence[str]) -> Reply[list[str | None]]:
        return self._raw(replies.optional_strs, "MGET", *keys)

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
        return self._raw(int, "EVAL", script, len(keys), *keys, *args)

    def time(self) -> Reply[float]:
        return self._raw(replies.seconds, "TIME")


class Db:
    """A Redis connection: batches of decoded (str) commands, and raw bytes where needed.

    The client is one Redis or a Redis Cluster; a batch's keys then lie in one slot when it
    is atomic (see feedsvc.keys), and scans visit every master.
    """

    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self.cluster = isinstance(client, redis.RedisCluster)

    @cached_property
    def _binary(self) -> Any:
        """A twin client returning bytes, made when first needed (a cluster client asks
        the cluster for its layout and commands when made)."""
        return _binary_twin(self.client)

    @classmethod
    def from_url(
        cls, url: str, timeout: float = SOCKET_TIMEOUT_SECONDS, cluster: bool = False,
        cluster_retries: int | None = None,
    ) -> Db:  # fmt: skip
        """A connection whose every connect and reply waits at most `timeout` seconds; to a
        Redis Cluster when `cluster` or the URL's scheme says so (`redis+cluster://`).

        On a cluster, a command whose node fails is tried again on the node the cluster
        names next, `cluster_retries` times (default: redis-py's, with growing pauses that
        wait out most elections); the web takes one, and answers 503 sooner than that.
        """
        options: dict[str, Any] = {"decode_responses": True, "socket_timeout": timeout,
                                   "socket_connect_timeout": timeout}  # fmt: skip
        plain, names_cluster = node_url(url)
        if cluster or names_cluster:
            if cluster_retries is not None:
                options["retry"] = Retry(NoBackoff(), cluster_retries)
            return cls(redis.RedisCluster.from_url(plain, **options))
        return cls(redis.Redis.from_url(url, health_check_interval=30, **options))

    def batch(self, atomic: bool = False) -> Batch:
        if self.cluster:
            return Batch(self.client.pipeline(transaction=atomic), self._learn_layout)
        return Batch(self.client.pipeline(transaction=atomic))

    def _learn_layout(self) -> None:
        """Ask the cluster again which master serves which slots: a pipeline that met a
        lost master does not, and would keep sending to it after its replica took over."""
        with suppress(redis.RedisError, RedisClusterException):  # still electing: next time
            self.client.nodes_manager.initialize()

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

    def first_key(
        self, pattern: str, where: Callable[[str], object] = lambda key: True
    ) -> str | None:
        """Some key matching `pattern` for which `where` is true, or None when none is."""
        with translated_errors():
            keys = (str(key) for key in self.client.scan_iter(pattern, count=1000))
            return next((key for key in keys if where(key)), None)

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

    def delete_matching(self, *patterns: str) -> int:
        """Delete every key matching one of the SCAN patterns, a key at a time (on a
        cluster, the keys of one DEL must share a slot); returns how many."""
        deleted = 0
        for pattern in patterns:
            for keys in self.scan_batches(pattern):
                batch = self.batch()
                for key in keys:
                    batch.delete(key)
                batch.run()
                deleted += len(keys)
        return deleted

    def move_keys(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Rename each (old, new) key, keeping its value and expiry: RENAME on one Redis;
        on a cluster, where the two names may lie on two nodes, DUMP and RESTORE, then
        DEL (done again from the start if interrupted, the old key being kept till last).
        A key that expired since it was listed is skipped."""
        if not pairs:
            return
        with translated_errors():
            if not self.cluster:
                pipe = self.client.pipeline(transaction=False)
                for old, new in pairs:
                    pipe.rename(old, new)
                for outcome in pipe.execute(raise_on_error=False):
                    if isinstance(outcome, Exception) and "no such key" not in str(outcome):
                        raise outcome
                return
            read = self._binary.pipeline(transaction=False)
            for old, _ in pairs:
                read.dump(old)
                read.pttl(old)
            dumped = read.execute()
            write = self._binary.pipeline(transaction=False)
            for (old, new), value, ttl in zip(pairs, dumped[::2], dumped[1::2], strict=True):
                if value is not None and ttl != EXPIRED:
                    write.restore(new, max(ttl, 0), value, replace=True)
                    write.delete(old)
            write.execute()

    def close(self) -> None:
        self.client.close()
        if "_binary" in self.__dict__:
            self._binary.close()


def _binary_twin(client: Any) -> Any:
    """A client to the same Redis or cluster that returns bytes (rendered feeds, dumps)."""
    if isinstance(client, redis.RedisCluster):
        nodes = client.nodes_manager
        kwargs = {**nodes.connection_kwargs, "decode_responses": False}
        kwargs.pop("redis_connect_func", None)
        kwargs.pop("oss_cluster_maint_notifications_handler", None)
        startup = [ClusterNode(node.host, node.port)  # type: ignore[no-untyped-call]
                   for node in client.nodes_manager.nodes_cache.values()]  # fmt: skip
        return redis.RedisCluster(startup_nodes=startup, address_remap=nodes.address_remap,
                                  retry=client.retry, **kwargs)  # fmt: skip
    pool = client.connection_pool
    binary_kwargs = {**pool.connection_kwargs, "decode_responses": False}
    binary_pool = redis.ConnectionPool(connection_class=pool.connection_class, **binary_kwargs)
    return redis.Redis(connection_pool=binary_pool)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turns redis-py's errors into the project's: StoreUnavailable when unreachable."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
    except (redis.RedisError, RedisClusterException) as exc:
        raise StoreError(str(exc)) from exc


def node_url(url: str) -> tuple[str, bool]:
    """The URL of the one server it names (`redis+cluster://h:p` -> `redis://h:p`), and
    whether it names a cluster by that node."""
    scheme, _, rest = url.partition("://")
    plain_scheme = scheme.removesuffix(CLUSTER_SCHEME_SUFFIX)
    return f"{plain_scheme}://{rest}", plain_scheme != scheme


def answers(url: str) -> bool:
    """True when a Redis server answers PING at `url` within a second."""
    plain, _ = node_url(url)  # a cluster's: the node it names
    client = redis.Redis.from_url(plain, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
