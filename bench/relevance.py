"""What a topic's interest adds to each enrichment call, in tokens, beside the call without one.

    .venv/bin/python -m bench.relevance

Over the papers of the Chinese blog's seed page (tests/fixtures/seed), for a Chinese feed (a
translating call) and an English one: the prompt's tokens (system and user messages, and the
strict JSON schema the request carries) without an interest and with one or two, and the
tokens of the relevance object a model writes per interest (a score and a one-line reason,
as real answers read). Tokens are counted with tiktoken's o200k_base (the GPT-4o family's)
when it can load it, else estimated at 4 characters a token, and the table says which.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tiktoken

from feedsvc.models import Paper
from worker.enrich.prompt import Interest, build_messages, output_schema

SEED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seed" / "blog-2024-12-12.json"
INTERESTS = (
    Interest("contrastive", "Contrastive or self-supervised pre-training for medical image "
             "segmentation; new methods rather than surveys", "k1"),
    Interest("rag", "Retrieval-augmented generation for question answering over long "
             "documents", "k2"),
)  # fmt: skip
REASONS = {
    "zh": "相关：提出用于医学图像分割的对比预训练方法，但没有新的基准。",
    "en": "Relevant: a contrastive pre-training method for medical segmentation; no new benchmark.",
}
Counter = Callable[[str], int]


@dataclass(frozen=True)
class Row:
    language: str
    interests: int
    prompt: float  # mean tokens in, over the papers
    answer: int  # tokens of the relevance object out


def token_counter() -> tuple[Counter, str]:
    """o200k_base through tiktoken if it loads (it downloads its table once), else 4
    characters a token."""
    try:
        encoding = tiktoken.get_encoding("o200k_base")
        return (lambda text: len(encoding.encode(text))), "tiktoken o200k_base"
    except Exception:  # no network to fetch its table
        return (lambda text: len(text) // 4), "estimate: 4 characters a token"


def seed_papers() -> list[Paper]:
    now = datetime(2024, 12, 12, tzinfo=UTC)
    items = json.loads(SEED.read_text(encoding="utf-8"))
    return [seed_paper(n, item, now) for n, item in enumerate(items)]


def seed_paper(n: int, item: dict[str, Any], now: datetime) -> Paper:
    authors = tuple(item["authors"])
    comment = item.get("comment", "")
    return Paper(f"2412.{n:05d}", 1, item["title"], item["abstract"], authors, now, now,
                 comment=comment)  # fmt: skip


def prompt_tokens(
    count: Counter, paper: Paper, language: str, interests: Sequence[Interest]
) -> int:
    translate = language != "en"
    messages = build_messages(paper, language, translate, interests)
    schema = json.dumps(output_schema(translate, interests))
    return sum(count(message["content"]) for message in messages) + count(schema)


def answer_tokens(count: Counter, language: str, interests: Sequence[Interest]) -> int:
    """The relevance object's share of the answer: `, "relevance": {...}`."""
    if not interests:
        return 0
    relevance = {i.topic: {"score": 7, "reason": REASONS[language]} for i in interests}
    return count(', "relevance": ' + json.dumps(relevance, ensure_ascii=False))


def measure(count: Counter, papers: list[Paper]) -> list[Row]:
    rows = []
    for language in ("zh", "en"):
        for n in range(len(INTERESTS) + 1):
            chosen = INTERESTS[:n]
            mean = statistics.fmean(prompt_tokens(count, p, language, chosen) for p in papers)
            rows.append(Row(language, n, mean, answer_tokens(count, language, chosen)))
    return rows


def main() -> None:
    count, how = token_counter()
    papers = seed_papers()
    rows = measure(count, papers)
    print(f"tokens per call, mean over {len(papers)} seed papers ({how})\n")
    print(f"{'feed':<6}{'interests':>10}{'in':>9}{'extra in':>10}{'extra out':>11}{'in ratio':>10}")
    for row in rows:
        base = next(r for r in rows if r.language == row.language and r.interests == 0)
        print(f"{row.language:<6}{row.interests:>10}{row.prompt:>9.0f}"
              f"{row.prompt - base.prompt:>10.0f}{row.answer:>11}"
              f"{row.prompt / base.prompt:>10.3f}")  # fmt: skip
    print("\ncalls per paper and language: 1.00 with or without an interest (the same call)")


if __name__ == "__main__":
    main()
