"""LaTeX shown readably, from the one module that reads it; the stored text stays as sent."""

from __future__ import annotations

from dataclasses import replace
from html import unescape

import feedparser
import pytest

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from feedsvc.web.render.latex import latex_html, latex_text, prose_text
from tests.web.test_web import paper, publish

ABSTRACT = (
    r"We study $\alpha$-testing with ``soft boundaries'' in \textit{ConDSeg}; it gains 95\% "
    r"-- and 3% more -- on $\mathbb{R}^d$ with $x_i \leq \frac{1}{2}$. Code: "
    r"\url{https://github.com/org/repo}."
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (ABSTRACT, "We study α-testing with “soft boundaries” in ConDSeg; it gains 95% – and 3% "
                   "more – on ℝ^d with x_i ≤1/2. Code: https://github.com/org/repo."),
        ("No LaTeX at all: 50% of 1 < 2 & {x}", "No LaTeX at all: 50% of 1 < 2 & {x}"),
        (r"\emph{Deep} learning, 10% faster", "Deep learning, 10% faster"),
        (r"Code at \href{https://github.com/a/b}{this URL}.", "Code at this URL."),
        (r"We spent $5 and saved $10 on R&D", "We spent $5 and saved $10 on R&D"),
        (r"Speedup of ~2x (Fig.~3), see https://www.cs.x.edu/~alice/proj",
         "Speedup of ~2x (Fig. 3), see https://www.cs.x.edu/~alice/proj"),
        (r"$x/\|x\|$, $a \bmod b$, $\widehat{f}$", "x/‖x‖, a mod b, f̂"),
        (r"kept as written: $\binom{n}{k}$, $\sqrt[3]{x}$, $\texttt{abc}$",
         r"kept as written: $\binom{n}{k}$, $\sqrt[3]{x}$, $\texttt{abc}$"),
        (r"\title{x}", r"\title{x}"),
        ("{" * 300 + "x", "{" * 300 + "x"),
    ],
)  # fmt: skip
def test_text_reads_as_a_reader_expects(raw: str, shown: str) -> None:
    assert latex_text(raw) == shown


@pytest.mark.parametrize(
    "answer",
    ["性能提升 3~5 倍，误差降低 10%~20%。", "精度が5~10%向上した", "{braces} R&D ~2x 50%",
     "\\sqrt alone", "见 https://x.org/~a。"],
)  # fmt: skip
def test_the_models_prose_stays_as_written_but_for_math(answer: str) -> None:
    assert prose_text(answer) == answer
    assert prose_text(answer + r" $\alpha_i$") == answer + " α_i"


def test_html_keeps_links_italics_and_escapes_the_rest() -> None:
    html = str(latex_html(ABSTRACT))
    assert "<em>ConDSeg</em>" in html
    assert '<a href="https://github.com/org/repo">https://github.com/org/repo</a>' in html
    hostile = str(latex_html(r"\url{javascript:alert(1)} \textit{<script>x</script>} $a<b$"))
    assert "<a" not in hostile and "<script" not in hostile and "&lt;script&gt;" in hostile
    nested = str(latex_html(r"\textbf{\url{https://a.b}}"))
    assert nested == '<strong><a href="https://a.b">https://a.b</a></strong>'
    assert "\ue000" not in str(latex_html("\ue0000\ue000 $x$")), "no placeholder shows"


def test_feeds_show_it_readably_and_the_store_keeps_it_as_sent(
    settings: Settings, store: Store
) -> None:
    publish(store, settings, [paper(1, abstract=ABSTRACT)])
    app = create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)
    feed = feedparser.parse(app.test_client().get("/feeds/testing.en.atom").data)
    (entry,) = feed.entries
    assert entry.title == "Paper 1: α-testing"
    content = unescape(entry.content[0].value)
    assert "“soft boundaries” in <em>ConDSeg</em>" in content and "ℝ^d" in content
    stored = store.papers.load_paper("2411.00001")
    assert stored is not None and stored.abstract == ABSTRACT and "$\\alpha$" in stored.title


def test_latex_pylatexenc_cannot_read_never_fails_a_feed(settings: Settings, store: Store) -> None:
    """One paper with `\\href` (or a bare `\\sqrt`, or deep braces) once made its whole topic
    answer 500."""
    titles = [r"A \href{https://x.org}{tool}", r"A \sqrt", "{" * 300]
    abstract = r"Code at \href{https://github.com/a/b}{this URL}. \footnote \title{x}"
    publish(
        store, settings, [paper(n + 1, title=t, abstract=abstract) for n, t in enumerate(titles)]
    )
    client = create_app(
        replace(settings, openai_base_url=None, openai_api_key=None), store
    ).test_client()
    for path in (
        "/feeds/testing.atom",
        "/feeds/testing.en.rss",
        "/feeds/testing.en.json",
        "/feeds/testing.daily.atom",
        "/topics/testing",
    ):
        assert client.get(path).status_code == 200, path
