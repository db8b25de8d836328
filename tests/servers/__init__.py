"""Local HTTP servers that replay the outside world: the arXiv API and an OpenAI-compatible LLM.

Both run in a thread on 127.0.0.1 and are reached over real HTTP by the real clients.
"""

from tests.servers.answers import topic_word
from tests.servers.arxiv import (
    ATOM,
    FIXTURES,
    ArxivReplay,
    entry_id,
    fixture_entries,
    make_entry,
    read_fixture,
    revise_entry,
    set_arxiv_field,
)
from tests.servers.llm import FakeLLM

__all__ = [
    "ATOM", "FIXTURES", "ArxivReplay", "FakeLLM", "entry_id", "fixture_entries", "make_entry",
    "read_fixture", "revise_entry", "set_arxiv_field", "topic_word",
]  # fmt: skip
