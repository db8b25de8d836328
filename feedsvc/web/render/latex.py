"""LaTeX in titles, abstracts and translations shown readably: the only pylatexenc importer.

arXiv sends titles and abstracts as their authors wrote them, LaTeX and all: `$\\alpha$`,
``` ``soft boundary'' ```, `\\textit{ConDSeg}`, `\\url{https://...}`, `95\\%`. The stored text
stays as arXiv sent it; what readers see is made here: math as Unicode (α, ≤, ℝ^d), quotes
as quotes, `\\url` as a link, `\\textit`/`\\emph` as italics, `\\textbf` as bold. Text with
no LaTeX in it passes unchanged, and a plain `%` is text, not the start of a comment.
"""

from __future__ import annotations

import functools
import re

from markupsafe import Markup, escape
from pylatexenc.latex2text import LatexNodes2Text

_LOOKS_LIKE_LATEX = re.compile(r"\\[A-Za-z]+|\$[^$\n]+\$|``|''|\\[%&_#$]|~")
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")
_URL = re.compile(r"\\url\{([^{}]*)\}")
_STYLED = re.compile(r"\\(textit|emph|textbf|textsc)\{([^{}]*)\}")
_MARK = "\ue000"  # private use: the converter leaves it alone, no outside text holds it
_PLACEHOLDER = re.compile(_MARK + r"(\d+)" + _MARK)
_TAGS = {"textit": "em", "emph": "em", "textbf": "strong", "textsc": "span"}
MAX_CACHED = 4096


def latex_text(text: str) -> str:
    """The text as a reader should see it, as plain text (a feed entry's title)."""
    if not _LOOKS_LIKE_LATEX.search(text):
        return text
    pieces: list[str] = []
    marked = _mark(text, pieces)
    plain = _converted(marked)
    return _PLACEHOLDER.sub(lambda m: _plain_piece(pieces[int(m[1])]), plain)


def latex_html(text: str) -> Markup:
    """The text as a reader should see it, as escaped HTML with links, italics and bold;
    without isolate closers (U+2069), which could end the isolate the HTML puts it in."""
    text = text.replace("\u2069", "")
    if not _LOOKS_LIKE_LATEX.search(text):
        return Markup(escape(text))
    pieces: list[str] = []
    marked = _mark(text.replace(_MARK, ""), pieces)
    html = str(escape(_converted(marked)))
    return Markup(_PLACEHOLDER.sub(lambda m: _html_piece(pieces[int(m[1])]), html))


def _mark(text: str, pieces: list[str]) -> str:
    """Set \\url{} and styled spans aside (as placeholders) before the conversion."""

    def keep(match: re.Match[str]) -> str:
        pieces.append(match.group(0))
        return f"{_MARK}{len(pieces) - 1}{_MARK}"

    return _STYLED.sub(keep, _URL.sub(keep, text.replace(_MARK, "")))


def _plain_piece(piece: str) -> str:
    url = _URL.fullmatch(piece)
    if url:
        return url[1]
    styled = _STYLED.fullmatch(piece)
    return _converted(styled[2]) if styled else piece


def _html_piece(piece: str) -> str:
    url = _URL.fullmatch(piece)
    if url:
        href = url[1].strip()
        if href.startswith(("http://", "https://")):
            return f'<a href="{escape(href)}">{escape(href)}</a>'
        return str(escape(href))
    styled = _STYLED.fullmatch(piece)
    if not styled:
        return str(escape(piece))
    tag = _TAGS[styled[1]]
    return f"<{tag}>{escape(_converted(styled[2]))}</{tag}>"


@functools.lru_cache(maxsize=MAX_CACHED)
def _converted(text: str) -> str:
    """pylatexenc's reading of the text, a plain `%` kept as text, whitespace as one space."""
    readable = _converter().latex_to_text(_UNESCAPED_PERCENT.sub(r"\\%", text))
    return " ".join(readable.split())


@functools.cache
def _converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)
