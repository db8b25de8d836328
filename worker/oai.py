"""arXiv's OAI-PMH answers (export.arxiv.org/oai2, metadataPrefix=arXiv), read with lxml: the
licence of each paper in a GetRecord or ListRecords answer.

A record without `<license>` is under arXiv's default licence; an answer with an OAI error
(`idDoesNotExist`, `noRecordsMatch`) holds no record. Any other error is raised, so the
caller asks again later.
"""

from __future__ import annotations

from lxml import etree

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
NO_RECORD = frozenset({"idDoesNotExist", "noRecordsMatch"})


class OaiError(Exception):
    """The OAI-PMH answer is an error other than "no such record", or not OAI-PMH at all."""


def parse_licences(xml: bytes) -> dict[str, str]:
    """arXiv id -> the licence URL its record states ("" when it states none)."""
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise OaiError(f"not an OAI-PMH answer: {exc}") from None
    if root.tag != f"{OAI}OAI-PMH":
        raise OaiError(f"not an OAI-PMH answer: <{etree.QName(root).localname}>")
    for error in root.iter(f"{OAI}error"):
        if error.get("code") not in NO_RECORD:
            raise OaiError(f"OAI-PMH error {error.get('code')}: {(error.text or '').strip()}")
    licences = {}
    for record in root.iter(f"{ARXIV}arXiv"):
        paper_id = (record.findtext(f"{ARXIV}id") or "").strip()
        if paper_id:
            licences[paper_id] = (record.findtext(f"{ARXIV}license") or "").strip()
    return licences
