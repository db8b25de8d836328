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


# Real arXiv comments from the recordings in tests/fixtures/arxiv/, and the two phrasings the
# venue missed before (the issue's own examples).
RECORDED_COMMENTS = [
    ("Accepted by ICCV 2017", "Accepted by ICCV 2017"),
    ("12 pages, 8 figures; accepted to ILP 2017", "Accepted to ILP 2017"),
    ("presented in BMVC 2017", "Presented at BMVC 2017"),
    ("accepted at ICCV'17", "Accepted at ICCV'17"),
    ("Accepted as a conference paper in IJCNLP 2017", "Accepted at IJCNLP 2017"),
    ("Accepted as SHORT PAPER by K-CAP 2017, 9 pages, 1 figure, 3 tables",
     "Accepted at K-CAP 2017"),
    ("camera ready, 8 pages, accepted to IEEE ICTAI 2017", "Accepted to IEEE ICTAI 2017"),
    ("To appear in the IEEE Trans. Pattern Analysis and Machine Intelligence (final)",
     "To appear in IEEE Trans. Pattern Analysis and Machine Intelligence (final)"),
    ("To appear in proceedings of The IEEE Symposium Series on Computational Intelligence "
     "(IEEE SSCI 2017), Honolulu, Hawaii, USA, Nov. 27 -- Dec 1, 2017",
     "To appear in proceedings of The IEEE Symposium Series on Computational Intelligence "
     "(IEEE SSCI 2017)"),
    ("30 pages, 19 figures, accepted for publication in the 31st Conference on Neural "
     "Information Processing Systems (NIPS 2017)",
     "Accepted in 31st Conference on Neural Information Processing Systems (NIPS 2017)"),
    ("Published in Advances in Neural Information Processing Systems (NIPS 2017)",
     "Published in Advances in Neural Information Processing Systems (NIPS 2017)"),
    ("appears in Neural Information Processing Systems 2017",
     "Published in Neural Information Processing Systems 2017"),
    ("To be published in: 2025 IEEE Conference on Software Testing, Verification and "
     "Validation (ICST)",
     "To appear in 2025 IEEE Conference on Software Testing, Verification and Validation (ICST)"),
    ("To appear at the IEEE International Conference on Software Testing, Verification, and "
     "Validation (ICST 2022)",
     "To appear at IEEE International Conference on Software Testing, Verification, and "
     "Validation (ICST 2022)"),
    ("Accepted at the 19th IEEE International Conference on Software Testing, Verification and "
     "Validation (ICST 2026)",
     "Accepted at 19th IEEE International Conference on Software Testing, Verification and "
     "Validation (ICST 2026)"),
    ("In proceedings of the 19th IEEE International Conference on Software Testing, "
     "Verification and Validation 2026 (ICST '26)",
     "In proceedings of 19th IEEE International Conference on Software Testing, Verification "
     "and Validation 2026 (ICST '26)"),
    ("Paper published at the 2019 IEEE/ACM 4th International Workshop on Metamorphic Testing "
     "(MET)", "Published at 2019 IEEE/ACM 4th International Workshop on Metamorphic Testing (MET)"),
    ('14 pages; to appear in "Algorithmica". Part of this work has been presented at the ICALP '
     "2011 Group Testing Workshop; arXiv:1106.3680", "To appear in Algorithmica"),
    ("Manuscript in press 2017 IEEE International Conference on Computer Vision",
     "In press: 2017 IEEE International Conference on Computer Vision"),
    ("21 pages and 10 figures. Accepted for publication in the Astrophysical Journal. "
     "Individual color figures", "Accepted in Astrophysical Journal"),
    ("Presented at XXXIX Rencontres de Moriond - QCD and Hadronic Interactions, 28 March - 4 "
     "April 2004, La Thuile, Italy",
     "Presented at XXXIX Rencontres de Moriond - QCD and Hadronic Interactions"),
    ("This paper has been accepted by AAAI-2025", "Accepted by AAAI-2025"),
    ("Accepted by the EAAI Journal", "Accepted by EAAI Journal"),
    ("Published as a conference paper at ICLR 2025", "Published at ICLR 2025"),
    ("Camera-ready version for NeurIPS 2024", "Accepted at NeurIPS 2024"),
    ("Submitted to IEEE Robotics and Automation Letters 2018", ""),
    ("10 pages; submitted to the 1st Proceedings of the Alexa Prize", ""),
    ("Currently under review at Journal of Software Testing, Verification and Reliability", ""),
    ("33 pages. Second version. More reference added. Comments are welcome", ""),
]  # fmt: skip


# Comments a review found read wrongly: abbreviated journals, "submitted" in another clause,
# and phrases that name no venue.
PLAUSIBLE_COMMENTS = [
    ("Accepted for publication in Phys. Rev. Lett.", "Accepted in Phys. Rev. Lett"),
    ("Published in J. Chem. Phys. 160, 1 (2024). Code at https://github.com/a/b",
     "Published in J. Chem. Phys. 160, 1 (2024)"),
    ("Accepted by Mon. Not. R. Astron. Soc.", "Accepted by Mon. Not. R. Astron. Soc"),
    ("Accepted by J. Mach. Learn. Res.", "Accepted by J. Mach. Learn. Res"),
    ("To appear in IEEE Trans. Pattern Anal. Mach. Intell.",
     "To appear in IEEE Trans. Pattern Anal. Mach. Intell"),
    ("Published in IEEE Access, vol. 12, pp. 100-110",
     "Published in IEEE Access, vol. 12, pp. 100-110"),
    ("Published in Nature. Code will follow.", "Published in Nature"),
    ("Paper submitted and accepted to ICASSP 2024", "Accepted to ICASSP 2024"),
    ("Under review at ICLR 2025; accepted at the NeurIPS 2024 workshop",
     "Accepted at NeurIPS 2024 workshop"),
    ("Camera-ready version of the paper accepted at ECCV 2024", "Accepted at ECCV 2024"),
    ("Camera ready version of our CVPR 2024 paper", ""),
    ("Dataset published on Zenodo: https://zenodo.org/x", ""),
    ("Uses data published by NASA in 2020", ""),
    ("Code will be published at github.com/a/b", ""),
    ("Accepted by CVPR 2024, project page: https://a.github.io/p", "Accepted by CVPR 2024"),
    ("Accepted by CVPR 2024. Code: https://github.com/a/b", "Accepted by CVPR 2024"),
]  # fmt: skip


@pytest.mark.parametrize(("comment", "venue"), PLAUSIBLE_COMMENTS)
def test_the_venue_of_plausible_comments(comment: str, venue: str) -> None:
    assert find_venue(comment) == venue


@pytest.mark.parametrize(("comment", "venue"), RECORDED_COMMENTS)
def test_the_venue_of_real_comments(comment: str, venue: str) -> None:
    assert find_venue(comment) == venue


def test_a_long_venue_is_never_cut_inside_a_word() -> None:
    """The longest recorded venues, cut to 120 characters: at a space or after ')'."""
    comments = [
        "Paper accepted at IEEE International Conference on Software Testing, Verification and "
        "Validation 2021, Testing Tools Track (ICST 2021), virtual conference, April 2021",
        "This paper is accepted on the Industry Track of the 18th IEEE International Conference "
        "on Software Testing, Verification and Validation (ICST 2025)",
        "12 pages, to be published in the Proceedings of the IEEE International Conference on "
        "Software Testing, Verification and Validation (ICST 2023)",
    ]
    for comment in comments:
        venue = find_venue(comment)
        assert len(venue) <= 120 and venue.endswith("…"), venue
        kept = venue.removesuffix("…")
        assert kept.count("(") == kept.count(")"), venue
        last = kept.split()[-1]
        assert last.endswith(")") or f"{last} " in comment or comment.endswith(last), venue
