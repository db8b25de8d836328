"""A Redis Cluster master killed (SIGKILL, as a lost host) while the service runs.

Each test starts a cluster of its own (three masters, a replica each) and kills the master
that holds a key the service needs. The web answers 503 with Retry-After while the
replica is elected, at once rather than making the reader wait, and serves again once it
is, without a restart. A worker running meanwhile loses nothing: every paper ends stored,
enriched in every language and shown, and every enrichment stored and replicated before the
kill is still the one stored after (none made again; replication is asynchronous, so what
the master took in its last moments may die with it and is made again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import Settings, Topic, load_topics
from feedsvc.errors import StoreError
from feedsvc.models import Enrichment
from feedsvc.store import Store, connect
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from tests.servers.redis_cluster import LocalCluster
from tests.web.test_web import paper, publish
from worker import scheduler
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.enrich import LLMEnricher, build_llm_client
from worker.enrich.prompt import language_name
from worker.outcome import EnrichPolicy

ELECTION_SECONDS = 30.0  # a generous bound: with a 1 s node timeout it takes about 2 s
LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
PAPERS = 4
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
    cluster.wait_replicated(lost)  # the papers stored reached its replica
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


@pytest.mark.parametrize("holder", ["queue", "enrichments"])
def test_a_master_killed_during_a_worker_run_loses_nothing(
    holder: str, on_cluster: tuple[Settings, Store], cluster: LocalCluster,
    arxiv_replay: ArxivReplay, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(scheduler, "OUTAGE_BACKOFF_SECONDS", 0.2)  # wait the outage out fast
    settings, store = on_cluster
    arxiv_replay.listing = fixture_entries(LISTING)[:PAPERS]
    topic = replace(_testing(settings), languages=("zh", "en"))
    acknowledged = _recording_saves(store)
    llm.latency_seconds = 0.05  # the run lasts long enough to be cut in the middle
    stop = threading.Event()
    worker = _worker(settings, store, topic, stop)
    thread = threading.Thread(target=worker.scheduler.run_forever, args=(0.2,))
    thread.start()
    try:
        _wait_for(lambda: len(acknowledged) >= 2, "two enrichments stored")
        lost = cluster.master_of(_key_held_by(holder, store, acknowledged))
        before = dict(acknowledged)
        cluster.wait_replicated(lost)  # what was acknowledged so far reached the replica:
        cluster.kill(lost)  # what comes after may die with the master, and is made again
        _wait_for(lambda: _finished(store, topic), "every paper enriched after the failover")
    finally:
        stop.set()
        thread.join(timeout=30)
    for (paper_id, language), enrichment in before.items():
        assert store.enrichments.load_enrichment(paper_id, language) == enrichment
        asked = [c for c in llm.calls_for(paper_id) if c.language == language_name(language)]
        assert len(asked) == 1, "an enrichment stored before the failover was made again"
    client = create_app(settings, store).test_client()
    for language in topic.languages:
        feed = etree.fromstring(client.get(f"/feeds/testing.{language}.atom").data)
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == PAPERS
        assert all(e.find(f"{ATOM}summary") is not None for e in entries)


def _testing(settings: Settings) -> Topic:
    return next(t for t in load_topics(settings.topics_file) if t.slug == "testing")


def _worker(settings: Settings, store: Store, topic: Topic, stop: threading.Event) -> Worker:
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    enricher = LLMEnricher(build_llm_client(settings), settings.llm_model)
    policy = EnrichPolicy(concurrency=2, claim_idle_seconds=0.5)
    return assemble([topic], store, source, enricher, "failover-1", policy=policy, stop=stop)


def _recording_saves(store: Store) -> dict[tuple[str, str], Enrichment]:
    """Every enrichment whose storing returned to the worker, by (paper, language)."""
    saved: dict[tuple[str, str], Enrichment] = {}
    save = store.enrichments.save_enrichment

    def recorded(paper_id: str, enrichment: Enrichment, *args: object, **kwargs: object) -> None:
        save(paper_id, enrichment, *args, **kwargs)  # type: ignore[arg-type]
        saved[(paper_id, enrichment.language)] = enrichment

    store.enrichments.save_enrichment = recorded  # type: ignore[method-assign]
    return saved


def _key_held_by(holder: str, store: Store, saved: dict[tuple[str, str], Enrichment]) -> str:
    """The queue's key, or the first stored enrichment's: the master to kill holds it."""
    if holder == "queue":
        return store.keys.enrich_queue()
    paper_id, language = next(iter(saved))
    return store.keys.enrichment(paper_id, language)


def _finished(store: Store, topic: Topic) -> bool:
    try:
        ids = store.topics.paper_ids(topic.slug)
        done = all(
            store.enrichments.load_enrichment(paper_id, language) is not None
            for paper_id in ids for language in topic.languages
        )  # fmt: skip
        return len(ids) == PAPERS and done and store.queue.waiting_count() == 0
    except StoreError:  # the cluster is still electing
        return False


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
