from __future__ import annotations

import pytest

from worker.extract import find_code_links, find_venue


def test_code_links_from_abstract_and_comment() -> None:
    abstract = (
        "Code is available at https://github.com/org/repo. Models: "
        "\\url{https://huggingface.co/org/model}; see github.com/other/tool, and "
        "(project page: https://example.org/project)."
    )
    comment = "10 pages. Data: https://doi.org/10.1/xyz, code https://github.com/org/repo"
    assert find_code_links(abstract, comment) == (
        "https://github.com/org/repo",
        "https://huggingface.co/org/model",
        "https://github.com/other/tool",
        "https://example.org/project",
    )


def test_no_links_in_plain_text() -> None:
    assert find_code_links("We study arXiv.org listings on github.com.", "") == ()


@pytest.mark.parametrize(
    ("comment", "journal_ref", "venue"),
    [
        ("Accepted by AAAI-2025", "", "Accepted by AAAI-2025"),
        ("accepted at ICLR 2024 (spotlight); 10 pages", "", "Accepted at ICLR 2024 (spotlight)"),
        ("To appear in Proc. of CVPR 2023. 8 pages", "", "To appear in Proc. of CVPR 2023"),
        ("12 pages, Published in IEEE TPAMI, 12 figures", "", "Published in IEEE TPAMI"),
        ("Accepted to NeurIPS 2023. Code: https://github.com/a/b", "", "Accepted to NeurIPS 2023"),
        ("10 pages, 3 figures", "Phys. Rev. D 89, 084044 (2014)",
         "Published in Phys. Rev. D 89, 084044 (2014)"),
        ("10 pages, 3 figures", "", ""),
    ],
)  # fmt: skip
def test_venue(comment: str, journal_ref: str, venue: str) -> None:
    assert find_venue(comment, journal_ref) == venue
