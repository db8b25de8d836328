"""The line an updated entry shows, in the feed's language, from the message catalogues.

"Updated to v3: abstract and comment changed, DOI added; now accepted at CVPR 2025", or for
metadata that arrived without a new version, "Journal reference and DOI added".
"""

from __future__ import annotations

from collections.abc import Sequence
from gettext import NullTranslations

from feedsvc.models import Revision
from feedsvc.web.i18n import SOURCE_LOCALE, catalogue_locale, listed, words_for
from feedsvc.web.render.chrome import venue_shown


def revision_note(revision: Revision, language: str) -> str:
    """What the paper's latest update changed, said in `language` (English without a
    catalogue)."""
    words = words_for(language)
    parts = []
    if revision.changed:
        changed = words.gettext("%(fields)s changed")
        parts.append(changed % {"fields": _fields(revision.changed, words, language)})
    if revision.added:
        added = words.gettext("%(fields)s added")
        parts.append(added % {"fields": _fields(revision.added, words, language)})
    what = _joined(parts, words.pgettext("two parts of a list of changes", "%(first)s, %(second)s"))
    if revision.venue:
        venue = venue_shown(revision.venue, language)
        if catalogue_locale(language) == SOURCE_LOCALE:
            venue = venue[:1].lower() + venue[1:]  # "now accepted at ...", "now published in ..."
        now = words.gettext("now %(venue)s") % {"venue": venue}
        what = _joined(
            [what, now], words.pgettext("changes, then the venue", "%(first)s; %(second)s")
        )
    if revision.amended:
        return what[:1].upper() + what[1:]
    if not what:
        return words.gettext("Updated to v%(version)s") % {"version": revision.to_version}
    note = words.gettext("Updated to v%(version)s: %(changes)s")
    return note % {"version": revision.to_version, "changes": what}


def _fields(names: Sequence[str], words: NullTranslations, language: str) -> str:
    shown = {
        "title": words.pgettext("a paper's field", "title"),
        "abstract": words.pgettext("a paper's field", "abstract"),
        "authors": words.pgettext("a paper's field", "authors"),
        "comment": words.pgettext("a paper's field", "comment"),
        "journal_ref": words.pgettext("a paper's field", "journal reference"),
        "doi": words.pgettext("a paper's field", "DOI"),
    }
    return listed([shown[name] for name in names], language)


def _joined(parts: Sequence[str], pattern: str) -> str:
    present = [part for part in parts if part]
    if len(present) < 2:
        return "".join(present)
    return pattern % {"first": present[0], "second": present[1]}
