"""What an updated entry says changed, in the feed's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from feedsvc.models import Paper, Revision
from feedsvc.web.render.notes import revision_note

WHEN = datetime(2026, 11, 20, 18, tzinfo=UTC)
OLD = Paper(
    id="2411.00001", version=2, title="A title", abstract="An abstract.", authors=("A. Author",),
    published=WHEN, updated=WHEN, comment="10 pages",
)  # fmt: skip


def revised(**changes: object) -> Revision:
    new = replace(OLD, **changes)  # type: ignore[arg-type]
    revision = Revision.between(OLD, new, WHEN)
    assert revision is not None
    return revision


@pytest.mark.parametrize(
    ("revision", "language", "note"),
    [
        (revised(version=3, abstract="New.", comment="Accepted at CVPR 2025",
                 venue="Accepted at CVPR 2025"), "en",
         "Updated to v3: abstract and comment changed; now accepted at CVPR 2025"),
        (revised(version=3, title="T", abstract="New.", comment="c"), "zh",
         "已更新至 v3：标题、摘要和备注有改动"),
        (revised(version=3), "en", "Updated to v3"),
        (revised(version=3, abstract="New.", doi="10.1/x"), "en",
         "Updated to v3: abstract changed, DOI added"),
        (revised(journal_ref="Phys. Rev. D 89 (2014)", doi="10.1/x",
                 venue="Published in Phys. Rev. D 89 (2014)"), "en",
         "Journal reference and DOI added; now published in Phys. Rev. D 89 (2014)"),
        (revised(journal_ref="J 1"), "zh-TW", "新增期刊出處"),
        (revised(version=4, authors=("B. Author",)), "ja", "v4に更新：著者を変更"),
        (revised(version=4, authors=("B. Author",)), "nl", "Updated to v4: authors changed"),
    ],
)  # fmt: skip
def test_the_note_names_what_changed(revision: Revision, language: str, note: str) -> None:
    assert revision_note(revision, language) == note


def test_nothing_new_in_the_same_version_is_no_revision() -> None:
    assert Revision.between(OLD, replace(OLD, first_seen=WHEN), WHEN) is None


def test_a_revision_survives_the_paper_hash() -> None:
    paper = replace(OLD, version=3, revision=revised(version=3, abstract="New."))
    assert Paper.from_redis(paper.to_redis()) == paper
    assert Paper.from_redis(OLD.to_redis()).revision is None
    legacy = {k: v for k, v in OLD.to_redis().items() if k != "revision"}  # stored before
    assert Paper.from_redis(legacy) == OLD


def test_a_venue_read_anew_from_the_same_comment_is_no_news() -> None:
    """Stored venues of an older extractor differ from today's reading of the same comment."""
    old = replace(
        OLD, comment="Accepted for publication in Phys. Rev. Lett.", venue="Accepted in Phys"
    )
    revision = revised(version=3, comment=old.comment, venue="Accepted in Phys. Rev. Lett")
    assert revision.venue == "Accepted in Phys. Rev. Lett", "the comment changed from OLD's"
    same = Revision.between(old, replace(old, version=3, venue="Accepted in Phys. Rev. Lett"), WHEN)
    assert same is not None and same.venue == "" and revision_note(same, "en") == "Updated to v3"
