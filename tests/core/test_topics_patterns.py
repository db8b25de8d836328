"""A feed URL's language is checked as a whole string, not up to a trailing newline."""

from __future__ import annotations

import pytest

from feedsvc.config import Topic
from feedsvc.errors import TopicNotFound
from feedsvc.web.feedpath import resolve_topic


def test_a_language_with_a_trailing_newline_is_no_language() -> None:
    # A Topic built in code skips load_topics: the URL's own check must hold alone.
    topic = Topic("rag", "RAG", "abs:rag", ("en\n", "zh"))
    assert resolve_topic("rag", "zh", {"rag": topic}) == (topic, "zh")
    with pytest.raises(TopicNotFound):
        resolve_topic("rag", "en\n", {"rag": topic})
