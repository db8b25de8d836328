"""Measure the size of modules, classes and functions, and report those over the limits.

Usage: python scripts/sizes.py [--check] [--json] [paths ...]   (default paths: feedsvc worker)

A path is a .py file or a directory searched for .py files (hidden and __pycache__ directories
are skipped). Standard library only: the sizes come from ``ast``.

What is measured:
- a module: its number of lines (newlines, plus an unterminated last line);
- a class, function or method: its lines from the first decorator (or the ``class``/``def`` line
  when it has none) to the last line of its body (the node's ``end_lineno``), both included.
  Methods and nested functions count as functions, named ``Class.method`` and ``outer.inner``;
  their location is the ``class``/``def`` line. A class's methods are the functions directly in
  its body.

The limits (a size equal to the limit is within it):
- module: 300 lines;
- class: 150 lines;
- function or method: 40 lines.

Output: a table of every module, largest first, marking those over the limit; a table of the
classes and one of the functions over their limits; a summary line. ``--json`` prints the same
data as JSON. ``--check`` prints each broken limit instead of the tables and exits 1 when there
is one, 0 otherwise (with ``--json``, the JSON is printed and the exit status is the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sizes_measure import (
    CLASS_LIMIT,
    FUNCTION_LIMIT,
    MODULE_LIMIT,
    ClassSize,
    FunctionSize,
    ModuleSize,
    Report,
    Summary,
    classes_over_limit,
    functions_over_limit,
    measure,
    modules_over_limit,
    summarize,
    violations,
)

# The measuring is in sizes_measure.py beside this script (run as a command, Python puts the
# script's folder first on sys.path); this module keeps offering its names.
__all__ = [
    "CLASS_LIMIT",
    "FUNCTION_LIMIT",
    "MODULE_LIMIT",
    "ClassSize",
    "FunctionSize",
    "ModuleSize",
    "Report",
    "Summary",
    "check_report",
    "classes_over_limit",
    "functions_over_limit",
    "json_report",
    "main",
    "measure",
    "modules_over_limit",
    "summarize",
    "text_report",
    "violations",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("feedsvc", "worker")


# --- output ------------------------------------------------------------------------------------


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell; numeric columns aligned right."""
    if not rows:
        return ["  (none)"]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    numeric = [all(row[index].isdigit() for row in rows) for index in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if is_numeric else cell.ljust(width)
            for cell, width, is_numeric in zip(cells, widths, numeric, strict=True)
        )
        return "  " + "  ".join(padded).rstrip()

    return [line(header), *(line(row) for row in rows)]


def module_table(report: Report) -> list[str]:
    rows = [
        [str(module.lines), module.path, "OVER" if module.lines > MODULE_LIMIT else ""]
        for module in report.modules
    ]
    title = f"Modules, largest first (OVER = more than {MODULE_LIMIT} lines)"
    return [title, *format_table(["lines", "module", ""], rows)]


def class_table(report: Report) -> list[str]:
    rows = [
        [str(cls.lines), str(cls.methods), f"{cls.path}:{cls.line}", cls.name]
        for cls in classes_over_limit(report)
    ]
    title = f"Classes over {CLASS_LIMIT} lines"
    return [title, *format_table(["lines", "methods", "location", "class"], rows)]


def function_table(report: Report) -> list[str]:
    rows = [
        [str(function.lines), f"{function.path}:{function.line}", function.name]
        for function in functions_over_limit(report)
    ]
    title = f"Functions and methods over {FUNCTION_LIMIT} lines"
    return [title, *format_table(["lines", "location", "function"], rows)]


def describe_module(module: ModuleSize | None) -> str:
    return f"largest module {module.path} ({module.lines} lines)" if module else "no module"


def describe_class(cls: ClassSize | None) -> str:
    if cls is None:
        return "no class"
    return f"largest class {cls.name} ({cls.lines} lines, {cls.methods} methods)"


def describe_function(function: FunctionSize | None) -> str:
    if function is None:
        return "no function"
    return f"longest function {function.name} ({function.lines} lines)"


def summary_line(summary: Summary) -> str:
    median = summary.median_function_lines
    parts = [
        f"{summary.modules} modules",
        describe_module(summary.largest_module),
        describe_class(summary.largest_class),
        describe_function(summary.longest_function),
        f"median function {median:g} lines" if median is not None else "no function",
        f"limits broken: module > {MODULE_LIMIT}: {summary.modules_over_limit},"
        f" class > {CLASS_LIMIT}: {summary.classes_over_limit},"
        f" function > {FUNCTION_LIMIT}: {summary.functions_over_limit}",
    ]
    return "Summary: " + "; ".join(parts)


def text_report(report: Report) -> str:
    sections = [module_table(report), class_table(report), function_table(report)]
    lines = [line for section in sections for line in [*section, ""]]
    return "\n".join([*lines, summary_line(summarize(report))])


def json_report(report: Report) -> str:
    data: dict[str, Any] = {
        "limits": {"module": MODULE_LIMIT, "class": CLASS_LIMIT, "function": FUNCTION_LIMIT},
        "modules": [
            {**asdict(module), "over_limit": module.lines > MODULE_LIMIT}
            for module in report.modules
        ],
        "classes_over_limit": [asdict(cls) for cls in classes_over_limit(report)],
        "functions_over_limit": [asdict(function) for function in functions_over_limit(report)],
        "summary": asdict(summarize(report)),
    }
    return json.dumps(data, indent=2)


def check_report(report: Report) -> str:
    broken = violations(report)
    verdict = f"{len(broken)} limits broken" if broken else "no limit broken"
    return "\n".join([*broken, verdict])


# --- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Report module, class and function sizes against the limits "
        f"(module > {MODULE_LIMIT}, class > {CLASS_LIMIT}, function > {FUNCTION_LIMIT} lines)."
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or directories (default: feedsvc worker in the repository)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a limit is broken")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not args.paths:
        args.paths = [REPO_ROOT / name for name in DEFAULT_PATHS]
    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; with --check, return 1 when a limit is broken."""
    args = parse_args(argv)
    try:
        report = measure(args.paths)
    except (SyntaxError, UnicodeDecodeError) as error:
        print(f"sizes: cannot parse: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json_report(report))
    elif args.check:
        print(check_report(report))
    else:
        print(text_report(report))
    return 1 if args.check and violations(report) else 0


if __name__ == "__main__":
    sys.exit(main())
