"""Progress of long fetches: a bar on a terminal, plain periodic lines when not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
LINE_INTERVAL_SECONDS = 10.0


class Progress:
    """Reports `done` out of `total` to `stream` (stderr by default)."""

    def __init__(self, label: str, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_line = 0.0
        self.last_done = -1

    def update(self, done: int, detail: str = "") -> None:
        done = min(done, self.total)
        if self.tty:
            filled = BAR_WIDTH * done // self.total
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} {self.unit} {detail}")
            self.stream.flush()
        elif done != self.last_done and (
            done == self.total or time.monotonic() - self.last_line >= LINE_INTERVAL_SECONDS
        ):
            self.last_line = time.monotonic()
            self.last_done = done
            print(f"{self.label}: {done}/{self.total} {self.unit} {detail}".rstrip(),
                  file=self.stream, flush=True)  # fmt: skip

    def finish(self, detail: str = "") -> None:
        self.update(self.total, detail)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
