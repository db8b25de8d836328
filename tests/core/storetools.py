"""What the store tests share: papers to store, and MONITOR to see what a call sent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from feedsvc.config import Topic
from feedsvc.models import Enrichment, Paper
from feedsvc.store import Store, WorkItem

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TOPIC = Topic("testing", "Testing", "all:testing", ("zh", "en"))
OTHER = Topic("other", "Other", "all:other", ("zh",))
READS = {
    "HELLO",
    "SELECT",
    "CLIENT",
    "PING",
    "HGET",
    "HMGET",
    "HGETALL",
    "SMEMBERS",
    "ZRANGEBYSCORE",
    "MGET",
    "HKEYS",
    "ZCARD",
    "HEXISTS",
    "ZREVRANGE",
}


def paper(n: int, version: int = 1, abstract: str = "We test things.") -> Paper:
    return Paper(
        id=f"2411.{n:05d}", version=version, title=f"Paper {n}", abstract=abstract,
        authors=("A. Author",), published=NOW, updated=NOW + timedelta(minutes=n, seconds=version),
        first_seen=NOW,
    )  # fmt: skip


def enrichment(p: Paper, language: str = "zh") -> Enrichment:
    return Enrichment(language, "extractive", "一句总结。", ("要点",), p.version, p.source_hash)


def commands_of(
    redis_client: redis.Redis | redis.RedisCluster, store: Store, action: Callable[[], object]
) -> list[str] | None:
    """The commands `action` sent through the store's connections, as MONITOR saw them; on
    a cluster (MONITOR sees one node) None, having run it: there the cluster itself refuses
    a MULTI/EXEC whose keys lie in two slots."""
    if isinstance(redis_client, redis.RedisCluster):
        action()
        return None
    sentinel = f"end-{uuid.uuid4().hex}"
    seen_by_port: list[tuple[str, str]] = []
    with redis_client.monitor() as monitor:
        action()
        store.db.client.echo(sentinel)
        while sentinel not in (command := monitor.next_command())["command"]:
            seen_by_port.append((command["client_port"], command["command"]))
    ours = {port for port, command in seen_by_port if store.keys.prefix in command}
    return [command for port, command in seen_by_port if port in ours]


def assert_one_atomic_step(commands: list[str] | None) -> None:
    """Every write lies inside the one MULTI ... EXEC; only reads come before it."""
    assert_atomic_steps(commands, 1)


def assert_atomic_steps(commands: list[str] | None, count: int) -> list[list[str]]:
    """Every write lies inside one of `count` MULTI ... EXEC; only reads lie between them.
    Returns the commands of each step (none on a cluster: see commands_of)."""
    if commands is None:
        return []
    assert commands.count("MULTI") == count and commands.count("EXEC") == count, commands
    steps, outside, inside = [], [], None
    for command in commands:
        if command == "MULTI":
            inside = []
        elif command == "EXEC" and inside is not None:
            steps.append(inside)
            inside = None
        elif inside is not None:
            inside.append(command)
        else:
            outside.append(command)
    assert all(c.split()[0].upper() in READS for c in outside), outside
    return steps


def failed_once(store: Store) -> tuple[Paper, WorkItem]:
    """A stored paper whose first work item failed once and waits to retry."""
    p = paper(1)
    store.papers.save_papers(TOPIC, [p])
    item = store.queue.take("c1", 1)[0]
    store.queue.schedule_retry(item, NOW, "HTTP 500 from the LLM")
    return p, item


class CountingRedis(redis.Redis):
    """A client that counts its round trips (a command sent alone, a pipeline sent) and the
    commands in them."""

    round_trips = 0
    commands = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        self.commands += 1
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        send = pipe.execute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.round_trips += 1
            self.commands += len(pipe.command_stack)
            return send(*args, **kwargs)

        pipe.execute = counted
        return pipe


def as_schema(store: Store, version: int) -> None:
    """Make the stored data look written by a release of schema `version` (3 or earlier):
    the tagged keys under their plain names, and the version recorded."""
    untag(store)
    store.db.one(lambda b: b.set_string(store.keys.schema(), str(version)))


def untag(store: Store) -> None:
    """Every tagged key under its plain name, as releases before schema 4 named them."""
    tagged = store.db.scan(f"{{{store.keys.prefix}}}:*")
    store.db.move_keys([(key, store.keys.plain_name(key)) for key in tagged])
