"""FEEDSVC_METRICS_TOKEN: /metrics and /readyz?verbose=1 for its bearer only; probes stay open."""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.keys import Keys
from feedsvc.store import Db, Store

TOKEN = "s3cret-scrape-token"
PROTECTED = ("/metrics", "/readyz?verbose=1")


def client_for(settings: Settings, store: Store, token: str | None) -> FlaskClient:
    return create_app(replace(settings, metrics_token=token), store).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", PROTECTED)
def test_without_a_token_set_both_stay_public(settings: Settings, store: Store, path: str) -> None:
    response = client_for(settings, store, None).get(path)
    assert response.status_code == 200 and "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), bearer(TOKEN + "x"), bearer(TOKEN[:-1]), {"Authorization": TOKEN},
     {"Authorization": f"Basic {TOKEN}"}, bearer(""), bearer("é\u0100"),
     {"Authorization": "Bearer"}],
)  # fmt: skip
def test_with_a_token_set_anything_but_it_is_a_401(
    settings: Settings, store: Store, path: str, headers: dict[str, str]
) -> None:
    response = client_for(settings, store, TOKEN).get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    text = response.get_data(as_text=True)
    assert "Authorization: Bearer" in text and TOKEN not in text


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_token_opens_both(settings: Settings, store: Store, path: str, scheme: str) -> None:
    response = client_for(settings, store, TOKEN).get(
        path, headers={"Authorization": f"{scheme} {TOKEN}"}
    )
    assert response.status_code == 200
    assert "feedsvc_topic_papers" in response.get_data(as_text=True) or (
        "topic testing:" in response.get_data(as_text=True)
    )


def test_probes_stay_public_with_a_token_set(settings: Settings, store: Store) -> None:
    client = client_for(settings, store, TOKEN)
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_data(as_text=True).startswith("ready:")


def test_a_stranger_learns_nothing_of_redis(settings: Settings) -> None:
    """The token is checked before Redis is asked: 401, not 503, with Redis down."""
    dead = Store(Db.from_url("redis://127.0.0.1:9/0"), Keys(settings.redis_prefix))
    client = client_for(settings, dead, TOKEN)
    assert [client.get(path).status_code for path in PROTECTED] == [401, 401]


def test_the_token_is_compared_in_constant_time(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[Any, Any]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr("feedsvc.web.ops.hmac.compare_digest", spy)
    client_for(settings, store, TOKEN).get("/metrics", headers=bearer("guess"))
    assert compared == [(b"guess", TOKEN.encode())]
