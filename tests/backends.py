"""Fixtures for tests that run twice: against one Redis, and against the local Redis Cluster
of three masters (each with a replica), where every atomic step must keep its keys in one
slot. A test module (or conftest) imports them to run so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.servers.redis_cluster import LocalCluster

BACKENDS = ["redis", "cluster"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_client(
    backend: str, redis_url: str, request: pytest.FixtureRequest
) -> Iterator[redis.Redis | redis.RedisCluster]:
    """A client of the test Redis, or of the local cluster (its node the URL names)."""
    client: redis.Redis | redis.RedisCluster
    if backend == "cluster":
        cluster: LocalCluster = request.getfixturevalue("local_cluster")
        client = redis.RedisCluster("127.0.0.1", cluster.ports[0], decode_responses=True)
    else:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def backend_url(backend: str, redis_url: str, request: pytest.FixtureRequest) -> str:
    """The REDIS_URL of the backend: the test Redis, or the cluster in its documented form."""
    if backend == "cluster":
        cluster: LocalCluster = request.getfixturevalue("local_cluster")
        return cluster.url
    return redis_url
