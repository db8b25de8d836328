"""README.md says what the settings table says."""

from __future__ import annotations

from pathlib import Path

from feedsvc.config import settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def readme_settings_table() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_the_readme_table_is_the_settings_table() -> None:
    assert readme_settings_table() == settings_markdown().splitlines(), (
        "README.md is out of date: paste the output of scripts/settings_table under ## Settings"
    )
