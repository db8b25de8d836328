"""While a worker migrates the stored data to this release's layout, the web renders nothing
from it: a feed or page answers 503 with Retry-After, then the real thing once migrated."""

from __future__ import annotations

from feedsvc.config import Settings
from feedsvc.store import Store
from tests.core.storetools import as_schema
from tests.web.test_web import offline_app, paper, publish


def test_feeds_wait_for_the_migration_then_show_every_paper(
    settings: Settings, store: Store
) -> None:
    publish(store, settings, [paper(1), paper(2)])
    as_schema(store, 3)
    client = offline_app(settings, store, publish_grace_seconds=0).test_client()
    for path in ["/feeds/testing.en.atom", "/topics/testing", "/"]:
        waiting = client.get(path)
        assert waiting.status_code == 503, path
        assert waiting.headers["Retry-After"].isdigit()
        assert "being migrated" in waiting.get_data(as_text=True)
    store.migrate()
    feed = client.get("/feeds/testing.en.atom")
    assert feed.status_code == 200
    assert feed.get_data(as_text=True).count("<entry>") == 2
