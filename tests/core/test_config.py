from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError


def test_defaults_point_at_the_real_services() -> None:
    settings = Settings.from_env({})
    assert settings.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.fetch_schedule == "announcements" and settings.fetch_interval_seconds == 3600
    assert settings.stale_after_seconds == 30 * 3600, "the daily safety poll and six hours"
    own_interval = Settings.from_env({"FEEDSVC_FETCH_INTERVAL_SECONDS": "600"})
    assert own_interval.fetch_schedule == "interval", "an interval of one's own is kept"
    assert own_interval.stale_after_seconds == 2 * 600 + 86400
    asked = Settings.from_env({"FEEDSVC_FETCH_SCHEDULE": "interval"})
    assert asked.fetch_interval_seconds == 3600 and asked.stale_after_seconds == 2 * 3600 + 86400
    assert settings.web_host_port == ("127.0.0.1", 8000)
    assert settings.topics_file.name == "topics.toml" and settings.topics_file.exists()
    assert not settings.llm_enabled


@pytest.mark.parametrize(
    ("bind", "public_url"),
    [
        ("0.0.0.0:9000", "http://localhost:9000"),
        ("[::]:9000", "http://localhost:9000"),
        ("127.0.0.1:8001", "http://localhost:8001"),
        ("feeds.lan:8080", "http://feeds.lan:8080"),
        ("[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_the_public_url_follows_the_bind_unless_set(bind: str, public_url: str) -> None:
    settings = Settings.from_env({"FEEDSVC_BIND": bind})
    assert settings.public_url == public_url
    assert Settings.from_env(settings.to_env()) == settings
    chosen = {"FEEDSVC_BIND": bind, "FEEDSVC_PUBLIC_URL": "https://feeds.example/"}
    assert Settings.from_env(chosen).public_url == "https://feeds.example"


def test_shipped_topics_file_is_valid() -> None:
    topics = load_topics(Settings.from_env({}).topics_file)
    assert {t.slug for t in topics} >= {"contrastive", "few-shot", "face-recognition", "rag"}
    assert all("cat:" in t.query for t in topics)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FEEDSVC_FETCH_INTERVAL_SECONDS", "soon", "FEEDSVC_FETCH_INTERVAL_SECONDS='soon' is not"),
        ("FEEDSVC_FETCH_INTERVAL_SECONDS", "5", "must be at least 60"),
        ("FEEDSVC_ARXIV_API_URL", "export.arxiv.org", "FEEDSVC_ARXIV_API_URL="),
        ("REDIS_URL", "http://localhost", "REDIS_URL="),
        ("FEEDSVC_FEED_SIZE", "2.5", "FEEDSVC_FEED_SIZE='2.5' is not a whole number"),
        ("FEEDSVC_LOG_LEVEL", "loud", "FEEDSVC_LOG_LEVEL="),
        ("FEEDSVC_BIND", "8000", "FEEDSVC_BIND='8000': must be host:port"),
        ("FEEDSVC_STALE_AFTER_SECONDS", "1", "must be at least 60"),
        ("FEEDSVC_FETCH_INTERVAL_SECONDS", "nan", "='nan' must be a finite number"),
        ("FEEDSVC_SHUTDOWN_SECONDS", "inf", "FEEDSVC_SHUTDOWN_SECONDS='inf' must be a finite"),
        ("FEEDSVC_ARXIV_DELAY_SECONDS", "-Infinity", "='-Infinity' must be a finite number"),
        ("FEEDSVC_LLM_PRICES", "local=nan:1", "FEEDSVC_LLM_PRICES: 'local=nan:1' is not model="),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_secrets_stay_out_of_repr_and_errors() -> None:
    settings = Settings.from_env(
        {"OPENAI_API_KEY": "sk-secret", "REDIS_URL": "redis://:hunter2@redis:6379/0"}
    )
    assert "sk-secret" not in repr(settings)
    assert "hunter2" not in settings.redis_url_redacted
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REDIS_URL": "http://:hunter2@redis:6379/0"})
    assert "hunter2" not in str(caught.value)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
[topics.rag]
title = "RAG"
query = 'abs:"retrieval augmented"'
languages = ["zh", "en"]
"""


def test_topics_file_is_read_in_order_with_defaults(tmp_path: Path) -> None:
    extra = '[topics.few]\ntitle = "Few"\nquery = "abs:few"\n'
    (rag, few) = load_topics(write(tmp_path, GOOD + extra))
    assert (rag.slug, rag.languages, rag.default_language, rag.max_results) == (
        "rag", ("zh", "en"), "zh", 50,
    )  # fmt: skip
    assert few.languages == ("en",)


def test_a_topic_may_give_its_title_per_language(tmp_path: Path) -> None:
    titles = 'title = { zh = "检索增强生成", en = "Retrieval-augmented generation" }'
    (rag,) = load_topics(write(tmp_path, GOOD.replace('title = "RAG"', titles)))
    assert rag.title == "Retrieval-augmented generation", "English where no language is named"
    assert [rag.title_in(lang) for lang in ("zh", "zh-TW", "en", "ja")] == [
        "检索增强生成", "检索增强生成", "Retrieval-augmented generation",
        "Retrieval-augmented generation",
    ]  # fmt: skip
    (only_zh,) = load_topics(
        write(tmp_path, GOOD.replace('title = "RAG"', 'title = {zh = "检索"}'))
    )
    assert only_zh.title == only_zh.title_in("en") == "检索", "else its first"
    traditional = 'title = { zh = "检索", zh-TW = "檢索", en = "Retrieval" }'
    (rag,) = load_topics(write(tmp_path, GOOD.replace('title = "RAG"', traditional)))
    assert [rag.title_in(t) for t in ("zh-HK", "zh-Hant", "ZH-tw", "zh", "en")] == [
        "檢索", "檢索", "檢索", "检索", "Retrieval",
    ]  # fmt: skip
    (plain,) = load_topics(write(tmp_path, GOOD))
    assert plain.title_in("zh") == plain.title == "RAG", "one title string stays valid"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('["zh", "en"]', "[]"), "topic 'rag': field 'languages'"),
        (GOOD.replace('"zh"', '"Chinese"'), "topic 'rag': field 'languages': 'Chinese'"),
        (GOOD.replace('title = "RAG"', ""), "topic 'rag': field 'title': required"),
        (GOOD + "max_results = 0\n", "topic 'rag': field 'max_results'"),
        (GOOD + "max_result = 10\n", "topic 'rag': field 'max_result': unknown field"),
        (GOOD.replace("topics.rag", "topics.RAG"), "topic 'RAG': field 'slug'"),
        (GOOD.replace("topics.rag", 'topics."rag\\n"'), "topic 'rag\\n': field 'slug'"),
        (GOOD.replace('"zh"', '"zh\\n"'), "field 'languages': 'zh\\n' is not a language"),
        (GOOD.replace('title = "RAG"', "title = {}"), "field 'title': a table of titles needs"),
        (GOOD.replace('title = "RAG"', 'title = { zh = "" }'), "field 'title.zh': required"),
        (GOOD.replace('title = "RAG"', 'title = { Chinese = "x" }'), "field 'title': 'Chinese'"),
        ("[topics]\n", "no [topics.<slug>] tables"),
        ("[topics.rag\n", "not valid TOML"),
    ],
)
def test_a_bad_topics_file_names_file_topic_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_topics(path)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_a_topics_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    (rag,) = load_topics(path)
    assert (rag.slug, rag.languages) == ("rag", ("zh", "en"))


def test_a_missing_topics_file_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FEEDSVC_TOPICS_FILE"):
        load_topics(tmp_path / "absent.toml")
