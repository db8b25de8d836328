"""Times as feedsvc stores them: ISO 8601 in UTC, aware datetimes only."""

from __future__ import annotations

from datetime import UTC, datetime


def encode_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: feedsvc stores aware UTC times only")
    return value.astimezone(UTC).isoformat()


def decode_time(raw: str) -> datetime:
    return datetime.fromisoformat(raw).astimezone(UTC)


def decode_optional_time(raw: str | None) -> datetime | None:
    return decode_time(raw) if raw else None


def earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the moments given; None when none is."""
    return min((moment for moment in moments if moment is not None), default=None)
