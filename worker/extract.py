"""Code links and venue from an arXiv abstract and comment, without any model."""

from __future__ import annotations

import re

CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org")
IGNORED_HOSTS = ("arxiv.org", "doi.org", "dx.doi.org", "creativecommons.org")
TRAILING_PUNCTUATION = ".,;:!?'\"*"

_URL = re.compile(r"https?://[^\s<>\"'{}|\\^`\[\]]+", re.IGNORECASE)
_BARE_CODE_URL = re.compile(
    r"(?<![\w./])(?:www\.)?(?:" + "|".join(re.escape(h) for h in CODE_HOSTS) + r")/[^\s<>\"'{}()]+",
    re.IGNORECASE,
)
_SENTENCE_STARTS = r"(?:Code|Project|The|This|Our|We|See|Camera|Extended|Includes|Version)\b"
_VENUE = re.compile(
    r"\b(accepted\s+(?:by|at|to|for|in)|published\s+(?:in|at|by)|to\s+appear\s+(?:in|at)"
    r"|appear(?:s|ing)?\s+in)\s+(?:the\s+)?(.+?)\s*"
    r"(?:[;\n]|,\s*\d+\s*(?:pages|figures)|\.\s+(?=\d|" + _SENTENCE_STARTS + r")|\.?$)",
    re.IGNORECASE,
)
MAX_VENUE_CHARS = 120


def find_code_links(*texts: str) -> tuple[str, ...]:
    """Code and project-page URLs in the texts, first occurrence first, without duplicates."""
    found: list[str] = []
    for text in texts:
        spans = [(m.start(), m.group()) for m in _URL.finditer(text)]
        spans += [(m.start(), "https://" + m.group()) for m in _BARE_CODE_URL.finditer(text)]
        for _start, raw in sorted(spans):
            url = _clean_url(raw)
            if _is_interesting(url) and url not in found:
                found.append(url)
    return tuple(found)


def _clean_url(raw: str) -> str:
    url = raw.rstrip(TRAILING_PUNCTUATION)
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(TRAILING_PUNCTUATION)
    return url


def _is_interesting(url: str) -> bool:
    host = re.sub(r"^https?://(www\.)?", "", url, flags=re.IGNORECASE).split("/", 1)[0].lower()
    has_path = "/" in url.split("://", 1)[-1].rstrip("/")
    if any(host == h or host.endswith("." + h) for h in IGNORED_HOSTS):
        return False
    return has_path or host not in CODE_HOSTS


def find_venue(comment: str, journal_ref: str = "") -> str:
    """'Accepted by AAAI-2025' and the like from the comment, else the journal reference."""
    match = _VENUE.search(comment)
    if match:
        phrase = " ".join(match.group(1).split()).capitalize()
        venue = _clean_url(match.group(2).strip())
        if venue:
            return f"{phrase} {venue}"[:MAX_VENUE_CHARS]
    if journal_ref.strip():
        return f"Published in {' '.join(journal_ref.split())}"[:MAX_VENUE_CHARS]
    return ""
