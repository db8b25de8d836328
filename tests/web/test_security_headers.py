"""Every answer says nosniff; pages also carry a strict Content-Security-Policy."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from tests.web.test_web import paper, publish

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def app(settings: Settings, store: Store) -> Flask:
    return create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)


@pytest.fixture
def client(app: Flask, store: Store, settings: Settings) -> FlaskClient:
    publish(store, settings, [paper(1), paper(2)])
    return app.test_client()


def assert_page_policy(response: TestResponse) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/topics/testing", "/topics/testing.en?page=1"])
def test_pages_carry_the_strict_policy(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_page_policy(response)
    page = response.get_data(as_text=True)
    # What the policy allows is all a page needs: no script, no outside style or image.
    assert "<script" not in page and "stylesheet" not in page and "<img" not in page


def test_html_error_pages_carry_the_strict_policy(client: FlaskClient) -> None:
    for response in (client.get("/nowhere"), client.post("/feeds/testing.atom")):
        assert response.status_code in (404, 405) and response.mimetype == "text/html"
        assert_page_policy(response)


@pytest.mark.parametrize("name", ["testing.atom", "testing.en.rss", "testing.json",
                                  "testing.daily.atom"])  # fmt: skip
def test_feeds_say_nosniff_from_flask_and_from_the_fast_path(
    client: FlaskClient, name: str
) -> None:
    first = client.get(f"/feeds/{name}")  # rendered by Flask
    again = client.get(f"/feeds/{name}", headers={"Accept-Encoding": "gzip"})  # the fast path
    not_modified = client.get(f"/feeds/{name}", headers={"If-None-Match": first.headers["ETag"]})
    assert [r.status_code for r in (first, again, not_modified)] == [200, 200, 304]
    for response in (first, again, not_modified):
        assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
        assert "Content-Security-Policy" not in response.headers


@pytest.mark.parametrize(
    "path", ["/opml", "/healthz", "/readyz", "/metrics", "/static/icon.svg", "/feeds/nope.atom",
             "/feeds/testing.atom?page=x", "/topics/testing?page=99"],
)  # fmt: skip
def test_every_other_answer_says_nosniff(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:  # the icon is a file: closed when read
        assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"], path
