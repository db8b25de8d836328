"""bench/days.py's replayed second day: LLM calls per new paper-language, over real HTTP."""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import redis

from feedsvc.config import Settings, Topic
from feedsvc.keys import Keys
from feedsvc.store import Db, Store
from tests.servers import ATOM, ArxivReplay, FakeLLM, fixture_entries, revise_entry
from worker.arxiv_source import ArxivSource
from worker.assembly import assemble
from worker.enrich import LLMEnricher, build_llm_client
from worker.usage import PendingUsage

BACKLOG = "arxivpy-golden__q_testing_s0_m100_cfe7536492ca.xml"  # 100 real entries
TOPIC = Topic("testing", "Testing", "all:testing", ("zh", "en", "ja"), 10)
TODAY = "2026-11-20T18:00:00Z"


def fresh(entry: Any, paper_id: str) -> Any:
    """A recorded entry as a paper announced today, under an id of its own."""
    made = copy.deepcopy(entry)
    made.find(f"{ATOM}id").text = f"http://arxiv.org/abs/{paper_id}v1"
    made.find(f"{ATOM}updated").text = TODAY
    for link in made.iterfind(f"{ATOM}link"):
        link.set("href", re.sub(r"(abs|pdf)/.*", rf"\1/{paper_id}v1", link.get("href")))
    return made


def llm_calls_per_new_paper_language(redis_url: str) -> float:
    """Day one takes `max_results`; day two brings 3 new papers, a new version with a new
    abstract and one with the same text: calls over (new papers + changed ones) × languages."""
    replay, llm = ArxivReplay().start(), FakeLLM().start()
    store = Store(Db(redis.Redis.from_url(redis_url, decode_responses=True)),
                  Keys(f"feedsvc-bench-replay-{uuid.uuid4().hex[:8]}"))  # fmt: skip
    try:
        settings = replace(Settings(), openai_base_url=llm.base_url, openai_api_key="bench")
        usage = PendingUsage(lambda: datetime.now(UTC))
        enricher = LLMEnricher(build_llm_client(settings), "bench-model", record_call=usage.record)
        source = ArxivSource(replay.api_url, 0, 5, num_retries=0)
        worker = assemble([TOPIC], store, source, enricher, "bench-replay", usage=usage)
        backlog = sorted(fixture_entries(BACKLOG), key=lambda e: e.find(f"{ATOM}updated").text,
                         reverse=True)  # fmt: skip
        replay.listing = backlog
        worker.scheduler.run_once()
        llm.calls.clear()
        new = [fresh(backlog[n], f"2611.{n:05d}") for n in range(3)]
        changed = revise_entry(backlog[3], TODAY, abstract="A rewritten abstract.")
        same_text = revise_entry(backlog[4], TODAY)
        replay.listing = [*new, changed, same_text, *backlog[:3], *backlog[5:]]
        worker.scheduler.run_once()
        return len(llm.calls) / ((len(new) + 1) * len(TOPIC.languages))
    finally:
        store.db.delete_matching(*store.keys.all_keys_patterns())
        replay.close()
        llm.close()
