"""/papers/<id>.bib and /papers/<id>.ris: one stored paper for a reference manager; and
/papers/<id>.png, its lead figure's thumbnail when one is kept (FEEDSVC_FIGURE_THUMBNAILS)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feedsvc.errors import PaperNotFound
from feedsvc.web.cache import Built, Rendered
from feedsvc.web.fastpath import cached_reply
from feedsvc.web.render.citation import BIBTEX, RIS, bibtex, cite_key, ris
from feedsvc.web.replies import Reply
from feedsvc.web.services import Services

FORMATS = {"bib": (BIBTEX, bibtex), "ris": (RIS, ris)}
# New ids (2412.08345, 2412.08345v2 is not stored) and old ones (hep-th/9901001).
_PAPER_ID = re.compile(r"[a-z-]{2,20}(?:\.[A-Z]{2})?/[0-9]{7}|[0-9]{4}\.[0-9]{4,5}")


def citation(svc: Services, name: str, environ: Mapping[str, Any]) -> Reply:
    """A stored paper as BibTeX or RIS, with an ETag (a 304 when unchanged) and gzip."""
    paper_id, _, fmt = name.rpartition(".")
    if fmt not in (*FORMATS, "png") or not _PAPER_ID.fullmatch(paper_id):
        raise PaperNotFound(name)
    paper = svc.store.papers.load_paper(paper_id)
    if paper is None:
        raise PaperNotFound(name)
    if fmt == "png":
        return thumbnail(svc, paper_id, name, paper.updated, environ)
    content_type, write = FORMATS[fmt]
    filename = f"{cite_key(paper)}.{fmt}"
    built = Built(write(paper).encode(), content_type, paper.updated, filename=filename)
    return cached_reply(Rendered.build("", built), environ, svc.settings.cache_max_age_seconds)


def thumbnail(
    svc: Services, paper_id: str, name: str, updated: datetime, environ: Mapping[str, Any]
) -> Reply:
    """The lead figure's thumbnail, with an ETag; a 404 when none is kept."""
    png = svc.store.pages.load_thumbnail(paper_id)
    if png is None:
        raise PaperNotFound(name)
    built = Built(png, "image/png", updated)
    return cached_reply(Rendered.build("", built), environ, svc.settings.cache_max_age_seconds)
