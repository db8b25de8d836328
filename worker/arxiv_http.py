"""The HTTP session under the arXiv client: a total deadline, the shared gate, a count of
every request, and truncated answers refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import requests

READ_CHUNK_BYTES = 65536
RequestRecorder = Callable[[bool], None]
Gate = Callable[[], AbstractContextManager[None]]


class DeadlineSession(requests.Session):
    """The session under arxiv.Client: a deadline on every request (the client sets none),
    a shared gate around each one, a count of each, and truncated bodies refused.

    The deadline is for the whole answer: a server that trickles a byte at a time never
    trips a per-read timeout, and would hold the fetch lock and the arXiv gate forever.
    """

    def __init__(
        self, timeout_seconds: float, record: RequestRecorder, gate: Gate,
        ends_with: bytes = b"</feed>",
    ) -> None:  # fmt: skip
        super().__init__()
        self.timeout_seconds = timeout_seconds
        self.record = record
        self.gate = gate
        self.ends_with = ends_with  # how a whole answer ends: the Atom feed's by default

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout_seconds)
        kwargs["stream"] = True
        with self.gate():
            deadline = time.monotonic() + self.timeout_seconds
            try:
                response = super().request(method, url, *args, **kwargs)
                _read_before(response, deadline)
                _refuse_truncated(response, self.ends_with)
            except requests.RequestException:
                self.record(False)
                raise
        self.record(response.status_code == 200)
        return response


def _read_before(response: requests.Response, deadline: float) -> None:
    """Read the whole body, or raise Timeout once `deadline` (monotonic) has passed."""
    chunks = []
    with response:
        while chunk := response.raw.read1(READ_CHUNK_BYTES, decode_content=True):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise requests.Timeout("the answer did not complete in time")
    response._content = b"".join(chunks)  # what requests itself stores once a body is read


def _refuse_truncated(response: requests.Response, ends_with: bytes) -> None:
    """Parsers recover from a cut-off document; a partial page must not pass as whole."""
    body = response.content.rstrip()
    if response.status_code == 200 and not body.lower().endswith(ends_with):
        raise requests.exceptions.ChunkedEncodingError(
            f"truncated response: the document does not end with {ends_with.decode()}"
        )
