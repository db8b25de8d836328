"""The line an updated entry shows, in the feed's language.

"Updated to v3: abstract and comment changed, DOI added; now accepted at CVPR 2025", or for
metadata that arrived without a new version, "Journal reference and DOI added".
"""

from __future__ import annotations

from collections.abc import Sequence

from feedsvc.models import Revision

PHRASES = {
    "en": {
        "updated": "Updated to v{version}", "changed": "{fields} changed",
        "added": "{fields} added", "now": "now {venue}",
        "colon": ": ", "semicolon": "; ", "comma": ", ", "list": ", ", "and": " and ",
        "title": "title", "abstract": "abstract", "authors": "authors", "comment": "comment",
        "journal_ref": "journal reference", "doi": "DOI",
    },
    "zh": {
        "updated": "已更新至 v{version}", "changed": "{fields}有改动",
        "added": "新增{fields}", "now": "现为 {venue}",
        "colon": "：", "semicolon": "；", "comma": "，", "list": "、", "and": "和",
        "title": "标题", "abstract": "摘要", "authors": "作者", "comment": "备注",
        "journal_ref": "期刊引用", "doi": "DOI",
    },
}  # fmt: skip


def revision_note(revision: Revision, language: str) -> str:
    """What the paper's latest update changed, said in `language` (English if not known)."""
    words = PHRASES.get(language.split("-")[0], PHRASES["en"])
    parts = []
    if revision.changed:
        parts.append(words["changed"].format(fields=_listed(revision.changed, words)))
    if revision.added:
        parts.append(words["added"].format(fields=_listed(revision.added, words)))
    what = words["comma"].join(parts)
    if revision.venue:
        venue = revision.venue
        if words is PHRASES["en"]:
            venue = venue[:1].lower() + venue[1:]  # "now accepted at ...", "now published in ..."
        what = words["semicolon"].join(filter(None, [what, words["now"].format(venue=venue)]))
    if revision.amended:
        return what[:1].upper() + what[1:]
    head = words["updated"].format(version=revision.to_version)
    return f"{head}{words['colon']}{what}" if what else head


def _listed(fields: Sequence[str], words: dict[str, str]) -> str:
    names = [words[field] for field in fields]
    if len(names) == 1:
        return names[0]
    return words["list"].join(names[:-1]) + words["and"] + names[-1]
