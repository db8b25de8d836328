"""A paper for a reference manager: BibTeX and RIS files, and COinS on the pages.

BibTeX follows arXiv's own export (`@misc` with `eprint`, `archivePrefix`, `primaryClass`),
which Zotero, BibDesk and biblatex read as a preprint; RIS marks it `UNPB` (unpublished).
COinS (https://en.wikipedia.org/wiki/COinS) is an empty `<span class="Z3988">` per paper
that Zotero's browser connector finds on a page, so a reader can save all or some of a day's
papers in one click; one paper's Highwire `citation_*` tags would stand for the whole page.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlencode

from feedsvc.models import Paper

BIBTEX = "application/x-bibtex; charset=utf-8"
RIS = "application/x-research-info-systems; charset=utf-8"
_KEY_WORD = re.compile(r"[a-z0-9]+")
_UNESCAPED = re.compile(r"(?<!\\)([&%#])")
_STOP_WORDS = {"a", "an", "the", "on", "of", "for", "and", "in", "to", "towards", "with"}


def bibtex(paper: Paper) -> str:
    fields = [
        ("title", _braced(paper.title)),
        ("author", " and ".join(_braced(name) for name in paper.authors)),
        ("year", str(paper.published.year)),
        ("eprint", paper.id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category),
        ("doi", paper.doi),
        ("journal", _braced(paper.journal_ref)),
        ("note", _braced(paper.comment)),
        ("url", paper.abs_url),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"


def ris(paper: Paper) -> str:
    lines = [("TY", "UNPB"), ("TI", _one_line(paper.title))]
    lines += [("AU", _one_line(name)) for name in paper.authors]
    lines += [
        ("PY", str(paper.published.year)),
        ("DA", paper.published.strftime("%Y/%m/%d")),
        ("AB", _one_line(paper.abstract)),
        ("UR", paper.abs_url),
        ("L1", paper.pdf_url),
        ("DO", paper.doi),
        ("JO", _one_line(paper.journal_ref)),
        ("N1", _one_line(paper.comment)),
        ("AN", f"arXiv:{paper.id}"),
        ("DB", "arXiv"),
    ]
    lines += [("KW", category) for category in paper.categories]
    shown = [f"{tag}  - {value}" for tag, value in lines if value]
    return "\r\n".join([*shown, "ER  - ", ""])


def coins(paper: Paper) -> str:
    """The COinS title attribute's value (the template escapes it)."""
    pairs = [
        ("ctx_ver", "Z39.88-2004"),
        ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
        ("rft.genre", "preprint"),
        ("rft.atitle", _one_line(paper.title)),
        ("rft.date", paper.published.date().isoformat()),
        ("rft.jtitle", "arXiv"),
        ("rft_id", f"info:arxiv/{paper.id}"),
        ("rft_id", paper.abs_url),
    ]
    pairs += [("rft.au", name) for name in paper.authors]
    if paper.doi:
        pairs.append(("rft_id", f"info:doi/{paper.doi}"))
    return urlencode(pairs, errors="replace")  # a lone surrogate cannot be percent-encoded


def cite_key(paper: Paper) -> str:
    """'lovelace2026testing': the first author's last name, the year, the title's first word."""
    surname = paper.authors[0].split()[-1] if paper.authors and paper.authors[0].split() else ""
    words = [w for w in _KEY_WORD.findall(_ascii(paper.title).lower()) if w not in _STOP_WORDS]
    key = f"{''.join(_KEY_WORD.findall(_ascii(surname).lower()))}{paper.published.year}"
    return key + (words[0] if words else "") or f"arxiv{paper.id}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _braced(text: str) -> str:
    """The text for a BibTeX value in braces: on one line, a bare `&`, `%` or `#` escaped,
    and braces balanced (BibTeX counts escaped ones too, so unbalanced ones are spelled)."""
    text = _UNESCAPED.sub(r"\\\1", _one_line(text))
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        text = text.replace("{", "\x00").replace("}", r"\textbraceright{}")
        text = text.replace("\x00", r"\textbraceleft{}")
    return text
