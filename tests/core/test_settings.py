"""The settings table: every Settings is validated, also a replaced copy."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest

from feedsvc.config import Settings
from feedsvc.config.settings import SETTINGS
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
    assert len(set(variables)) == len(variables) == 35
    assert all(setting.meaning for setting in SETTINGS)
