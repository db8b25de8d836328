"""The arXiv API replayed from real recorded responses, in any (start, max_results) window."""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from tests.servers.http import QuietHandler, Server

FIXTURES = Path(__file__).parents[1] / "fixtures" / "arxiv"
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def read_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_entries(name: str) -> list[Any]:
    """The <entry> elements of a recorded response, in recorded order."""
    root = etree.fromstring(read_fixture(name))
    return list(root.iterfind(f"{ATOM}entry"))


def revise_entry(
    entry: Any, updated: str, abstract: str | None = None, comment: str | None = None
) -> Any:
    """A copy of a recorded entry as arXiv would list its next version."""
    revised = copy.deepcopy(entry)
    id_element = revised.find(f"{ATOM}id")
    version = int(id_element.text.rsplit("v", 1)[1]) + 1
    id_element.text = re.sub(r"v\d+$", f"v{version}", id_element.text)
    revised.find(f"{ATOM}updated").text = updated
    for link in revised.iterfind(f"{ATOM}link"):
        link.set("href", re.sub(r"v\d+$", f"v{version}", link.get("href")))
    if abstract is not None:
        revised.find(f"{ATOM}summary").text = abstract
    if comment is not None:
        set_arxiv_field(revised, "comment", comment)
    return revised


def make_entry(
    paper_id: str, title: str, abstract: str, authors: list[str], comment: str, updated: str,
    categories: tuple[str, ...] = ("cs.CV",),
) -> Any:  # fmt: skip
    """An <entry> as the arXiv API writes one (the elements the recordings hold)."""
    entry = etree.Element(f"{ATOM}entry", nsmap={None: ATOM[1:-1], "arxiv": ARXIV[1:-1]})
    texts = {"id": f"http://arxiv.org/abs/{paper_id}v1", "title": title, "updated": updated,
             "summary": abstract, "published": updated}  # fmt: skip
    for tag, text in texts.items():
        etree.SubElement(entry, f"{ATOM}{tag}").text = text
    etree.SubElement(entry, f"{ATOM}link", href=f"https://arxiv.org/abs/{paper_id}v1",
                     rel="alternate", type="text/html")  # fmt: skip
    etree.SubElement(entry, f"{ATOM}link", href=f"https://arxiv.org/pdf/{paper_id}v1",
                     rel="related", type="application/pdf", title="pdf")  # fmt: skip
    for term in categories:
        etree.SubElement(entry, f"{ATOM}category", term=term,
                         scheme="http://arxiv.org/schemas/atom")  # fmt: skip
    etree.SubElement(entry, f"{ARXIV}primary_category", term=categories[0])
    for name in authors:
        etree.SubElement(etree.SubElement(entry, f"{ATOM}author"), f"{ATOM}name").text = name
    if comment:
        set_arxiv_field(entry, "comment", comment)
    return entry


def set_arxiv_field(entry: Any, name: str, text: str) -> Any:
    """Set (or add) the entry's arxiv:comment, arxiv:journal_ref or arxiv:doi."""
    element = entry.find(f"{ARXIV}{name}")
    if element is None:
        element = etree.SubElement(entry, f"{ARXIV}{name}")
    element.text = text
    return entry


_WINDOW = re.compile(r"lastUpdatedDate:\[(\d{12}) TO (\d{12})\]")


def _minute(entry: Any) -> str:
    """An entry's `updated` as arXiv's range queries spell it: YYYYMMDDHHMM, GMT."""
    return re.sub(r"\D", "", entry.find(f"{ATOM}updated").text)[:12]


def entry_id(entry: Any) -> str:
    """The versionless arXiv id of an entry element."""
    text = entry.find(f"{ATOM}id").text
    return re.sub(r"v\d+$", "", text.split("/abs/", 1)[1])


@dataclass
class ArxivRequest:
    at: float
    params: dict[str, str]


@dataclass
class ArxivReplay:
    """Serves a listing of real recorded entries in any (start, max_results) window.

    `listing` is the day's result list, newest update first. `raw` overrides everything
    with a recorded body and status, for replaying a response verbatim.
    """

    listing: list[Any] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)  # ids left out unless a window is asked for
    uncounted: int = 0  # papers a windowed count includes that no page ever shows
    template: str = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"
    raw: tuple[int, bytes] | None = None
    trickle_seconds: float = 0.0  # > 0: send the body one byte at a time, this far apart
    requests: list[ArxivRequest] = field(default_factory=list)
    server: Server | None = None
    # The papers' other pages: HTML views by versioned id (a 404 for the others), licences
    # by id for OAI-PMH GetRecord (idDoesNotExist for the others), every such request.
    views: dict[str, bytes] = field(default_factory=dict)
    licences: dict[str, str] = field(default_factory=dict)
    page_requests: list[ArxivRequest] = field(default_factory=list)
    page_failure: tuple[int, bytes] | None = None  # answers every page request, when set

    def start(self) -> ArxivReplay:
        self.server = Server(_ArxivHandler)
        self.server.replay = self  # type: ignore[attr-defined]
        return self

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return self.server.url + "/api/query"

    @property
    def html_url(self) -> str:
        assert self.server is not None
        return self.server.url + "/html"

    @property
    def oai_url(self) -> str:
        assert self.server is not None
        return self.server.url + "/oai2"

    def other_page(self, path: str, params: dict[str, str]) -> tuple[int, bytes, str]:
        """An HTML view (/html/<id>v<n>) or an OAI-PMH GetRecord answer (/oai2)."""
        self.page_requests.append(ArxivRequest(time.monotonic(), {"path": path, **params}))
        if self.page_failure is not None:
            return (*self.page_failure, "text/plain")
        if path.startswith("/html/"):
            view = self.views.get(path.removeprefix("/html/"))
            return (200, view, "text/html") if view else (404, b"Not Found", "text/html")
        paper_id = params.get("identifier", "").removeprefix("oai:arXiv.org:")
        return 200, oai_record(paper_id, self.licences.get(paper_id)), "text/xml"

    def respond(self, params: dict[str, str]) -> tuple[int, bytes]:
        self.requests.append(ArxivRequest(time.monotonic(), params))
        if self.raw is not None:
            return self.raw
        start = int(params.get("start", "0"))
        size = int(params.get("max_results", "10"))
        return 200, self.page(start, size, params.get("search_query", ""))

    def page(self, start: int, size: int, query: str = "") -> bytes:
        """One page of the listing; a `lastUpdatedDate:[A TO B]` query gets that window,
        as arXiv answers it (GMT minutes, both ends included)."""
        listing, total = self._matching(query)
        root = etree.fromstring(read_fixture(self.template))
        for old in root.findall(f"{ATOM}entry"):
            root.remove(old)
        root.find(f"{OPENSEARCH}totalResults").text = str(total)
        root.find(f"{OPENSEARCH}startIndex").text = str(start)
        root.find(f"{OPENSEARCH}itemsPerPage").text = str(size)
        for entry in listing[start : start + size]:
            root.append(copy.deepcopy(entry))
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _matching(self, query: str) -> tuple[list[Any], int]:
        window = _WINDOW.search(query)
        if window is None:
            shown = [e for e in self.listing if entry_id(e) not in self.hidden]
            return shown, len(shown)
        low, high = window[1], window[2]
        inside = [e for e in self.listing if low <= _minute(e) <= high]
        return inside, len(inside) + self.uncounted

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def oai_record(paper_id: str, licence: str | None) -> bytes:
    """A GetRecord answer for the paper, made from the recorded one (hepcrawl__arxiv-single)
    with its id and licence; an idDoesNotExist error for a paper without a licence given."""
    recorded = (FIXTURES.parent / "oai" / "hepcrawl__arxiv-single.xml").read_bytes()
    if licence is None:
        head = recorded.split(b"<GetRecord>")[0]
        return head + b'<error code="idDoesNotExist">No such id</error></OAI-PMH>'
    answer = recorded.replace(b"1401.2122", paper_id.encode())
    return re.sub(rb"<license>[^<]*</license>", f"<license>{licence}</license>".encode(), answer)


class _ArxivHandler(QuietHandler):
    def do_GET(self) -> None:
        replay: ArxivReplay = self.server.app.replay  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path.startswith("/html/") or parts.path == "/oai2":
            self.send_body(*replay.other_page(parts.path, params))
            return
        if parts.path != "/api/query":
            self.send_body(404, b"not found", "text/plain")
            return
        status, body = replay.respond(params)
        if replay.trickle_seconds:
            self.trickle(status, body, replay.trickle_seconds)
            return
        self.send_body(status, body, "application/atom+xml; charset=UTF-8")

    def trickle(self, status: int, body: bytes, interval: float) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/atom+xml; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(interval)
