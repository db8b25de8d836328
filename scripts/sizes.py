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
import ast
import json
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MODULE_LIMIT = 300
CLASS_LIMIT = 150
FUNCTION_LIMIT = 40

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("feedsvc", "worker")

Definition = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
DEFINITION_TYPES = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class ModuleSize:
    path: str
    lines: int


@dataclass(frozen=True)
class ClassSize:
    path: str
    line: int
    name: str
    lines: int
    methods: int


@dataclass(frozen=True)
class FunctionSize:
    path: str
    line: int
    name: str
    lines: int


@dataclass(frozen=True)
class Report:
    modules: list[ModuleSize]
    classes: list[ClassSize]
    functions: list[FunctionSize]


@dataclass(frozen=True)
class Summary:
    modules: int
    largest_module: ModuleSize | None
    largest_class: ClassSize | None
    longest_function: FunctionSize | None
    median_function_lines: float | None
    modules_over_limit: int
    classes_over_limit: int
    functions_over_limit: int


# --- measuring ---------------------------------------------------------------------------------


def python_files(path: Path) -> list[Path]:
    """The .py files of a file or directory, in path order, outside hidden and cache folders."""
    if path.is_file():
        return [path]
    return [
        file
        for file in sorted(path.rglob("*.py"))
        if not any(
            part.startswith(".") or part == "__pycache__"
            for part in file.relative_to(path).parts[:-1]
        )
    ]


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is under it, else as given."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def span_lines(node: Definition) -> int:
    """Lines from the first decorator (or the class/def line) to the end of the body."""
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    last = node.end_lineno if node.end_lineno is not None else node.lineno
    return last - first + 1


def count_methods(node: ast.ClassDef) -> int:
    return sum(isinstance(child, FUNCTION_TYPES) for child in node.body)


def definitions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, Definition]]:
    """Every class and function under node, with its dotted name (Class.method, outer.inner)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, DEFINITION_TYPES):
            name = prefix + child.name
            yield name, child
            yield from definitions(child, name + ".")
        else:
            yield from definitions(child, prefix)


def measure_file(path: Path) -> tuple[ModuleSize, list[ClassSize], list[FunctionSize]]:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    shown = display_path(path)
    classes: list[ClassSize] = []
    functions: list[FunctionSize] = []
    for name, node in definitions(tree):
        lines = span_lines(node)
        if isinstance(node, ast.ClassDef):
            classes.append(ClassSize(shown, node.lineno, name, lines, count_methods(node)))
        else:
            functions.append(FunctionSize(shown, node.lineno, name, lines))
    return ModuleSize(shown, count_lines(text)), classes, functions


def measure(paths: Sequence[Path]) -> Report:
    """Measure every module under paths; each list is sorted largest first."""
    modules: list[ModuleSize] = []
    classes: list[ClassSize] = []
    functions: list[FunctionSize] = []
    for path in paths:
        for file in python_files(path):
            module, file_classes, file_functions = measure_file(file)
            modules.append(module)
            classes.extend(file_classes)
            functions.extend(file_functions)
    return Report(
        modules=sorted(modules, key=lambda item: (-item.lines, item.path)),
        classes=sorted(classes, key=lambda item: (-item.lines, item.path, item.line)),
        functions=sorted(functions, key=lambda item: (-item.lines, item.path, item.line)),
    )


# --- limits and summary ------------------------------------------------------------------------


def modules_over_limit(report: Report) -> list[ModuleSize]:
    return [module for module in report.modules if module.lines > MODULE_LIMIT]


def classes_over_limit(report: Report) -> list[ClassSize]:
    return [cls for cls in report.classes if cls.lines > CLASS_LIMIT]


def functions_over_limit(report: Report) -> list[FunctionSize]:
    return [function for function in report.functions if function.lines > FUNCTION_LIMIT]


def summarize(report: Report) -> Summary:
    function_lines = [function.lines for function in report.functions]
    return Summary(
        modules=len(report.modules),
        largest_module=report.modules[0] if report.modules else None,
        largest_class=report.classes[0] if report.classes else None,
        longest_function=report.functions[0] if report.functions else None,
        median_function_lines=statistics.median(function_lines) if function_lines else None,
        modules_over_limit=len(modules_over_limit(report)),
        classes_over_limit=len(classes_over_limit(report)),
        functions_over_limit=len(functions_over_limit(report)),
    )


def violations(report: Report) -> list[str]:
    """One line per broken limit: modules, then classes, then functions, largest first."""
    return [
        *(
            f"{module.path}: module has {module.lines} lines (limit {MODULE_LIMIT})"
            for module in modules_over_limit(report)
        ),
        *(
            f"{cls.path}:{cls.line}: class {cls.name} has {cls.lines} lines (limit {CLASS_LIMIT})"
            for cls in classes_over_limit(report)
        ),
        *(
            f"{function.path}:{function.line}: function {function.name} has {function.lines}"
            f" lines (limit {FUNCTION_LIMIT})"
            for function in functions_over_limit(report)
        ),
    ]


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
