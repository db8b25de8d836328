"""Input tokens of one full-text call, at token budgets around the default, beside the
abstract-only call.

    .venv/bin/python -m bench.full_text

On the recorded HTML view (tests/fixtures/arxiv-html, 2501.11120v1: 9 sections, 48 KB of
text), for a Chinese feed (a translating call) and an English one: the prompt's tokens
(system and user messages, and the strict JSON schema the request carries) from the
abstract alone and with the paper's own sections trimmed to each budget. Counted with
tiktoken's o200k_base when it loads, else 4 characters a token (the table says which).
Goal: at most 4,000 tokens in at the default budget; still 1.00 call per paper-language.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import lxml.html

from bench.relevance import Counter, token_counter
from feedsvc.config import Settings
from feedsvc.models import Paper, Section
from worker.enrich.prompt import build_messages, output_schema
from worker.full_text import chosen_sections
from worker.paper_view import parse_view, text_of

PAGE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "arxiv-html"
PAGE_FILE = PAGE / "timf34-arxiv2md__2501.11120v1_source.html"
GOAL = 4000


def recorded_paper() -> tuple[Paper, tuple[Section, ...]]:
    html = PAGE_FILE.read_bytes()
    view = parse_view(html, "https://arxiv.org/html/2501.11120v1")
    assert view is not None
    root = lxml.html.fromstring(html)
    abstract = text_of(root.xpath('//div[contains(@class, "ltx_abstract")]//p')[0])
    now = datetime(2025, 1, 19, tzinfo=UTC)
    title = "Tell me about yourself: LLMs are aware of their learned behaviors"
    return Paper("2501.11120", 1, title, abstract, ("Jan Betley",), now, now), view.sections


def call_tokens(count: Counter, paper: Paper, language: str, sections: tuple[Section, ...]) -> int:
    translate = language != "en"
    messages = build_messages(paper, language, translate, (), sections)
    schema = json.dumps(output_schema(translate, (), bool(sections)))
    return sum(count(message["content"]) for message in messages) + count(schema)


def main() -> None:
    count, how = token_counter()
    paper, sections = recorded_paper()
    default = Settings().full_text_tokens
    print(f"input tokens of one call, 2501.11120v1 ({how}); default budget {default:,}\n")
    print(f"{'feed':<6}{'budget':>8}{'sections':>10}{'tokens in':>11}{'vs abstract':>13}")
    for language in ("zh", "en"):
        alone = call_tokens(count, paper, language, ())
        print(f"{language:<6}{'-':>8}{0:>10}{alone:>11,}{1:>12.2f}x")
        for budget in (1000, default, 4000):
            chosen = chosen_sections(sections, budget)
            tokens = call_tokens(count, paper, language, chosen)
            mark = (
                "  <- default" + (" (over the goal)" if tokens > GOAL else "")
                if budget == default
                else ""
            )
            print(f"{language:<6}{budget:>8,}{len(chosen):>10}{tokens:>11,}"
                  f"{tokens / alone:>12.2f}x{mark}")  # fmt: skip
    print(f"\ngoal: at most {GOAL:,} tokens in at the default budget; 1.00 call per paper-language")


if __name__ == "__main__":
    main()
