"""The language check on a labelled test set, per language, side by side with an earlier
commit's check.

    .venv/bin/python -m bench.languages [--baseline 95f55e0]

tests/fixtures/languages/texts.json holds, per language the prompt names, 12 short texts
(one takeaway) and 3 long ones (a translated abstract), written as model answers are. For
each language the table shows: the share of its own texts the check accepts, short and
long; the share of English answers it rejects when that language was asked for (the most
common wrong answer); the share of a close neighbour's texts it rejects (Dutch asked,
German given; Simplified Chinese asked, Traditional given ...); and the share of every other
language's texts it rejects.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

from feedsvc.errors import EnrichmentFailed
from worker.enrich import validate

TEXTS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "languages" / "texts.json"
NEIGHBOUR = {
    "ar": "hi", "de": "nl", "en": "de", "es": "pt", "fr": "it", "hi": "ar", "it": "es",
    "ja": "zh", "ko": "ja", "nl": "de", "pl": "tr", "pt": "es", "ru": "uk", "tr": "pl",
    "uk": "ru", "vi": "fr", "zh": "zh-TW", "zh-TW": "zh",
}  # fmt: skip
Check = Callable[[str, str], None]


def texts() -> dict[tuple[str, str], list[str]]:
    """(language, 'short' | 'long') -> texts."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for item in json.loads(TEXTS.read_text(encoding="utf-8"))["texts"]:
        grouped.setdefault((item["language"], item["kind"]), []).append(item["text"])
    return grouped


def accepted(check: Check, samples: list[str], language: str) -> float:
    ok = 0
    for text in samples:
        try:
            check(text, language)
            ok += 1
        except EnrichmentFailed:
            pass
    return ok / len(samples)


def baseline_check(ref: str) -> Check:
    """check_language as `ref` had it, run beside today's modules."""
    source = subprocess.run(["git", "show", f"{ref}:worker/enrich/validate.py"], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    module = types.ModuleType(f"validate_{ref}")
    sys.modules[module.__name__] = module  # its dataclasses look themselves up there
    exec(compile(source, f"{ref}:worker/enrich/validate.py", "exec"), module.__dict__)
    check: Check = module.check_language
    return check


def rows(checks: dict[str, Check]) -> list[list[str]]:
    grouped = texts()
    languages = sorted({language for language, _kind in grouped})
    table = []
    for language in languages:
        own = {kind: grouped[(language, kind)] for kind in ("short", "long")}
        english = grouped[("en", "short")] + grouped[("en", "long")]
        neighbour = NEIGHBOUR[language]
        theirs = grouped[(neighbour, "short")] + grouped[(neighbour, "long")]
        others = [t for (other, _kind), group in grouped.items() if other != language
                  for t in group]  # fmt: skip
        cells = [language]
        for check in checks.values():
            cells += [
                f"{accepted(check, own['short'], language):.0%}",
                f"{accepted(check, own['long'], language):.0%}",
                "-" if language == "en" else f"{1 - accepted(check, english, language):.0%}",
                f"{neighbour} {1 - accepted(check, theirs, language):.0%}",
                f"{1 - accepted(check, others, language):.1%}",
            ]
        table.append(cells)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="95f55e0", help="the commit to compare with")
    args = parser.parse_args()
    checks = {"now": validate.check_language, args.baseline: baseline_check(args.baseline)}
    head = ["lang"]
    for label in checks:
        head += [f"{label}: short ok", "long ok", "English out", "neighbour out", "others out"]
    table = [head, *rows(checks)]
    widths = [max(len(row[n]) for row in table) for n in range(len(head))]
    for row in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
