"""Bad input from clients: page numbers in other scripts, huge numbers, floods of queries."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from tests.web.test_web import paper, publish

PAGED = ("/feeds/testing.en.atom", "/feeds/testing.rss", "/feeds/testing.en.json",
         "/topics/testing", "/topics/testing.en")  # fmt: skip


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    offline = replace(settings, openai_base_url=None, openai_api_key=None, feed_size=2)
    return create_app(offline, store)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    publish(store, settings, [paper(n) for n in range(1, 6)])  # three pages
    return app.test_client()


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("page", ["²", "２", "٢", "𝟐", "2\n", " 2", "+2", "0x2"])
def test_a_page_is_ascii_digits_only(client: FlaskClient, path: str, page: str) -> None:
    assert client.get(f"{path}?page=2").status_code == 200  # page 2 is cached, fast path ready
    response = client.get(path, query_string={"page": page})
    assert response.status_code == 400, response.data
    text = response.get_data(as_text=True)
    assert text.startswith("Bad request: page must be a whole number from 1, in ASCII digits")


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("page", ["0", "000", "1000000000", "1" * 25, "9" * 5000])
def test_a_page_out_of_range_says_so(client: FlaskClient, path: str, page: str) -> None:
    response = client.get(path, query_string={"page": page})
    assert response.status_code == 400, response.data
    text = response.get_data(as_text=True)
    assert "page must be a whole number from 1 to 999999999" in text
    assert "is out of range" in text and len(text) < 200


@pytest.mark.parametrize("path", PAGED)
def test_leading_zeros_name_the_same_page(client: FlaskClient, path: str) -> None:
    assert client.get(f"{path}?page=002").data == client.get(f"{path}?page=2").data
