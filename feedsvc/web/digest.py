"""The daily digest from per-day pieces: one rendered entry per announcement day, reused.

An enrichment moves its feed's version, and the digest feed is assembled anew, but only the
day whose paper changed is read and rendered again: the other days' pieces come from this
process's memory at the version the store gives each day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from feedsvc.config import Topic
from feedsvc.licences import DEFAULT_GENERATED_LICENCE, GENERATED_LICENCES, Licence
from feedsvc.models import FeedItem
from feedsvc.store import DigestListing
from feedsvc.web.bounded import BoundedLru
from feedsvc.web.render.document import DigestDay
from feedsvc.web.render.html import render_digest_html

PIECES = 2048
PIECES_BYTES = 32 << 20
PIECE_OVERHEAD = 256


class DayReader(Protocol):
    def __call__(
        self, ids: tuple[str, ...], language: str, now: datetime
    ) -> tuple[list[FeedItem], datetime | None]: ...


@dataclass(frozen=True)
class Piece:
    """One day's digest entry, rendered, and when a paper hidden in it appears."""

    day: DigestDay | None  # None: none of the day's papers is ready yet
    expires_at: datetime | None


class DigestPieces:
    """Rendered days per (topic, language, day, day version), bounded in entries and bytes."""

    def __init__(
        self,
        max_entries: int = PIECES,
        max_bytes: int = PIECES_BYTES,
        licence: Licence = GENERATED_LICENCES[DEFAULT_GENERATED_LICENCE],
    ) -> None:
        self.licence = licence
        self.memory: BoundedLru[tuple[str, str, date, str], Piece] = BoundedLru(
            max_entries, max_bytes, piece_size
        )
        self.rendered = 0  # days rendered so far, for tests and benchmarks

    def days(
        self, topic: Topic, language: str, listings: list[DigestListing], read: DayReader,
        now: datetime, marks: tuple[str, ...] = (),
    ) -> tuple[list[DigestDay], datetime | None]:  # fmt: skip
        """The digest's days, newest first, and when the next hidden paper appears; `marks`:
        what to highlight (a filter's, whose key the listings' versions carry)."""
        pieces = [self._piece(topic, language, listing, read, now, marks) for listing in listings]
        expiries = [piece.expires_at for piece in pieces if piece.expires_at is not None]
        days = [piece.day for piece in pieces if piece.day is not None]
        return days, min(expiries, default=None)

    def _piece(
        self, topic: Topic, language: str, listing: DigestListing, read: DayReader,
        now: datetime, marks: tuple[str, ...],
    ) -> Piece:  # fmt: skip
        key = (topic.slug, language, listing.day, listing.version)
        piece = self.memory.get(key)
        if piece is None or (piece.expires_at is not None and piece.expires_at <= now):
            piece = self._render(topic, listing, language, read, now, marks)
            self.memory.put(key, piece)
        return piece

    def _render(
        self, topic: Topic, listing: DigestListing, language: str, read: DayReader,
        now: datetime, marks: tuple[str, ...],
    ) -> Piece:  # fmt: skip
        self.rendered += 1
        items, expires_at = read(listing.ids, language, now)
        if not items:
            return Piece(None, expires_at)
        updated = max(item.updated for item in items)
        html = render_digest_html(items, language, self.licence, marks, topic)
        return Piece(DigestDay(listing.day, len(items), updated, html), expires_at)


def piece_size(key: tuple[str, str, date, str], piece: Piece) -> int:
    html = piece.day.html if piece.day is not None else ""
    return len(html.encode()) + PIECE_OVERHEAD
