"""The blog this product grew from, replayed: its four enriched papers of 2024-12-12 as arXiv
entries, its real Chinese model output as the model's answer (tests/fixtures/seed/)."""

from __future__ import annotations

import json
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from feedsvc.web.i18n import words_for
from tests.servers import ArxivReplay, FakeLLM, make_entry
from worker.cli import main as worker_main

SEED = Path(__file__).parents[1] / "fixtures" / "seed" / "blog-2024-12-12.json"
TOPICS = """
[topics.contrastive]
title = "Unsupervised / semi-supervised / contrastive learning"
query = 'abs:contrastive'
languages = ["zh", "en"]
max_results = 10
"""


zh = words_for("zh").gettext
PENDING = zh("Summary pending: this paper has not been summarised in this language yet.")
FAILED = zh("No summary: summarising this paper failed. The abstract follows.")


def seed_papers() -> list[dict[str, Any]]:
    papers: list[dict[str, Any]] = json.loads(SEED.read_text(encoding="utf-8"))
    return papers


def test_the_blogs_real_answers_are_all_published(
    settings: Settings, store: Store, arxiv_replay: ArxivReplay, llm: FakeLLM, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Four papers, two languages: 8 calls, none rejected, all four in the Chinese feed."""
    papers = seed_papers()
    ids = [f"2412.0{8900 + n}" for n in range(len(papers))]
    arxiv_replay.listing = [
        make_entry(i, p["title"], p["abstract"], p["authors"], p["comment"],
                   f"2024-12-1{1 - n // 4}T1{n}:00:00Z")
        for n, (i, p) in enumerate(zip(ids, papers, strict=True))
    ]  # fmt: skip
    llm.recorded = {
        (i, "Simplified Chinese"): p["answer_zh"] for i, p in zip(ids, papers, strict=True)
    }
    topics = tmp_path / "blog.toml"
    topics.write_text(TOPICS, encoding="utf-8")
    blog = replace(settings, topics_file=topics)
    for name, value in blog.to_env().items():
        monkeypatch.setenv(name, value)
    assert worker_main(["once"]) == 0

    assert len(llm.calls) == 8 and not [c for c in llm.calls if c.corrective], "no rejection"
    feed = feedparser.parse(
        create_app(blog, store).test_client().get("/feeds/contrastive.atom").data
    )
    by_link = {entry.link: entry for entry in feed.entries}
    assert len(by_link) == 4
    for paper_id, paper in zip(ids, papers, strict=True):
        answer = paper["answer_zh"]
        html = unescape(by_link[f"https://arxiv.org/abs/{paper_id}"].content[0].value)
        shown = lxml.html.fragment_fromstring(html, create_parent="div").text_content()
        assert answer["summary"] in shown, paper["title"]  # as written, its URLs now links
        assert html.count("<li>") == len(answer["takeaways"])
        assert all(point in shown for point in answer["takeaways"])
        assert answer["abstract_translated"] in shown
        assert PENDING not in html and FAILED not in html
    long_one = store.enrichments.load_enrichment(ids[2], "zh")
    assert long_one is not None and "summary of 11 sentences, 3 asked" in long_one.adjustments
