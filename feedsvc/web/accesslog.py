"""`feedsvc-web`'s access log: one line per request, written off the hot path.

A request formats its line (a few µs) and appends it to memory; a thread of the log's own
(feedsvc.web.deferred, apart from the one that adds up the metrics, so a blocked stdout
stalls nothing else) writes what is there four times a second in one write, and at exit. Lines are
the Common Log Format with the time taken (`127.0.0.1 - - [03/Dec/2026:14:05:09 +0000] "GET
/feeds/rag.atom HTTP/1.1" 304 - 0.21ms`), or one JSON object each with
FEEDSVC_LOG_FORMAT=json. Outside text is escaped, so a request cannot forge a line.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from typing import Any, TextIO

from feedsvc.web.deferred import Deferred

MAX_PENDING = 100_000  # lines kept when writing falls behind; the oldest go first
# Controls, C1 controls and the Unicode line separators some log tools split on.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x2028: "\\u2028", 0x2029: "\\u2029", ord('"'): '\\"', ord("\\"): "\\\\",
}  # fmt: skip


class AccessLog:
    """Lines noted by the request metrics middleware (which already sees every answer) and
    written by a thread of the log's own, a batch at a time."""

    def __init__(
        self, stream: TextIO | None = None, json_lines: bool = False,
        max_pending: int = MAX_PENDING,
    ) -> None:  # fmt: skip
        self.stream = stream or sys.stdout
        self.json_lines = json_lines
        self.pending: deque[str] = deque(maxlen=max_pending)
        self.dropped = 0
        self._stamp = (0, "")  # (second, its text): most requests share their second
        self._write_lock = threading.Lock()
        self._drop_lock = threading.Lock()
        self.writer = Deferred()
        self.writer.register(self.write_pending)

    def start(self) -> None:
        """Write from now on, in this process (a forked worker starts its own)."""
        self.writer.start()

    def note(
        self, environ: dict[str, Any], status: str, headers: list[Any], seconds: float
    ) -> None:
        """One request: its environ, its status and headers as answered, the time it took."""
        if len(self.pending) == self.pending.maxlen:  # stdout fell behind: rare
            with self._drop_lock:
                self.dropped += 1
        self.pending.append(self._line(environ, status, headers, seconds))

    def write_pending(self) -> None:
        """Write every line noted so far, in one write."""
        with self._write_lock:
            lines = [self.pending.popleft() for _ in range(len(self.pending))]
            with self._drop_lock:
                dropped, self.dropped = self.dropped, 0
            noted = len(lines)
            if dropped:
                lines.append(f"feedsvc-web: {dropped} access log lines dropped (stdout is slow)")
            if not lines:
                return
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stdout closed or broken: counted, said next time
                with self._drop_lock:
                    self.dropped += dropped + noted

    def _line(
        self, environ: dict[str, Any], status: str, headers: list[Any], seconds: float
    ) -> str:
        length = next((value for name, value in headers if name == "Content-Length"), "-")
        query = environ.get("QUERY_STRING", "")
        target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        method, protocol = environ.get("REQUEST_METHOD", "-"), environ.get("SERVER_PROTOCOL", "-")
        remote, now = environ.get("REMOTE_ADDR", "-"), time.time()
        if self.json_lines:
            return json.dumps({
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "remote": remote,
                "method": method, "path": target, "protocol": protocol, "status": status[:3],
                "bytes": length, "ms": round(seconds * 1000, 2),
            }, ensure_ascii=False)  # fmt: skip
        request = _escaped(f"{method} {target} {protocol}")
        return (f"{_escaped(remote)} - - [{self._stamp_of(now)}] \"{request}\" {status[:3]} "
                f"{length} {seconds * 1000:.2f}ms")  # fmt: skip

    def _stamp_of(self, now: float) -> str:
        second, text = self._stamp
        if int(now) != second:
            text = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
            self._stamp = (int(now), text)
        return text


def _escaped(text: str) -> str:
    """The text with quotes, backslashes and control characters escaped: one line, always."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return text.translate(_ESCAPES)
