"""A paper's lead figure as entries and pages show it: the image itself where the paper's
licence allows reuse (a Creative Commons licence, CC0), with its caption and credit; where
it does not (arXiv's default licence), a link to the figures on arXiv instead."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from feedsvc.licences import Licence, allows_reuse, paper_licence
from feedsvc.models import FeedItem, Figure
from feedsvc.web.render.document import safe_url
from feedsvc.web.urls import paper_url

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}  # fmt: skip
CREDITED_AUTHORS = 3


@dataclass(frozen=True)
class LeadFigure:
    """What an entry shows of the paper's figures and licence."""

    figure: Figure | None  # the first figure, if the paper's view has one
    count: int  # how many figures the view has
    view_url: str  # where they are on arXiv
    licence: Licence
    credit: str  # the authors, as the credit names them
    thumbnail_url: str = ""  # this service's thumbnail of the figure, when it keeps one

    @property
    def shown(self) -> bool:
        """Whether the image itself may be shown: the licence allows it, and its URL is an
        http(s) one."""
        return bool(self.image_url)

    @property
    def image_url(self) -> str:
        """The image to show and enclose; "" when it may not be shown."""
        if self.figure is None or not allows_reuse(self.licence):
            return ""
        return self.thumbnail_url or safe_url(self.figure.image_url)

    @property
    def image_type(self) -> str:
        if self.thumbnail_url:
            return "image/png"
        suffix = (
            PurePosixPath(urlsplit(self.figure.image_url).path).suffix.lower()
            if self.figure
            else ""
        )
        return IMAGE_TYPES.get(suffix, "image/png")


def lead_figure(item: FeedItem, base_url: str = "") -> LeadFigure | None:
    """The lead figure of an entry; None while the paper's pages are not fetched yet. Its
    image is this service's thumbnail when one is kept (at `base_url`), else arXiv's."""
    pages = item.pages
    if pages is None:
        return None
    figure = pages.figures[0] if pages.figures else None
    authors = item.paper.authors
    credit = ", ".join(authors[:CREDITED_AUTHORS]) + (
        " et al." if len(authors) > CREDITED_AUTHORS else ""
    )
    thumbnail = paper_url(item.paper.id, "png", base=base_url) if pages.thumbnail else ""
    return LeadFigure(
        figure,
        pages.figure_count,
        pages.view_url,
        paper_licence(pages.licence_url),
        credit,
        thumbnail,
    )
