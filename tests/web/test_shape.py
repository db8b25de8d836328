"""The render fingerprint: what shapes the bytes moves it, where a process runs does not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from feedsvc.config import Settings, Topic
from feedsvc.web import shape
from feedsvc.web.shape import code_fingerprint, render_fingerprint

TOPICS = (Topic("testing", "Software testing", "all:testing", ("zh", "en")),)


def test_each_setting_that_shapes_a_feed_moves_the_fingerprint() -> None:
    base = Settings()
    seen = {render_fingerprint(base, TOPICS)}
    for changed in (
        replace(base, public_url="https://feeds.example.org"),
        replace(base, feed_size=20),
        replace(base, publish_grace_seconds=60.0),
    ):
        seen.add(render_fingerprint(changed, TOPICS))
    retitled = (replace(TOPICS[0], title="Testing software"),)
    seen.add(render_fingerprint(base, retitled))
    assert len(seen) == 5


def test_where_and_how_a_process_runs_does_not() -> None:
    """Two web hosts of one deployment render the same bytes and ETags."""
    base = Settings(public_url="https://feeds.example.org")
    other_host = replace(base, web_bind="10.0.0.7:9000", web_workers=3, log_format="json",
                         access_log=False, cache_max_age_seconds=60)  # fmt: skip
    assert render_fingerprint(other_host, TOPICS) == render_fingerprint(base, TOPICS)


def test_a_changed_template_moves_the_code_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "feedsvc"
    (package / "web" / "templates").mkdir(parents=True)
    template = package / "web" / "templates" / "entry_content.html"
    template.write_text("<p>{{ paper.title }}</p>", encoding="utf-8")
    (package / "web" / "notes.txt").write_text("not code", encoding="utf-8")
    monkeypatch.setattr(shape, "PACKAGE_ROOT", package)
    code_fingerprint.cache_clear()
    first = code_fingerprint()
    (package / "web" / "notes.txt").write_text("still not code", encoding="utf-8")
    code_fingerprint.cache_clear()
    assert code_fingerprint() == first
    template.write_text("<p><b>{{ paper.title }}</b></p>", encoding="utf-8")
    code_fingerprint.cache_clear()
    assert code_fingerprint() != first
    code_fingerprint.cache_clear()
