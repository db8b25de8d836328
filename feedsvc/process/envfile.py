"""`.env`, the settings file compose reads, read the same way by feedsvc-up.

KEY=VALUE lines; blank lines and lines starting with `#` are skipped; a value may be quoted
('...' or "..."), and an unquoted one ends at ` #`. A variable the environment sets already
keeps its value: the environment wins over the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

from feedsvc.errors import ConfigError

ENV_FILE = Path(".env")
_ASSIGNMENT = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a .env file; ConfigError naming the file and line when one is not."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    values: dict[str, str] = {}
    for number, text in enumerate(lines, start=1):
        line = text.strip()
        if not line or line.startswith("#"):
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if match is None:  # the line itself may hold a secret: name only its number
            raise ConfigError(f"{path}, line {number}: expected KEY=VALUE")
        values[match[1]] = _unquote(match[2])
    return values


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.split(" #", 1)[0].rstrip()


def load_env_file(
    path: Path = ENV_FILE, environ: MutableMapping[str, str] = os.environ
) -> list[str]:
    """Set each variable of `path` the environment does not set; the names set, in file order."""
    if not path.is_file():
        return []
    added = [(name, value) for name, value in read_env_file(path).items() if name not in environ]
    environ.update(added)
    return [name for name, _ in added]
