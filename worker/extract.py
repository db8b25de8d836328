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
# How an arXiv comment says where a paper appears: the phrase a venue follows, and how the
# entry shows it. Tried in order; a comment that only says "submitted to" names no venue.
_STATUS = [
    (r"published as an? (?:conference |workshop |journal )?paper (?:at|in)", "Published at"),
    (
        r"accepted as (?:an? )?(?:conference |workshop |journal |short |long |full |oral )*paper "
        r"(?:by|at|to|for|in)",
        "Accepted at",
    ),
    (r"camera[- ]ready(?: version)? (?:for|at)", "Accepted at"),
    (r"accepted (?:for publication |to appear )?(?:by|at|to|for|in|on)", "Accepted {0}"),
    (r"to be (?:published|presented) (?:in|at|by)\s*:?", "To appear in"),
    (r"to appear (?:in|at)", "To appear {0}"),
    (r"in press(?:,? (?:at|in))?", "In press:"),
    (r"published (?:in|at)", "Published {0}"),
    (r"appear(?:s|ed|ing)? (?:in|at)", "Published in"),
    (r"presented (?:at|in)", "Presented at"),
    (r"(?:in )?proceedings of", "In proceedings of"),
]
_PREFIXES = [
    (re.compile(r"\b" + pattern + r"\s+", re.IGNORECASE), shown) for pattern, shown in _STATUS
]
# Where a venue's clause ends: a semicolon, the page count, a link or the place and dates
# after it; a period too, unless it ends an abbreviation (see _ends_clause).
_VENUE_END = re.compile(
    r"\s*(?:[;\n]|,\s*\d+\s*(?:pages|figures|tables)\b|\.\s+(?=[A-Z0-9(])|\.?$"
    r"|,\s*(?:virtual|online|co-located)|,\s*\d{1,2}(?:-\d{1,2})?\s+[A-Z][a-z]+|\s+/\s"
    r"|[,.]?\s*(?:\(?https?://|(?i:project page|code|website|homepage|data(?:set)?)\b\s*:))"
)
# "Phys. Rev. Lett.", "J. Mach. Learn. Res.", "IEEE Trans. Pattern Anal.", "vol. 12, pp. 3"
_ABBREVIATION = re.compile(r"(?:\b[A-Z][a-z]{0,4}|\b[A-Z]|(?i:\b(?:vol|pp|no|nos|eds?)))$")
_ACRONYM_END = re.compile(r"\([A-Z][A-Za-z0-9@&'’.\- ]*\d{2,4}\)")  # "(ICST 2026)", "(MET'21)"
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
# Only a clause that says the paper is under review names no venue yet: "submitted to X",
# not "submitted and accepted to X", nor "under review at Y; accepted at Z".
_UNDER_REVIEW = re.compile(
    r"\b(?:submitted|under review|in submission|under submission)\s+(?:to|at|for|in)\b"
    r"[^;.]*$|\b(?:under review|submitted)\W*$",
    re.IGNORECASE,
)
_NOT_A_VENUE = re.compile(r"^(?:https?://|www\.|(?i:github|gitlab|zenodo|huggingface)\b)")
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
    """'Accepted at ICLR 2024 (spotlight)' and the like from the comment, else the journal
    reference; at most MAX_VENUE_CHARS, never cut inside a word."""
    venue = _venue_in(" ".join(comment.split()))
    if venue:
        return venue
    if journal_ref.strip():
        return _shortened(f"Published in {' '.join(journal_ref.split())}")
    return ""


def _venue_in(comment: str) -> str:
    for prefix, shown in _PREFIXES:
        for match in prefix.finditer(comment):
            if _UNDER_REVIEW.search(_clause_before(comment, match.start())):
                continue  # "submitted to the proceedings of ..." names no venue yet
            venue = _LEADING_ARTICLE.sub("", _venue_text(comment[match.end() :]))
            if venue and not _NOT_A_VENUE.match(venue):
                preposition = match.group(0).split()[-1].rstrip(":").lower()
                return _shortened(f"{shown.format(preposition)} {venue}")
    return ""


def _clause_before(comment: str, end: int) -> str:
    """The text of the comment's clause up to `end`: from its last ';' or sentence end."""
    before = comment[:end]
    cut = max(before.rfind(";"), before.rfind(". "))
    return before[cut + 1 :]


def _venue_text(rest: str) -> str:
    """The venue at the start of `rest`: up to the end of its clause, and no further than
    an acronym in parentheses that closes it ("... Validation (ICST 2026), Rome")."""
    venue = rest[: _clause_end(rest)]
    acronym = _ACRONYM_END.search(venue)
    if acronym and venue[acronym.end() :].strip(" ,") and acronym.end() >= len(venue) // 2:
        venue = venue[: acronym.end()]
    return _clean_url(venue.strip().rstrip(",:").strip("\"'“”"))


def _clause_end(rest: str) -> int:
    """Where the clause at the start of `rest` ends; a period after an abbreviation does
    not end it ("Phys. Rev. Lett. 120"), one before a sentence does ("Nature. Code ...")."""
    for end in _VENUE_END.finditer(rest):
        period = end.group().strip().startswith(".") and end.end() < len(rest)
        if period and (
            _ABBREVIATION.search(rest[: end.start()]) or _next_is_abbreviated(rest, end.end())
        ):
            continue
        return end.start()
    return len(rest)


def _next_is_abbreviated(rest: str, start: int) -> bool:
    """Whether the next word ends with a period too: "Astron. Soc.", "Mon. Not."."""
    word = rest[start:].split(" ", 1)[0]
    return len(word) > 1 and word.endswith(".") and word[0].isupper()


def _shortened(text: str) -> str:
    """The text within MAX_VENUE_CHARS: cut after a closing parenthesis or at a space, with
    an ellipsis; never inside a word."""
    if len(text) <= MAX_VENUE_CHARS:
        return text
    room = text[: MAX_VENUE_CHARS - 1]
    closing = room.rfind(")")
    cut = closing + 1 if closing > MAX_VENUE_CHARS // 2 else room.rfind(" ")
    kept = text[: max(cut, 1)]
    if kept.count("(") > kept.count(")"):  # never half a parenthesis: "(ICST" goes whole
        kept = kept[: kept.rfind("(")]
    return kept.rstrip(" ,(") + "…"
