"""kill -9 after any Redis command of the worker: the next run finishes everything.

A proxy between the worker and a real Redis counts the worker's commands and kills it with
SIGKILL right after the N-th one, for every N of a small run (two papers, two languages).
Just before the N-th command, a reader fetches every feed through the web app, so a feed
rendered between two steps that belong together would stay stale. Then:

- a run to which arXiv shows nothing new (as a later fetch would not show these papers
  again) must finish every paper that was stored: enriched in every language and shown in
  every feed;
- a run to which arXiv shows the papers again must leave every paper stored, enriched and
  shown;

with at most the one interrupted LLM call made twice.

The test runs against one Redis and against the local Redis Cluster, where a proxy in front
of each node counts the worker's commands to any of them.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from urllib.parse import urlsplit

import pytest
import redis
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import Settings, Topic, load_topics
from feedsvc.keys import Keys
from feedsvc.store import Db, Store
from tests.backends import backend, backend_url, redis_client
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from tests.servers.redis_cluster import LocalCluster
from tests.system.redis_proxy import ClusterProxies, CommandProxy
from worker.arxiv_source import ArxivSource
from worker.assembly import assemble
from worker.coordination import ArxivGate
from worker.enrich import LLMEnricher, build_llm_client
from worker.outcome import EnrichPolicy

__all__ = ["backend", "backend_url", "redis_client"]  # fixtures: every test runs on both

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
PAPERS = 2
LOCK_SECONDS = 0.2  # fetch lock and arXiv gate: a killed holder frees them this soon
KILLED = -9
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def proxy(backend: str, redis_url: str, request: pytest.FixtureRequest) -> Iterator[Proxied]:
    """The proxy (on a cluster, one per node) the killed worker reaches Redis through."""
    server: CommandProxy | ClusterProxies
    if backend == "cluster":
        cluster: LocalCluster = request.getfixturevalue("local_cluster")
        server = ClusterProxies(cluster.ports).start()
        connect = partial(_cluster_through, cluster.ports[0], server.remap)
    else:
        parts = urlsplit(redis_url)
        server = CommandProxy((parts.hostname or "127.0.0.1", parts.port or 6379)).start()
        connect = partial(Db.from_url, f"redis://127.0.0.1:{server.port}/15")
    yield Proxied(server, connect)
    server.close()


@dataclass
class Proxied:
    """The proxy, and how a worker connects through it."""

    server: CommandProxy | ClusterProxies
    connect: Callable[[], Db]


def _cluster_through(port: int, remap: Callable[[tuple[str, int]], tuple[str, int]]) -> Db:
    client = redis.RedisCluster("127.0.0.1", port, address_remap=remap, decode_responses=True,
                                socket_timeout=5)  # fmt: skip
    return Db(client)


@pytest.fixture
def topic(settings: Settings, arxiv_replay: ArxivReplay) -> Topic:
    arxiv_replay.listing = fixture_entries(LISTING)[:PAPERS]
    testing = next(t for t in load_topics(settings.topics_file) if t.slug == "testing")
    return replace(testing, languages=("zh", "en"))


def fork_worker(
    settings: Settings, topic: Topic, connect: Callable[[], Db]
) -> tuple[int, Callable[[], None]]:
    """Fork a worker that runs `once` through `connect` when told to go: (pid, go)."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child
        pid = os.fork()  # only uses its own sockets and threads
    if pid == 0:
        code = 3
        try:
            os.read(read_end, 1)
            code = _worker_once(settings, topic, connect)
        finally:
            os._exit(code)
    os.close(read_end)

    def go() -> None:
        os.write(write_end, b"!")
        os.close(write_end)

    return pid, go


def run_worker(settings: Settings, topic: Topic, redis_url: str) -> int:
    """Run `once` in a forked worker to the end; its exit code."""
    pid, go = fork_worker(settings, topic, partial(Db.from_url, redis_url))
    go()
    return exit_code(pid)


def _worker_once(settings: Settings, topic: Topic, connect: Callable[[], Db]) -> int:
    store = Store(connect(), Keys(settings.redis_prefix))
    gate = ArxivGate(store.coordination, 0, LOCK_SECONDS / 2, margin_seconds=LOCK_SECONDS / 2)
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0, gate=gate.turn)
    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model)
    policy = EnrichPolicy(concurrency=1, claim_idle_seconds=0.01)
    worker = assemble([topic], store, source, enricher, f"c{os.getpid()}", policy=policy,
                      fetch_lock_seconds=LOCK_SECONDS)  # fmt: skip
    worker.scheduler.run_once()
    return 0


def exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def feed_paths(topic: Topic) -> list[str]:
    return [f"/feeds/{topic.slug}.{language}.atom" for language in topic.languages]


def crash_after(
    n: int, settings: Settings, topic: Topic, proxy: Proxied, client: FlaskClient
) -> int:
    """Run a worker killed after its n-th Redis command; its exit code (KILLED if it was)."""
    pid, go = fork_worker(settings, topic, proxy.connect)

    def read_every_feed() -> None:
        for path in feed_paths(topic):
            client.get(path)

    proxy.server.arm(pid, n, before_last=read_every_feed)
    go()
    return exit_code(pid)


def assert_finished(store: Store, topic: Topic, client: FlaskClient, papers: int, n: int) -> None:
    """`papers` papers are stored, each enriched in every language and shown in every feed."""
    paper_ids = store.topics.paper_ids(topic.slug)
    assert len(paper_ids) == papers, f"killed after command {n}"
    for language in topic.languages:
        for paper_id in paper_ids:
            paper = store.papers.load_paper(paper_id)
            enrichment = store.enrichments.load_enrichment(paper_id, language)
            assert paper is not None and enrichment is not None, (n, paper_id, language)
            assert enrichment.source_hash == paper.source_hash
    assert store.queue.waiting_count() == 0 and store.queue.retry_count() == 0, n
    for path in feed_paths(topic):
        feed = etree.fromstring(client.get(path).data)
        entries = feed.findall(f"{ATOM}entry")
        enriched = [e for e in entries if e.find(f"{ATOM}summary") is not None]
        assert len(entries) == len(enriched) == papers, (n, path)


def wait_for_locks(store: Store) -> None:
    """A killed holder's lock expires on its own; the next run needs the topic free."""
    deadline = time.monotonic() + 5
    while store.db.scan(store.keys.lock("*")) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_worker_killed_after_any_redis_command_loses_nothing(
    settings: Settings, topic: Topic, proxy: Proxied, store: Store, backend_url: str,
    llm: FakeLLM, arxiv_replay: ArxivReplay,
) -> None:  # fmt: skip
    web = replace(settings, publish_grace_seconds=0, version_check_seconds=0)
    client = create_app(web, store).test_client()
    listing = arxiv_replay.listing
    n, crashes = 0, 0
    while True:
        n += 1
        store.db.delete_matching(*store.keys.all_keys_patterns())
        calls_before = len(llm.calls)
        if crash_after(n, settings, topic, proxy, client) != KILLED:
            break  # the run finished before its n-th command: every point was tried
        crashes += 1
        arxiv_replay.listing = []
        assert run_worker(settings, topic, backend_url) == 0, f"recovery after command {n}"
        assert_finished(store, topic, client, store.topics.paper_count(topic.slug), n)
        arxiv_replay.listing = listing
        wait_for_locks(store)
        assert run_worker(settings, topic, backend_url) == 0, f"recovery after command {n}"
        assert_finished(store, topic, client, PAPERS, n)
        made = len(llm.calls) - calls_before
        assert made <= PAPERS * len(topic.languages) + 1, f"{made} LLM calls, killed after {n}"
    assert crashes == n - 1 and crashes > 50
    print(f"\n{crashes} crash points tried, every one recovered")
