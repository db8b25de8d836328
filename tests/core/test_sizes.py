"""scripts/sizes.py on a package written here, with sizes just over and exactly at each limit."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "sizes.py"


def load_sizes() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sizes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sizes"] = module
    sys.path.insert(0, str(SCRIPT.parent))  # for sizes_measure, which sizes.py imports
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


sizes = load_sizes()


def module_lines(total: int) -> list[str]:
    return ['"""Padding."""', *(f"VALUE_{index} = {index}" for index in range(total - 1))]


def function_lines(name: str, total: int, indent: str = "") -> list[str]:
    body = [f"{indent}    x{index} = {index}" for index in range(total - 2)]
    return [f"{indent}def {name}() -> int:", *body, f"{indent}    return 0"]


def class_lines(name: str, total: int) -> list[str]:
    methods = [
        line
        for method in ("first", "second")
        for line in (f"    def {method}(self) -> int:", "        y = 1", "        return y")
    ]
    attributes = [f"    attribute_{index} = {index}" for index in range(total - 1 - len(methods))]
    return [f"class {name}:", *methods, *attributes]


FUNCTIONS = [
    '"""Functions over, at and under the limit."""',
    "import functools",
    "",
    *function_lines("long", 41),
    *function_lines("edge", 40),
    "@functools.cache",
    *function_lines("decorated", 40),
    "class Holder:",
    *function_lines("long_method", 41, indent="    "),
    *function_lines("small", 5),
    "def outer() -> int:",
    "    def inner() -> int:",
    "        return 1",
    "    return inner()",
]

PACKAGE = {
    "__init__.py": ['"""A package."""'],
    "big.py": module_lines(301),
    "edge.py": module_lines(300),
    "big_class.py": ['"""A big class."""', *class_lines("Big", 151)],
    "edge_class.py": ['"""A class at the limit."""', *class_lines("Edge", 150)],
    "functions.py": FUNCTIONS,
}


def write_package(root: Path, files: dict[str, list[str]]) -> Path:
    root.mkdir()
    for name, lines in files.items():
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def line_of(text: str, lines: list[str]) -> int:
    return lines.index(text) + 1


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_package(tmp_path / "pkg", PACKAGE)
    return Path("pkg")


@pytest.fixture
def clean_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    files = {name: PACKAGE[name] for name in ("__init__.py", "edge.py", "edge_class.py")}
    files["functions.py"] = function_lines("edge", 40)
    return write_package(tmp_path / "clean", files)


def test_the_fixture_has_the_sizes_it_claims() -> None:
    assert [len(PACKAGE[name]) for name in ("big.py", "edge.py")] == [301, 300]
    assert len(class_lines("Big", 151)) == 151 and len(class_lines("Edge", 150)) == 150
    assert len(function_lines("long", 41)) == 41


def test_modules_are_counted_and_sorted_largest_first(package: Path) -> None:
    report = sizes.measure([package])
    assert [(module.path, module.lines) for module in report.modules] == [
        ("pkg/big.py", 301),
        ("pkg/edge.py", 300),
        ("pkg/functions.py", len(FUNCTIONS)),
        ("pkg/big_class.py", 152),
        ("pkg/edge_class.py", 151),
        ("pkg/__init__.py", 1),
    ]
    assert [module.path for module in sizes.modules_over_limit(report)] == ["pkg/big.py"]


def test_only_the_class_over_150_lines_is_reported(package: Path) -> None:
    report = sizes.measure([package])
    assert [(cls.name, cls.lines) for cls in report.classes] == [
        ("Big", 151),
        ("Edge", 150),
        ("Holder", 42),
    ]
    assert sizes.classes_over_limit(report) == [
        sizes.ClassSize("pkg/big_class.py", 2, "Big", 151, 2)
    ]


def test_functions_over_40_lines_count_decorators_and_name_methods(package: Path) -> None:
    report = sizes.measure([package])
    over = sizes.functions_over_limit(report)
    assert [(function.path, function.line, function.name, function.lines) for function in over] == [
        ("pkg/functions.py", line_of("def long() -> int:", FUNCTIONS), "long", 41),
        ("pkg/functions.py", line_of("def decorated() -> int:", FUNCTIONS), "decorated", 41),
        (
            "pkg/functions.py",
            line_of("    def long_method() -> int:", FUNCTIONS),
            "Holder.long_method",
            41,
        ),
    ]
    lengths = {function.name: function.lines for function in report.functions}
    assert lengths["edge"] == 40
    assert lengths["outer"] == 4 and lengths["outer.inner"] == 2
    assert lengths["Big.first"] == 3


def test_summary(package: Path) -> None:
    summary = sizes.summarize(sizes.measure([package]))
    assert summary.modules == 6
    assert summary.largest_module == sizes.ModuleSize("pkg/big.py", 301)
    assert (summary.largest_class.name, summary.largest_class.methods) == ("Big", 2)
    assert summary.longest_function.lines == 41
    # 2, 3, 3, 3, 3, 4, 5, 40, 41, 41, 41: inner, four 3-line methods, outer, small, edge, ...
    assert summary.median_function_lines == 4
    counts = (summary.modules_over_limit, summary.classes_over_limit, summary.functions_over_limit)
    assert counts == (1, 1, 3)


def test_text_report_marks_only_the_module_over_the_limit(package: Path) -> None:
    text = sizes.text_report(sizes.measure([package]))
    marked = [line.split()[1] for line in text.splitlines() if line.endswith("OVER")]
    assert marked == ["pkg/big.py"]
    assert "pkg/big_class.py:2  Big" in text
    assert "Holder.long_method" in text and " edge\n" not in text
    assert text.splitlines()[-1].startswith("Summary: 6 modules; largest module pkg/big.py (301")


def test_check_exits_1_and_prints_each_broken_limit(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sizes.main([str(package), "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "pkg/big.py: module has 301 lines (limit 300)"
    assert lines[1] == "pkg/big_class.py:2: class Big has 151 lines (limit 150)"
    assert [line.split()[2] for line in lines[2:5]] == ["long", "decorated", "Holder.long_method"]
    assert lines[5:] == ["5 limits broken"]


def test_check_exits_0_when_every_size_is_at_most_its_limit(
    clean_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sizes.main([str(clean_package), "--check"]) == 0
    assert capsys.readouterr().out == "no limit broken\n"


def test_without_check_the_exit_status_is_0(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sizes.main([str(package)]) == 0
    assert "Classes over 150 lines" in capsys.readouterr().out


def test_json_has_the_same_data(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sizes.main([str(package), "--json", "--check"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["limits"] == {"module": 300, "class": 150, "function": 40}
    assert [module["path"] for module in data["modules"] if module["over_limit"]] == ["pkg/big.py"]
    assert [cls["name"] for cls in data["classes_over_limit"]] == ["Big"]
    assert len(data["functions_over_limit"]) == 3
    assert data["summary"]["median_function_lines"] == 4


def test_the_script_runs_as_a_command(package: Path, clean_package: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(SCRIPT), *args]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    broken = run(str(package), "--check")
    assert broken.returncode == 1 and "class Big has 151 lines" in broken.stdout
    assert run(str(clean_package), "--check").returncode == 0
    assert run("no-such-dir").returncode == 2
