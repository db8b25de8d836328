"""What shapes a rendered feed besides its stored content: settings, topics and this code.

Rendered feeds are kept per version, in memory and in Redis for days. The version carries
this fingerprint, so a new FEEDSVC_PUBLIC_URL, FEEDSVC_FEED_SIZE or
FEEDSVC_GENERATED_LICENSE, an edited topic, catalogue or an upgrade shows at once instead
of when each feed next changes. Settings that only decide
where or how a process runs (the bind address, workers, logs) stay out of it: every web
host of one deployment renders the same bytes and the same ETag for one feed version.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from feedsvc.config import Settings, Topic

RENDER_SETTINGS = ("public_url", "feed_size", "publish_grace_seconds", "generated_license")
RENDER_LIBRARIES = ("feedgen", "lxml", "jinja2", "markupsafe", "babel", "pylatexenc")
CODE_SUFFIXES = frozenset({".py", ".html", ".svg", ".css", ".po", ".mo"})
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # feedsvc/


def render_fingerprint(settings: Settings, topics: Sequence[Topic]) -> str:
    """A short hash of the settings that shape feeds, the topics and the code that renders."""
    digest = hashlib.sha256()
    for name in RENDER_SETTINGS:
        digest.update(f"{name}={getattr(settings, name)!r}\n".encode())
    for topic in topics:
        digest.update(f"{topic!r}\n".encode())
    digest.update(code_fingerprint().encode())
    return digest.hexdigest()[:12]


@functools.cache
def code_fingerprint() -> str:
    """A hash of the feedsvc package's files and the versions of the libraries that render."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_ROOT.rglob("*")):
        if path.suffix in CODE_SUFFIXES and path.is_file():
            digest.update(str(path.relative_to(PACKAGE_ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    for library in RENDER_LIBRARIES:
        digest.update(f"{library}={metadata.version(library)}\n".encode())
    return digest.hexdigest()
