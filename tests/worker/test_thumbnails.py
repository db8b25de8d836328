"""FEEDSVC_FIGURE_THUMBNAILS: the lead figure of a reusable paper kept as a thumbnail (at
most 640 pixels a side, PNG), served at /papers/<id>.png and enclosed instead of arXiv's
image; at most FEEDSVC_THUMBNAIL_LIMIT of them, the oldest dropped."""

from __future__ import annotations

import io
from contextlib import nullcontext
from dataclasses import replace

import feedparser
import pytest
from PIL import Image

from feedsvc.config import Settings, load_topics
from feedsvc.store import Store
from tests.conftest import Clock
from tests.servers import ArxivReplay, FakeLLM, fixture_entries
from tests.servers.arxiv import entry_id
from tests.web.test_web import offline_app
from tests.worker.test_paper_view import PAGE
from worker.arxiv_source import ArxivSource
from worker.assembly import Worker, assemble
from worker.enrich import ExtractiveEnricher
from worker.paper_pages import ArxivPages
from worker.thumbnails import MAX_SIDE, NoThumbnail, make_thumbnail

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
CC_BY = "http://creativecommons.org/licenses/by/4.0/"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_thumbnail_fits_the_side_and_is_png() -> None:
    made = Image.open(io.BytesIO(make_thumbnail(png(2000, 1000))))
    assert made.format == "PNG" and made.size == (MAX_SIDE, MAX_SIDE // 2)
    small = Image.open(io.BytesIO(make_thumbnail(png(100, 50))))
    assert small.size == (100, 50), "never scaled up"
    with pytest.raises(NoThumbnail):
        make_thumbnail(b"<svg xmlns='http://www.w3.org/2000/svg'/>")


@pytest.fixture
def listing(arxiv_replay: ArxivReplay) -> list[str]:
    arxiv_replay.listing = fixture_entries(LISTING)
    ids = [entry_id(entry) for entry in arxiv_replay.listing]
    for paper_id in ids[:2]:
        arxiv_replay.views[f"{paper_id}v1"] = PAGE.read_bytes()
        arxiv_replay.licences[paper_id] = CC_BY
    arxiv_replay.views["2501.11120v1/x1.png"] = png(1600, 1200)
    return ids


def runner(settings: Settings, store: Store, clock: Clock, limit: int) -> Worker:
    topics = [t for t in load_topics(settings.topics_file) if t.slug == "testing"]
    source = ArxivSource(settings.arxiv_api_url, 0, 5, num_retries=0)
    pages = ArxivPages(settings.arxiv_html_url, settings.arxiv_oai_url, 5, lambda ok: None,
                       nullcontext)  # fmt: skip
    return assemble(topics, store, source, ExtractiveEnricher(), "test", clock, pages=pages,
                    thumbnail_limit=limit)  # fmt: skip


def test_kept_within_the_limit_served_and_enclosed(
    settings: Settings, store: Store, clock: Clock, llm: FakeLLM, listing: list[str]
) -> None:
    runner(settings, store, clock, limit=1).scheduler.run_once()
    kept = [paper_id for paper_id in listing[:2] if store.pages.load_thumbnail(paper_id)]
    assert len(kept) == 1, "the limit drops the oldest"
    dropped = next(paper_id for paper_id in listing[:2] if paper_id not in kept)
    pages = store.pages.load_pages(dropped)
    assert pages is not None and not pages.thumbnail
    client = offline_app(replace(settings, figure_thumbnails=True), store).test_client()
    image = client.get(f"/papers/{kept[0]}.png")
    assert image.status_code == 200 and image.content_type == "image/png" and image.headers["ETag"]
    assert max(Image.open(io.BytesIO(image.data)).size) == MAX_SIDE
    assert client.get(f"/papers/{dropped}.png").status_code == 404
    feed = feedparser.parse(client.get("/feeds/testing.en.atom").data)
    enclosures = {entry.link: [link.href for link in entry.links if link.rel == "enclosure"]
                  for entry in feed.entries}  # fmt: skip
    assert enclosures[f"https://arxiv.org/abs/{kept[0]}"] == [
        f"http://feeds.test/papers/{kept[0]}.png"
    ]
    assert enclosures[f"https://arxiv.org/abs/{dropped}"][0].endswith("/2501.11120v1/x1.png")
