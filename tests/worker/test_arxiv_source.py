"""The arXiv source against every recorded response, replayed over real HTTP."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from lxml import etree

from feedsvc.config import Topic
from feedsvc.errors import SourceError
from feedsvc.models import Paper
from feedsvc.store import Store
from tests.servers import ATOM, FIXTURES, ArxivReplay, fixture_entries, read_fixture
from worker.arxiv_source import ArxivSource, split_versioned_id
from worker.coordination import ArxivGate

RECORDINGS = sorted(p.name for p in FIXTURES.glob("*.xml"))
ERROR_RECORDINGS = {
    "arxivpy-golden__id_abc_s0_m100_b79c8dcf6bc3.xml",
    "pubs__test_apis_data__id_list-INVALIDID_http400.xml",
}


def topic(max_results: int = 10) -> Topic:
    return Topic("t", "T", "all:testing", ("en",), max(max_results, 1))


def source_for(replay: ArxivReplay, timeout: float = 5.0) -> ArxivSource:
    return ArxivSource(replay.api_url, delay_seconds=0, timeout_seconds=timeout, num_retries=0)


def nothing_stored(ids: object) -> dict[str, int]:
    return {}


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recorded_response(arxiv_replay: ArxivReplay, name: str) -> None:
    body = read_fixture(name)
    if name in ERROR_RECORDINGS:
        arxiv_replay.raw = (400, body)
        with pytest.raises(SourceError, match="HTTP 400"):
            source_for(arxiv_replay).fetch_new(topic(), nothing_stored, limit=10)
        return
    arxiv_replay.raw = (200, body)
    count = len(fixture_entries(name))
    papers = source_for(arxiv_replay).fetch_new(topic(count), nothing_stored, limit=max(count, 1))
    assert len(papers) == count
    for paper, entry in zip(papers, fixture_entries(name), strict=True):
        raw_id = entry.find(f"{ATOM}id").text.split("/abs/")[1]
        assert paper.versioned_id == raw_id
        assert "v" not in paper.id.split("/")[-1]
        assert paper.pdf_url.startswith("https://arxiv.org/pdf/") and paper.id in paper.pdf_url
        assert paper.title == " ".join(entry.find(f"{ATOM}title").text.split())
        assert "\n" not in paper.abstract and paper.abstract == paper.abstract.strip()
        assert paper.published.tzinfo is not None and paper.published <= paper.updated
        assert all("\n" not in c for c in paper.categories)


def fetch_one(replay: ArxivReplay, fixture: str) -> Paper:
    replay.raw = (200, read_fixture(fixture))
    (paper,) = source_for(replay).fetch_new(topic(1), nothing_stored, limit=1)
    return paper


def test_old_style_ids_latex_and_names(arxiv_replay: ArxivReplay) -> None:
    paper = fetch_one(arxiv_replay, "arxivpy-golden__id_astro-ph_0601001_s0_m100_3150dca9dc76.xml")
    assert (paper.id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.abs_url == "https://arxiv.org/abs/astro-ph/0601001"
    assert paper.pdf_url == "https://arxiv.org/pdf/astro-ph/0601001v1"
    assert paper.journal_ref and paper.venue == f"Published in {paper.journal_ref}"

    paper = fetch_one(arxiv_replay, "arxivpy-golden__id_1707.08567_s0_m100_6a1afebfc6a3.xml")
    assert "Dirk Wübben" in paper.authors and len(paper.authors) == 34

    paper = fetch_one(arxiv_replay, "arxivpy-golden__id_2104.12255v1_s0_m100_6ae69987ffe1.xml")
    assert paper.title == "0"


def test_empty_result_page_is_no_papers(arxiv_replay: ArxivReplay) -> None:
    arxiv_replay.raw = (200, read_fixture("arxivpy-golden__id_0000.0000_s0_m100_8b51d9633a68.xml"))
    assert source_for(arxiv_replay).fetch_new(topic(), nothing_stored, limit=10) == []


def test_a_count_is_arxivs_total_and_an_unreadable_answer_is_no_count(
    arxiv_replay: ArxivReplay,
) -> None:
    arxiv_replay.listing = fixture_entries("arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml")
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    source = source_for(arxiv_replay)
    assert source.count_updated(topic(), start, end) == 10
    assert arxiv_replay.requests[-1].params["max_results"] == "1"
    assert (
        "lastUpdatedDate:[200001010000 TO 209912312359]"
        in (arxiv_replay.requests[-1].params["search_query"])
    )
    arxiv_replay.raw = (200, b"<feed><entry><title>cut short</feed>")
    with pytest.raises(SourceError, match="unreadable answer"):
        source.count_updated(topic(), start, end)


def test_missing_pdf_link_is_derived_from_the_id(arxiv_replay: ArxivReplay) -> None:
    root = etree.fromstring(read_fixture("arxivpy-golden__id_1605.08386_s0_m100_199195aa31ad.xml"))
    for link in root.iter(f"{ATOM}link"):
        if link.get("title") == "pdf":
            link.getparent().remove(link)
    arxiv_replay.raw = (200, etree.tostring(root))
    (paper,) = source_for(arxiv_replay).fetch_new(topic(1), nothing_stored, limit=1)
    assert paper.pdf_url == f"https://arxiv.org/pdf/{paper.versioned_id}"


def test_an_empty_later_page_fails_the_whole_fetch(arxiv_replay: ArxivReplay) -> None:
    arxiv_replay.listing = fixture_entries("arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml")
    page_one = arxiv_replay.page(0, 5)
    empty = arxiv_replay.page(100, 5)  # no entries, though totalResults says 10
    answers = iter([(200, page_one), (200, empty)])
    arxiv_replay.respond = lambda params: next(answers)  # type: ignore[method-assign]
    with pytest.raises(SourceError, match="empty page"):
        source_for(arxiv_replay).fetch_new(topic(5), nothing_stored, limit=10)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/query"


def test_a_silent_server_times_out_cleanly(silent_server: str) -> None:
    source = ArxivSource(silent_server, delay_seconds=0, timeout_seconds=0.5, num_retries=0)
    with pytest.raises(SourceError, match=r"no answer from 127\.0\.0\.1:"):
        source.fetch_new(topic(), nothing_stored, limit=10)


def test_a_closed_port_is_a_short_connection_error() -> None:
    source = ArxivSource("http://127.0.0.1:9/api/query", 0, 1, num_retries=0)
    with pytest.raises(SourceError) as caught:
        source.fetch_new(topic(), nothing_stored, limit=10)
    assert caught.value.reason == "cannot connect to 127.0.0.1:9"


def test_split_versioned_id() -> None:
    assert split_versioned_id("2412.01234v12") == ("2412.01234", 12)
    assert split_versioned_id("hep-th/9901001v1") == ("hep-th/9901001", 1)
    assert split_versioned_id("hep-th/9901001") == ("hep-th/9901001", 1)


def test_a_trickling_answer_meets_its_deadline_and_frees_the_gate(
    arxiv_replay: ArxivReplay, store: Store
) -> None:
    arxiv_replay.listing = fixture_entries("arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml")[:3]
    arxiv_replay.trickle_seconds = 0.01  # a byte every 10 ms: no single read ever times out
    gate = ArxivGate(store.coordination, spacing_seconds=0, longest_request_seconds=1)
    source = ArxivSource(arxiv_replay.api_url, 0, 1, num_retries=0, gate=gate.turn)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"no answer from 127\.0\.0\.1:\d+ in time"):
        source.fetch_new(topic(), nothing_stored, limit=10)
    assert time.monotonic() - started < 2.5
    assert store.db.scan(store.keys.lock("*")) == [], "the gate is free again"
