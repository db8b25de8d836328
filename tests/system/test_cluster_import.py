"""Moving to a Redis Cluster as the README says: a single Redis migrated to schema 4 is
copied with `redis-cli --cluster import`, and the store on the cluster reads it all back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.keys import Keys
from feedsvc.process.localredis import free_port, start_private_redis
from feedsvc.store import Db, Store
from tests.core.storetools import NOW, TOPIC, enrichment, paper
from tests.servers.redis_cluster import LocalCluster


@pytest.fixture
def old_redis(tmp_path: Path) -> Iterator[Store]:
    """A private redis-server (the import reads its database 0) holding one prefix's data."""
    port = free_port()
    process = start_private_redis(port, tmp_path / "single", persistent=False)
    store = Store(Db.from_url(f"redis://127.0.0.1:{port}/0"), Keys("moved"))
    yield store
    store.db.close()
    process.terminate()
    process.wait(timeout=10)


def test_a_migrated_redis_copied_into_a_cluster_reads_back_whole(
    old_redis: Store, local_cluster: LocalCluster
) -> None:
    papers = [paper(1), paper(2)]
    old_redis.papers.save_papers(TOPIC, papers, fetched_at=NOW)
    item = old_redis.queue.take("host-1", 1)[0]
    done = enrichment(papers[0], item.language)
    old_redis.enrichments.save_enrichment(item.paper_id, done, item)
    old_redis.migrate()
    source = old_redis.db.client.connection_pool.connection_kwargs["port"]
    subprocess.run(
        ["redis-cli", "--cluster", "import", f"127.0.0.1:{local_cluster.ports[0]}",
         "--cluster-from", f"127.0.0.1:{source}", "--cluster-copy"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    moved = Store(Db.from_url(local_cluster.url), Keys("moved"))
    try:
        assert moved.migrated()
        assert moved.topics.paper_ids(TOPIC.slug) == ["2411.00002", "2411.00001"]
        assert moved.enrichments.load_enrichment(item.paper_id, item.language) == done
        assert moved.queue.waiting_count() == 3
        assert len(moved.queue.take("host-2", 10)) == 3  # the group came along, at its place
    finally:
        moved.db.delete_matching(*moved.keys.all_keys_patterns())
        moved.db.close()
