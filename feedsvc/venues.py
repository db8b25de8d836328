"""The venue line as stored: a status phrase the worker writes, then the venue's name.

The worker (worker/extract.py) writes "Accepted at ICLR 2025", "Published in Phys. Rev. D",
"To appear in ...", "In press: ...", "In proceedings of ...", "Presented at ...". The web
shows English as stored and says the status in the reader's language elsewhere, so the
phrases are a stored format, read back here.
"""

from __future__ import annotations

import re

STATUSES = {
    "accepted": r"Accepted (?:at|by|to|in|for|on)",
    "published": r"Published (?:in|at)",
    "to_appear": r"To appear (?:in|at)",
    "in_press": r"In press:",
    "proceedings": r"In proceedings of",
    "presented": r"Presented at",
}
_STATUS = re.compile(
    "^(?:" + "|".join(f"(?P<{name}>{phrase})" for name, phrase in STATUSES.items()) + r") (.+)$",
    re.DOTALL,
)


def split_venue(venue: str) -> tuple[str, str]:
    """(status, name) of a stored venue line; ("", the line) when it has no known status."""
    match = _STATUS.match(venue)
    if match is None:
        return "", venue
    status = next(name for name in STATUSES if match.group(name))
    return status, match.group(len(STATUSES) + 1)
