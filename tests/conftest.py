"""Shared fixtures: a real Redis under a key prefix of each test's own, and replay servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from feedsvc.config import Settings
from feedsvc.keys import Keys
from feedsvc.process.localredis import free_port, start_private_redis
from feedsvc.store import Db, Store, answers
from tests.servers import ArxivReplay, FakeLLM
from tests.servers.redis_cluster import LocalCluster

TEST_REDIS_URL = os.environ.get("FEEDSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

TOPICS_TOML = """
[topics.testing]
title = "Software testing"
query = "all:testing"
languages = ["zh", "en"]
max_results = 10

[topics.also]
title = "Testing, again"
query = "ti:testing"
languages = ["en", "ja"]
max_results = 10
"""


class Clock:
    """A settable clock for the worker: tests move time instead of waiting for it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_REDIS_URL when it answers, else a private redis-server for this session."""
    if answers(TEST_REDIS_URL):
        yield TEST_REDIS_URL
        return
    port = free_port()
    process = start_private_redis(port, tmp_path_factory.mktemp("redis"), persistent=False)
    yield f"redis://127.0.0.1:{port}/15"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three masters, each with a replica, on loopback ports, for the whole session."""
    if (why := LocalCluster.missing()) is not None:
        pytest.skip(f"no local Redis Cluster can be started: {why}")
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix only this test uses; every key under it is deleted afterwards."""
    value = f"feedsvc-test-{uuid.uuid4().hex[:12]}"
    yield value
    Db(redis_client).delete_matching(*Keys(value).all_keys_patterns())


@pytest.fixture
def store(redis_client: redis.Redis, prefix: str) -> Store:
    return Store(Db(redis_client), Keys(prefix))


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(TOPICS_TOML, encoding="utf-8")
    return path


@pytest.fixture
def arxiv_replay() -> Iterator[ArxivReplay]:
    replay = ArxivReplay().start()
    yield replay
    replay.close()


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.close()


@pytest.fixture
def settings(
    redis_url: str, prefix: str, topics_file: Path, arxiv_replay: ArxivReplay, llm: FakeLLM
) -> Settings:
    """Settings pointing at the test Redis prefix and both replay servers."""
    return replace(
        Settings(),
        redis_url=redis_url,
        redis_prefix=prefix,
        topics_file=topics_file,
        arxiv_api_url=arxiv_replay.api_url,
        arxiv_html_url=arxiv_replay.html_url,
        arxiv_oai_url=arxiv_replay.oai_url,
        arxiv_delay_seconds=0.0,
        arxiv_timeout_seconds=5.0,
        public_url="http://feeds.test",
        openai_base_url=llm.base_url,
        openai_api_key="test-key",
        llm_model="test-model",
        llm_timeout_seconds=2.0,
        llm_max_retries=0,
        version_check_seconds=0.0,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce `settings` for a CLI or subprocess."""
    return settings.to_env()
