"""The Flask application factory: `gunicorn 'feedsvc.app:create_app()'`."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import redis
from flask import Flask

from feedsvc.config import Settings, load_topics
from feedsvc.errors import ConfigError
from feedsvc.keys import Keys
from feedsvc.logs import configure_logging
from feedsvc.store import Store, connect
from feedsvc.web import views
from feedsvc.web.cache import FeedCache
from feedsvc.web.fastpath import FeedFastPath
from feedsvc.web.metrics import RequestMetrics
from feedsvc.web.services import Services

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, client: redis.Redis | None = None) -> Flask:
    """Build the app; with no settings, read them from the environment or exit with one line."""
    if settings is None:
        settings = _settings_or_exit()
        configure_logging(settings.log_level, settings.log_format)
    try:
        topics = load_topics(settings.topics_file)
    except ConfigError as exc:
        if client is not None:
            raise
        _exit(exc)
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    store = Store(client or connect(settings), Keys(settings.redis_prefix))
    topics_by_slug = {t.slug: t for t in topics}
    cache = FeedCache(store, settings.version_check_seconds)
    app.extensions["feedsvc"] = Services(settings, topics_by_slug, store, cache)
    views.register(app)
    fast_path = FeedFastPath(app.wsgi_app, cache, topics_by_slug, settings.cache_max_age_seconds)
    app.wsgi_app = RequestMetrics(fast_path)  # type: ignore[method-assign]
    return app


def _settings_or_exit() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        _exit(exc)


def _exit(exc: ConfigError) -> NoReturn:
    print(f"feedsvc: {exc}", file=sys.stderr)
    raise SystemExit(2)
