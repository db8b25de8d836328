"""Feeds from models in three formats; Atom is the only format that goes through feedgen."""

from __future__ import annotations

from collections.abc import Callable

from feedsvc.web.render.atom import render_atom
from feedsvc.web.render.document import FeedDocument
from feedsvc.web.render.jsonfeed import render_json
from feedsvc.web.render.rss import render_rss

RENDERERS: dict[str, Callable[[FeedDocument], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}
CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
