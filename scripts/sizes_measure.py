"""The measuring behind scripts/sizes.py: module, class and function sizes, and the limits.

Standard library only: the sizes come from ``ast``. What is measured and the limits are
described in scripts/sizes.py, the command that prints them.
"""

from __future__ import annotations

import ast
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

MODULE_LIMIT = 300
CLASS_LIMIT = 150
FUNCTION_LIMIT = 40

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
