"""The licences feedsvc states: arXiv's metadata, and a choice for the text it generates."""

from __future__ import annotations

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
# The blog feedsvc grew from published its generated summaries under CC BY 4.0.
DEFAULT_GENERATED_LICENCE = "CC-BY-4.0"
