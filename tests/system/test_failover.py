"""A Redis Cluster master killed (SIGKILL, as a lost host) while the service runs.

Each test starts a cluster of its own (three masters, a replica each) and kills the master
that holds a key the service needs. The web answers 503 with Retry-After while the
replica is elected, at once rather than making the reader wait, and serves again once it
is, without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store, connect
from tests.servers.redis_cluster import LocalCluster
from tests.web.test_web import paper, publish

ELECTION_SECONDS = 30.0  # a generous bound: with a 1 s node timeout it takes about 2 s
ANSWER_SECONDS = 2.0
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    if (why := LocalCluster.missing()) is not None:
        pytest.skip(f"no local Redis Cluster can be started: {why}")
    cluster = LocalCluster(tmp_path / "cluster").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def on_cluster(settings: Settings, cluster: LocalCluster) -> Iterator[tuple[Settings, Store]]:
    """Settings naming the cluster, and a store on it (emptied afterwards)."""
    clustered = replace(settings, redis_url=cluster.url, publish_grace_seconds=0,
                        version_check_seconds=0)  # fmt: skip
    store = connect(clustered)
    yield clustered, store
    store.db.close()


def test_the_web_answers_503_only_while_a_new_master_is_elected(
    on_cluster: tuple[Settings, Store], cluster: LocalCluster
) -> None:
    settings, store = on_cluster
    publish(store, settings, [paper(1), paper(2)])
    offline = replace(settings, openai_base_url=None, openai_api_key=None)
    client = create_app(offline).test_client()  # its own connection, as the web makes it
    assert client.get("/feeds/testing.en.atom").status_code == 200
    lost = cluster.master_of(store.keys.topic_version("testing"))
    cluster.kill(lost)
    statuses = []
    deadline = time.monotonic() + ELECTION_SECONDS
    while time.monotonic() < deadline and statuses[-3:] != [200, 200, 200]:
        started = time.monotonic()
        answer = client.get("/feeds/testing.en.atom")
        statuses.append(answer.status_code)
        assert time.monotonic() - started < ANSWER_SECONDS, "a reader waited for the election"
        if answer.status_code == 503:
            assert int(answer.headers["Retry-After"]) > 0
        time.sleep(0.05)
    assert set(statuses) == {503, 200}, statuses
    first_ok = statuses.index(200)
    assert set(statuses[first_ok:]) == {200}, "503 again after the new master took over"
    assert cluster.master_of(store.keys.topic_version("testing")) != lost
    assert client.get("/feeds/testing.en.atom").get_data(as_text=True).count("<entry>") == 2
