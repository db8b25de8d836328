"""LaTeX in titles, abstracts and translations shown readably: the only pylatexenc importer.

arXiv sends titles and abstracts as their authors wrote them, LaTeX and all: `$\\alpha$`,
``` ``soft boundary'' ```, `\\textit{ConDSeg}`, `\\url{https://...}`, `95\\%`. The stored text
stays as arXiv sent it; what readers see is made here: math as Unicode (α, ≤, ℝ^d), quotes
as quotes, `\\url` and `\\href` as links, `\\textit`/`\\emph` as italics, `\\textbf` as bold.

Two kinds of text come through. arXiv's (`source=True`) is LaTeX: the whole of it is read
as such, except URLs and a `~` that means "about" rather than a tie. The model's summaries,
takeaways and translations (`source=False`) are prose that may quote LaTeX: only their
`$...$` spans and the macros above are read, and `3~5`, `R&D`, `10%` and braces stay as
written. A math span whose reading would lose something (`\\binom`, `\\texttt`, digits) is
shown as written, and text pylatexenc cannot read at all is shown as it came.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable

from markupsafe import Markup, escape
from pylatexenc.latex2text import LatexNodes2Text

_LOOKS_LIKE_LATEX = re.compile(r"\\[A-Za-z|]+|\$[^$\n]+\$|``|''|\\[%&_#$]|~")
_MARK = "\ue000"  # private use: the converter leaves it alone, outside text loses it first
_PLACEHOLDER = re.compile(_MARK + r"(\d+)" + _MARK)
_HREF = re.compile(r"\\href\{([^{}]*)\}\{([^{}]*)\}")
_URL_MACRO = re.compile(r"\\url\{([^{}]*)\}")
_BARE_URL = re.compile(r"https?://[A-Za-z0-9_\-.~:/?#\[\]@!$&()*+,;=%]*[A-Za-z0-9_\-~/#=%&+]")
# Pandoc's rule: math opens before a non-space and closes after one, not before a digit, so
# "$5 and $10" stays money.
_MATH = re.compile(r"(?<!\\)\$(?=\S)([^$\n]{0,400}?\S)(?<!\\)\$(?!\d)")
_STYLED = re.compile(r"\\(textit|emph|textbf|textsc)\{([^{}]*)\}")
_TAGS = {"textit": "em", "emph": "em", "textbf": "strong", "textsc": "span"}
# Math pylatexenc reads wrongly: it drops the binomial's parentheses, a root's index, ...
_LOSSY_MATH = re.compile(r"\\(?:[dt]?binom|choose|pmod|overset|underset|stackrel|not)\b|\\sqrt\[")
_MATH_WORDS = (
    (r"\|", "‖"), (r"\bmod", r" \mathrm{mod} "), (r"\widehat", r"\hat"), (r"\widetilde", r"\tilde"),
)  # fmt: skip
_UNESCAPED_SPECIAL = re.compile(r"(?<!\\)([%&#$])")  # math is set aside: a `$` left is money
_TIE = re.compile(r"(?<=[A-Za-z.])~(?=\S)")  # "Fig.~3": a tie; "~2x", "3~5": a tilde
_COMMAND = re.compile(r"\\[A-Za-z]+")
MAX_CACHED = 2048
MAX_NESTING = 4

Piece = tuple[str, str, str]  # ("link", href, text) | ("styled", tag, marked) | ("text", s, "")


def latex_text(text: str, *, source: bool = True) -> str:
    """The text as a reader should see it, as plain text (a feed entry's title)."""
    if not _LOOKS_LIKE_LATEX.search(text) and "://" not in text:
        return text
    marked, pieces = _marked(text, source)
    return _filled(marked, lambda index: _plain_piece(index, pieces))


def latex_html(text: str, *, source: bool = True) -> Markup:
    """The text as a reader should see it, as escaped HTML with links, italics and bold;
    without isolate closers (U+2069), which could end the isolate the HTML puts it in."""
    text = text.replace("\u2069", "")
    if not _LOOKS_LIKE_LATEX.search(text) and "://" not in text:
        return Markup(escape(text))
    marked, pieces = _marked(text, source)
    html = _filled(str(escape(marked)), lambda index: _html_piece(index, pieces))
    return Markup(html)


def prose_html(text: str) -> Markup:
    """The model's text as HTML: only its math and text macros read as LaTeX."""
    return latex_html(text, source=False)


def prose_text(text: str) -> str:
    return latex_text(text, source=False)


def _marked(text: str, source: bool) -> tuple[str, list[Piece]]:
    """The text with links, math and styled spans set aside as placeholders, the rest read
    as LaTeX (arXiv's text) or left as written (the model's)."""
    pieces: list[Piece] = []

    def keep(piece: Piece) -> str:
        pieces.append(piece)
        return f"{_MARK}{len(pieces) - 1}{_MARK}"

    text = text.replace(_MARK, "")
    text = _HREF.sub(lambda m: keep(("link", m[1], m[2])), text)
    text = _URL_MACRO.sub(lambda m: keep(("link", m[1], m[1])), text)
    text = _BARE_URL.sub(lambda m: keep(("link", m[0], m[0])), text)
    text = _MATH.sub(lambda m: keep(("text", _math(m[0]), "")), text)
    text = _STYLED.sub(lambda m: keep(("styled", _TAGS[m[1]], _read(m[2], source))), text)
    return _read(text, source), pieces


def _read(text: str, source: bool) -> str:
    return _converted(text) if source else text


def _filled(marked: str, show: Callable[[int], str]) -> str:
    """The placeholders replaced by their pieces, nested ones too."""
    for _ in range(MAX_NESTING):
        if _MARK not in marked:
            break
        marked = _PLACEHOLDER.sub(lambda m: show(int(m[1])), marked)
    return marked.replace(_MARK, "")


def _plain_piece(index: int, pieces: list[Piece]) -> str:
    kind, first, second = pieces[index]
    if kind == "link":
        return second
    return second if kind == "styled" else first


def _html_piece(index: int, pieces: list[Piece]) -> str:
    kind, first, second = pieces[index]
    if kind == "link":
        href = first.strip()
        if href.startswith(("http://", "https://")):
            return f'<a href="{escape(href)}">{escape(second)}</a>'
        return str(escape(second))
    if kind == "styled":
        return f"<{first}>{escape(second)}</{first}>"
    return str(escape(first))


def _math(span: str) -> str:
    """A `$...$` span as Unicode, or as written when reading it would lose something."""
    inner = span[1:-1]
    if _LOSSY_MATH.search(inner):
        return span
    for macro, shown in _MATH_WORDS:
        inner = inner.replace(macro, shown)
    readable = _read_latex(f"${inner}$")
    return readable if readable and not _loses(inner, readable) else span


def _loses(latex: str, readable: str) -> bool:
    """Whether the reading dropped characters the source shows: a digit, or more symbols
    and letters than it made (\\texttt{abc} read as nothing)."""
    shown = re.sub(r"[{}\s\\^_$]", "", _COMMAND.sub("", latex))
    made = re.sub(r"\s", "", readable)
    digits_kept = not Counter(c for c in shown if c.isdigit()) - Counter(made)
    return not digits_kept or len(made) < len(shown)


@functools.lru_cache(maxsize=MAX_CACHED)
def _converted(text: str) -> str:
    """pylatexenc's reading of text (a plain `%`, `&`, `#` or `$` and a tilde that is not a
    tie kept as written); the text itself where it cannot read it or reads it as nothing."""
    prepared = _TIE.sub("\0", _UNESCAPED_SPECIAL.sub(r"\\\1", text))
    prepared = prepared.replace("~", r"\textasciitilde{}").replace("\0", "~")
    return _read_latex(prepared) or text


def _read_latex(latex: str) -> str:
    """pylatexenc's reading, whitespace as one space; "" where it cannot read it."""
    try:
        readable = _converter().latex_to_text(latex)
    except Exception:
        return ""
    return " ".join(readable.split())


@functools.cache
def _converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)
