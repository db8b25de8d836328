"""The house plan holds: each outside library enters through one module, and ruff's import
rules fail the build when code reaches across a boundary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GATEWAYS = {
    "redis": {"feedsvc/store/db.py"},
    "openai": {"worker/enrich/llm.py"},
    "arxiv": {"worker/arxiv_source.py"},
    "feedgen": {"feedsvc/web/render/atom.py"},
    "flask": {"feedsvc/web/app.py"},
    "werkzeug": set(),
    "granian": {"feedsvc/web/serve.py"},
    "prometheus_client": {"feedsvc/web/metrics.py"},
    "lingua": {"worker/enrich/language.py"},
    "hanzidentifier": {"worker/enrich/language.py"},
    "pylatexenc": {"feedsvc/web/render/latex.py"},
    "babel": {"feedsvc/web/i18n.py"},
    "snowballstemmer": {"worker/enrich/offline.py"},
    "PIL": {"worker/thumbnails.py"},
}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def product_modules() -> dict[str, set[str]]:
    """'feedsvc/store/db.py' -> the modules it imports, for every product module."""
    paths = [*REPO.glob("feedsvc/**/*.py"), *REPO.glob("worker/**/*.py")]
    return {path.relative_to(REPO).as_posix(): imported_modules(path) for path in paths}


def test_each_outside_library_enters_through_one_module() -> None:
    importers: dict[str, set[str]] = {library: set() for library in GATEWAYS}
    for module, imports in product_modules().items():
        for library in {name.split(".")[0] for name in imports} & GATEWAYS.keys():
            importers[library].add(module)
    assert importers == GATEWAYS


def test_the_worker_and_the_web_never_import_each_other() -> None:
    for module, imports in product_modules().items():
        roots = {".".join(name.split(".")[:2]) for name in imports}
        if module.startswith("worker/"):
            assert "feedsvc.web" not in roots, module
        elif module.startswith("feedsvc/"):
            assert not any(name.split(".")[0] == "worker" for name in imports), module
            if not module.startswith("feedsvc/web/") and module != "feedsvc/app.py":
                assert "feedsvc.web" not in roots, module


@pytest.mark.parametrize(
    ("path", "line", "rule"),
    [
        ("worker/probe.py", "from feedsvc.web.app import create_app", "feedsvc.web"),
        ("worker/probe.py", "import flask", "flask"),
        ("feedsvc/web/probe.py", "from worker.cli import main", "worker"),
        ("feedsvc/web/probe.py", "import redis", "redis"),
        ("feedsvc/probe.py", "from worker.fetcher import Fetcher", "worker"),
        ("feedsvc/store/probe.py", "import openai", "openai"),
    ],
)
def test_ruff_fails_an_import_across_a_boundary(path: str, line: str, rule: str) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251",
         "--stdin-filename", path, "-"],
        input=line + "\n", capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert checked.returncode == 1, checked.stdout
    assert f"TID251 `{rule}` is banned" in checked.stdout


def test_ruff_lets_each_gateway_import_its_library() -> None:
    for library, modules in GATEWAYS.items():
        for module in modules:
            checked = subprocess.run(
                [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251",
                 "--stdin-filename", module, "-"],
                input=f"import {library}\n", capture_output=True, text=True, cwd=REPO,
                check=False,
            )  # fmt: skip
            assert checked.returncode == 0, (module, checked.stdout)
