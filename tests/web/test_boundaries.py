"""Each outside library enters the web package through one module."""

from __future__ import annotations

import ast
from pathlib import Path

import feedsvc.web

WEB = Path(feedsvc.web.__file__).parent
GATEWAYS = {
    "flask": {"app.py"},
    "werkzeug": set(),
    "feedgen": {"render/atom.py"},
    "prometheus_client": {"metrics.py"},
    "granian": {"serve.py"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_each_library_has_one_gateway_module() -> None:
    importers: dict[str, set[str]] = {library: set() for library in GATEWAYS}
    for path in WEB.rglob("*.py"):
        for library in imported_roots(path) & GATEWAYS.keys():
            importers[library].add(path.relative_to(WEB).as_posix())
    assert importers == GATEWAYS
