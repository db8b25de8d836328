"""The licences feedsvc states: arXiv's metadata, and a choice for the text it generates."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    spdx: str
    name: str
    url: str


def _cc(spdx: str, name: str, path: str) -> Licence:
    return Licence(spdx, name, f"https://creativecommons.org/{path}/")


# arXiv: "The metadata for all articles is released under CC0 1.0"
# (https://info.arxiv.org/help/api/tou.html).
ARXIV_METADATA = _cc("CC0-1.0", "CC0 1.0", "publicdomain/zero/1.0")
GENERATED_LICENCES = {
    licence.spdx: licence
    for licence in (
        ARXIV_METADATA,
        _cc("CC-BY-4.0", "CC BY 4.0", "licenses/by/4.0"),
        _cc("CC-BY-SA-4.0", "CC BY-SA 4.0", "licenses/by-sa/4.0"),
        _cc("CC-BY-NC-4.0", "CC BY-NC 4.0", "licenses/by-nc/4.0"),
        _cc("CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0", "licenses/by-nc-sa/4.0"),
        _cc("CC-BY-ND-4.0", "CC BY-ND 4.0", "licenses/by-nd/4.0"),
        _cc("CC-BY-NC-ND-4.0", "CC BY-NC-ND 4.0", "licenses/by-nc-nd/4.0"),
    )
}
# A paper's own licence, as arXiv's OAI-PMH states it: arXiv's default gives others no right
# to reuse the paper's figures; the Creative Commons licences and CC0 do, with credit.
ARXIV_DEFAULT = Licence(
    "arXiv-nonexclusive-distrib-1.0", "arXiv non-exclusive licence",
    "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
)  # fmt: skip
_CC_PATH = re.compile(
    r"https?://(?:www\.)?creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)/?$"
)


def paper_licence(url: str) -> Licence:
    """The licence of a paper from the URL in its OAI-PMH record; arXiv's default when the
    record names none or one it does not know."""
    found = _CC_PATH.fullmatch(url.strip())
    if found is None:
        return ARXIV_DEFAULT
    kind, code, version = found.groups()
    if kind == "publicdomain":
        return (
            Licence(f"CC0-{version}", f"CC0 {version}", url.strip())
            if code == "zero"
            else ARXIV_DEFAULT
        )
    return Licence(f"CC-{code.upper()}-{version}", f"CC {code.upper()} {version}", url.strip())


def allows_reuse(licence: Licence) -> bool:
    """Whether others may show the paper's figures (with credit): a CC licence or CC0."""
    return licence.spdx.startswith("CC")


# The blog feedsvc grew from published its generated summaries under CC BY 4.0.
DEFAULT_GENERATED_LICENCE = "CC-BY-4.0"
