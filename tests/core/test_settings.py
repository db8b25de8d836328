"""The settings table: every Settings is validated, and to_env is the way back to from_env."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from feedsvc.config import Settings
from feedsvc.config.settings import DEFAULT_PRICES, SETTINGS, stale_after
from feedsvc.errors import ConfigError


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"feed_size": 0}, "FEEDSVC_FEED_SIZE=0 must be at least 1"),
        ({"llm_concurrency": 0}, "FEEDSVC_LLM_CONCURRENCY=0 must be at least 1"),
        ({"fetch_interval_seconds": 5.0}, "FEEDSVC_FETCH_INTERVAL_SECONDS=5.0 must be at least 60"),
        (
            {"llm_retry_base_seconds": 0.01},
            "FEEDSVC_LLM_RETRY_BASE_SECONDS=0.01 must be at least 0.1",
        ),
        ({"llm_mode": "later"}, "FEEDSVC_LLM_MODE='later': must be one of sync, batch"),
        (
            {"log_level": "debug"},
            "FEEDSVC_LOG_LEVEL='debug': must be DEBUG, INFO, WARNING or ERROR",
        ),
        ({"web_bind": "8000"}, "FEEDSVC_BIND='8000': must be host:port, such as 127.0.0.1:8000"),
        ({"public_url": "feeds.test"}, "FEEDSVC_PUBLIC_URL='feeds.test': must be an http:// or"),
        ({"openai_base_url": "localhost:11434"}, "OPENAI_BASE_URL='localhost:11434': must be an"),
        ({"redis_prefix": "a b"}, "FEEDSVC_REDIS_PREFIX='a b': may hold only letters, digits"),
        ({"publish_grace_seconds": float("inf")}, "FEEDSVC_PUBLISH_GRACE_SECONDS=inf must be a"),
        ({"llm_timeout_seconds": float("nan")}, "FEEDSVC_LLM_TIMEOUT_SECONDS=nan must be a finite"),
    ],
)
def test_a_replaced_copy_is_checked_like_the_environment(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        replace(Settings(), **changes)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_bad_redis_url_in_a_copy_keeps_its_password_out_of_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        replace(Settings(), redis_url="http://:hunter2@redis:6379/0")
    assert str(caught.value).startswith("REDIS_URL='http://:***@redis:6379/0': must start with")


def test_good_copies_and_unset_optionals_pass() -> None:
    settings = replace(Settings(), feed_size=1, llm_rpm=0, openai_base_url=None, access_log=False)
    assert (settings.feed_size, settings.access_log) == (1, False)


def test_every_field_is_one_row_of_the_table() -> None:
    assert [setting.attribute for setting in SETTINGS] == [item.name for item in fields(Settings)]
    variables = [setting.variable for setting in SETTINGS]
    assert len(set(variables)) == len(variables) == 45
    assert all(setting.meaning for setting in SETTINGS)


def test_to_env_rebuilds_the_test_settings(settings: Settings) -> None:
    assert Settings.from_env(settings.to_env()) == settings


def test_to_env_rebuilds_settings_that_differ_in_every_field(tmp_path: Path) -> None:
    changed = replace(
        Settings(),
        redis_url="rediss://:pw@cache:6380/2", redis_prefix="other", topics_file=tmp_path / "t",
        redis_cluster=True,
        arxiv_api_url="http://arxiv.test/api", arxiv_delay_seconds=0.5, arxiv_timeout_seconds=7.0,
        arxiv_html_url="http://arxiv.test/html", arxiv_oai_url="http://arxiv.test/oai2",
        paper_pages=False, full_text_tokens=1234, figure_thumbnails=True, thumbnail_limit=5,
        public_url="https://feeds.example/sub", openai_base_url="http://llm:8080/v1",
        openai_api_key="sk-test", llm_model="local", llm_timeout_seconds=12.5, llm_max_retries=0,
        llm_response_format="json_object", llm_mode="batch", llm_concurrency=3,
        llm_max_attempts=9, llm_retry_base_seconds=0.1, llm_rpm=60, llm_tpm=90000,
        llm_daily_token_budget=10**7, llm_prices={**DEFAULT_PRICES, "local": (0.0, 0.25)},
        fetch_interval_seconds=900.0, fetch_schedule="announcements", stale_after_seconds=1e5,
        feed_size=7, generated_license="CC0-1.0",
        cache_max_age_seconds=0, version_check_seconds=0.0, publish_grace_seconds=3.25,
        claim_idle_seconds=1.0, max_deliveries=2, shutdown_seconds=0.0, log_level="DEBUG",
        log_format="json", web_bind="[::]:9000", web_workers=4, access_log=False,
        metrics_token="scrape-token",
    )  # fmt: skip
    env = changed.to_env()
    assert len(env) == len(SETTINGS)
    assert env["FEEDSVC_LLM_PRICES"] == "local=0:0.25"
    assert Settings.from_env(env) == changed


def test_to_env_leaves_out_defaults_and_a_derived_stale_after() -> None:
    assert Settings().to_env() == {}
    often = replace(Settings(), fetch_interval_seconds=600.0, fetch_schedule="interval",
                    stale_after_seconds=stale_after(600))  # fmt: skip
    assert often.to_env() == {"FEEDSVC_FETCH_INTERVAL_SECONDS": "600"}


def test_the_metrics_token_stays_out_of_repr() -> None:
    assert "scrape-token" not in repr(replace(Settings(), metrics_token="scrape-token"))
