"""feedsvc-up reads .env as compose does; the environment wins over the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.config import Settings
from feedsvc.errors import ConfigError
from feedsvc.process.envfile import load_env_file, read_env_file

ROOT = Path(__file__).resolve().parents[2]

DOT_ENV = """\ufeff# the LLM
OPENAI_API_KEY=
FEEDSVC_LLM_MODEL = "local # 7b"
  # FEEDSVC_LLM_MODE=batch
export FEEDSVC_LOG_FORMAT=json
FEEDSVC_PUBLIC_URL=https://feeds.example/
FEEDSVC_LLM_PRICES='local=0:0.25'
FEEDSVC_FEED_SIZE=20  # a comment after a value

FEEDSVC_BIND=0.0.0.0:9000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_lines_comments_quotes_and_blanks_read_as_compose_reads_them(tmp_path: Path) -> None:
    assert read_env_file(write(tmp_path, DOT_ENV)) == {
        "OPENAI_API_KEY": "",
        "FEEDSVC_LLM_MODEL": "local # 7b",
        "FEEDSVC_LOG_FORMAT": "json",
        "FEEDSVC_PUBLIC_URL": "https://feeds.example/",
        "FEEDSVC_LLM_PRICES": "local=0:0.25",
        "FEEDSVC_FEED_SIZE": "20",
        "FEEDSVC_BIND": "0.0.0.0:9000",
    }


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    environ = {"FEEDSVC_BIND": "127.0.0.1:8001", "OPENAI_API_KEY": "sk-from-the-shell"}
    added = load_env_file(write(tmp_path, DOT_ENV), environ)
    assert environ["FEEDSVC_BIND"] == "127.0.0.1:8001"
    assert environ["OPENAI_API_KEY"] == "sk-from-the-shell"
    assert environ["FEEDSVC_FEED_SIZE"] == "20"
    assert added == [
        "FEEDSVC_LLM_MODEL", "FEEDSVC_LOG_FORMAT", "FEEDSVC_PUBLIC_URL", "FEEDSVC_LLM_PRICES",
        "FEEDSVC_FEED_SIZE",
    ]  # fmt: skip
    settings = Settings.from_env(environ)
    assert (settings.public_url, settings.feed_size) == ("https://feeds.example", 20)


def test_no_file_changes_nothing(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    assert load_env_file(tmp_path / ".env", environ) == []
    assert environ == {}


def test_a_bad_line_names_the_file_and_line_but_not_its_text(tmp_path: Path) -> None:
    path = write(tmp_path, "FEEDSVC_FEED_SIZE=20\nsk-a-pasted-secret\n")
    with pytest.raises(ConfigError) as caught:
        load_env_file(path, {})
    assert str(caught.value) == f"{path}, line 2: expected KEY=VALUE"


def test_the_example_copied_to_env_is_read_and_valid(tmp_path: Path) -> None:
    values = read_env_file(ROOT / ".env.example")
    assert "FEEDSVC_FETCH_INTERVAL_SECONDS" in values
    assert Settings.from_env(values) == Settings.from_env({})
