"""README.md and .env.example say what the settings table says."""

from __future__ import annotations

import re
from pathlib import Path

from feedsvc.config import Settings, settings_markdown
from feedsvc.config.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
# compose.yaml sets these, and the image FEEDSVC_BIND: .env.example leaves them out.
SET_ELSEWHERE = {"REDIS_URL", "FEEDSVC_TOPICS_FILE", "FEEDSVC_BIND"}


def readme_settings_table() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def env_example() -> dict[str, str]:
    """Each variable of .env.example, set or commented out, with the value it shows."""
    pattern = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$")
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return {match[1]: match[2] for line in lines if (match := pattern.match(line))}


def test_the_readme_table_is_the_settings_table() -> None:
    assert readme_settings_table() == settings_markdown().splitlines(), (
        "README.md is out of date: paste the output of scripts/settings_table under ## Settings"
    )


def test_env_example_lists_every_setting_compose_leaves_to_it() -> None:
    variables = {setting.variable for setting in SETTINGS}
    listed = set(env_example())
    assert listed <= variables
    assert variables - listed == SET_ELSEWHERE


def test_env_example_shows_the_defaults() -> None:
    defaults = Settings.from_env({})
    unset_by_default = {setting.variable for setting in SETTINGS if setting.default is None}
    for variable, value in env_example().items():
        example = Settings.from_env({variable: value})  # every value shown is valid
        if variable not in unset_by_default:
            assert example == defaults, f"{variable}={value} in .env.example is not the default"
