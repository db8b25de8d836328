"""Typed replies: what a queued Redis command will answer, and the conversions from redis-py's.

redis-py types every reply as `Any`; these conversions are where that ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_UNSET = object()


@dataclass(frozen=True)
class StreamEntry:
    """One stream entry; `fields` is None for an entry deleted while still pending."""

    entry_id: str
    fields: Mapping[str, str] | None


class Reply(Generic[T]):
    """The reply of one queued command, readable once its batch has run."""

    __slots__ = ("_convert", "_value")

    def __init__(self, convert: Callable[[Any], T]) -> None:
        self._convert = convert
        self._value: Any = _UNSET

    def fill(self, raw: Any) -> None:
        self._value = self._convert(raw)

    @property
    def value(self) -> T:
        if self._value is _UNSET:
            raise RuntimeError("the batch holding this command has not run yet")
        result: T = self._value
        return result


def optional_str(raw: Any) -> str | None:
    return None if raw is None else str(raw)


def scored(raw: Any) -> list[tuple[str, float]]:
    return [(str(member), float(score)) for member, score in raw]


def optional_float(raw: Any) -> float | None:
    return None if raw is None else float(raw)


def optional_strs(raw: Any) -> list[str | None]:
    return [optional_str(item) for item in raw]


def strs(raw: Iterable[Any]) -> list[str]:
    return [str(item) for item in raw]


def str_set(raw: Iterable[Any]) -> set[str]:
    return {str(item) for item in raw}


def str_dict(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in raw.items()}


def first_scored(raw: Any) -> tuple[str, float] | None:
    return (str(raw[0][0]), float(raw[0][1])) if raw else None


def entries(raw: Iterable[Any]) -> list[StreamEntry]:
    return [StreamEntry(str(entry_id), str_dict(fields) if fields else None)
            for entry_id, fields in raw]  # fmt: skip


def read_entries(raw: Any) -> list[StreamEntry]:
    return [entry for _stream, listed in raw or [] for entry in entries(listed)]


def claimed_entries(raw: Any) -> list[StreamEntry]:
    return entries(raw[1])


def deliveries(raw: Any) -> int:
    return int(raw[0]["times_delivered"]) if raw else 0


def consumers(raw: Iterable[Mapping[str, Any]]) -> list[tuple[str, int, float]]:
    """(name, pending entries, idle seconds) of each consumer of a group."""
    return [(str(c["name"]), int(c["pending"]), int(c["idle"]) / 1000) for c in raw]


def seconds(raw: Any) -> float:
    whole, micros = raw
    return float(whole) + float(micros) / 1e6
