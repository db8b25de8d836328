"""The Flask application, `gunicorn 'feedsvc.app:create_app()'`: the only module importing flask.

It holds the factory, the route table, the error handlers and the adaptation: each view hands
its explicit inputs (the Services, the query arguments, the WSGI environ) to a framework-free
handler in pages, feeds or ops, and turns the Reply it gets into a Flask response. Static
files are Flask's own static route.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import NoReturn

from flask import Flask, Response, current_app, request

from feedsvc.config import Settings, load_topics
from feedsvc.errors import (
    BadRequest,
    ConfigError,
    DayNotFound,
    PageNotFound,
    PaperNotFound,
    StoreError,
    StoreMigrating,
    TopicNotFound,
    WeekNotFound,
)
from feedsvc.keys import Keys
from feedsvc.licences import GENERATED_LICENCES
from feedsvc.logs import configure_logging
from feedsvc.store import Db, Store
from feedsvc.web import feeds, ops, pages, papers, replies
from feedsvc.web.accesslog import AccessLog
from feedsvc.web.cache import FeedCache
from feedsvc.web.deferred import DEFERRED
from feedsvc.web.digest import DigestPieces
from feedsvc.web.fastpath import FeedFastPath
from feedsvc.web.metrics import RequestMetrics
from feedsvc.web.render.chrome import feed_of_every_topic
from feedsvc.web.replies import Reply
from feedsvc.web.services import Services
from feedsvc.web.shape import render_fingerprint

# A reader waits at most this for Redis, then gets a 503: a hung Redis must not hold every
# worker (the worker's own connection keeps the store's longer default).
REDIS_TIMEOUT_SECONDS = 1.0
WEB_CLUSTER_RETRIES = 1  # a master lost: one more try where the cluster says, then a 503


def create_app(
    settings: Settings | None = None, store: Store | None = None, *, access_log: bool = False
) -> Flask:
    """Build the app; with no settings, read them from the environment or exit with one line.

    `store` is for tests and benchmarks: by default the app connects to the configured Redis.
    `access_log`: write FEEDSVC_ACCESS_LOG's line per request to stdout (feedsvc-web does).
    """
    if settings is None:
        settings = _settings_or_exit()
        configure_logging(settings.log_level, settings.log_format)
    try:
        topics = load_topics(settings.topics_file)
    except ConfigError as exc:
        if store is not None:
            raise
        _exit(exc)
    app = Flask(__name__, static_folder="static", static_url_path="/static", template_folder=None)
    store = store or Store(
        Db.from_url(settings.redis_url, timeout=REDIS_TIMEOUT_SECONDS,
                    cluster=settings.redis_cluster, cluster_retries=WEB_CLUSTER_RETRIES),
        Keys(settings.redis_prefix),
    )  # fmt: skip
    topics_by_slug = {t.slug: t for t in topics}
    shape = render_fingerprint(settings, topics)
    every = feed_of_every_topic(topics)
    cache = FeedCache(
        store, settings.version_check_seconds, shape=shape, site_slugs=tuple(topics_by_slug),
        unions={every.slug: every},
    )  # fmt: skip
    svc = Services(
        settings, topics_by_slug, store, cache,
        DigestPieces(licence=GENERATED_LICENCES[settings.generated_license]), every,
    )  # fmt: skip
    app.extensions["feedsvc"] = svc
    _register(app)
    fast_path = FeedFastPath(app.wsgi_app, cache, svc.routes, settings.cache_max_age_seconds)
    lines = None
    if access_log and settings.access_log:
        lines = AccessLog(json_lines=settings.log_format == "json")
        lines.start()
    app.wsgi_app = RequestMetrics(fast_path, lines)  # type: ignore[method-assign]
    DEFERRED.start()  # counts (and the access log) leave the hot path through it
    return app


def _settings_or_exit() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        _exit(exc)


def _exit(exc: ConfigError) -> NoReturn:
    print(f"feedsvc: {exc}", file=sys.stderr)
    raise SystemExit(2)


def _register(app: Flask) -> None:
    for rule, endpoint, view in ROUTES:
        app.add_url_rule(rule, endpoint, view)
    app.after_request(protect)
    app.register_error_handler(StoreError, storage_unavailable)
    app.register_error_handler(TopicNotFound, topic_not_found)
    app.register_error_handler(PageNotFound, page_not_found)
    app.register_error_handler(DayNotFound, day_not_found)
    app.register_error_handler(WeekNotFound, week_not_found)
    app.register_error_handler(PaperNotFound, paper_not_found)
    app.register_error_handler(BadRequest, bad_request)


def services() -> Services:
    value: Services = current_app.extensions["feedsvc"]
    return value


def respond(reply: Reply) -> Response:
    """The Flask response of a handler's reply; Flask sets Content-Length from the body."""
    response = Response(reply.body, status=reply.status, content_type=reply.content_type)
    if reply.content_type is None:
        del response.headers["Content-Type"]  # Response adds text/html by default
    response.headers.extend(reply.headers)
    return response


def protect(response: Response) -> Response:
    """Every Flask answer, error pages and static files included, gets its protective headers."""
    for name, value in replies.protective_headers(response.content_type):
        response.headers.setdefault(name, value)
    return response


def query_args() -> Mapping[str, str]:
    """The query's arguments; raw bytes that are not UTF-8 are a 400 (werkzeug raises)."""
    try:
        return request.args
    except UnicodeDecodeError:
        raise BadRequest("the query string is not UTF-8") from None


# -- routes -------------------------------------------------------------------


def index() -> Response:
    return respond(pages.index(services(), query_args(), request.environ))


def opml() -> Response:
    return respond(pages.opml(services(), request.environ))


def topic_page(name: str) -> Response:
    return respond(pages.topic_page(services(), name, query_args(), request.environ))


def feed(name: str) -> Response:
    return respond(feeds.feed(services(), name, query_args(), request.environ))


def paper_citation(name: str) -> Response:
    return respond(papers.citation(services(), name, request.environ))


def healthz() -> Response:
    return respond(ops.healthz())


def readyz() -> Response:
    return respond(ops.readyz(services(), query_args(), request.headers.get("Authorization")))


def metrics() -> Response:
    return respond(ops.metrics(services(), request.headers.get("Authorization")))


ROUTES = (
    ("/", "index", index),
    ("/opml", "opml", opml),
    ("/topics/<string:name>", "topic_page", topic_page),
    ("/feeds/<string:name>", "feed", feed),
    ("/papers/<path:name>", "paper_citation", paper_citation),
    ("/healthz", "healthz", healthz),
    ("/readyz", "readyz", readyz),
    ("/metrics", "metrics", metrics),
)


# -- errors -------------------------------------------------------------------


def topic_not_found(exc: TopicNotFound) -> Response:
    return respond(replies.topic_not_found(exc, services().topics))


def page_not_found(exc: PageNotFound) -> Response:
    return respond(replies.page_not_found(exc))


def day_not_found(exc: DayNotFound) -> Response:
    return respond(replies.day_not_found(exc))


def week_not_found(exc: WeekNotFound) -> Response:
    return respond(replies.week_not_found(exc))


def paper_not_found(exc: PaperNotFound) -> Response:
    return respond(replies.paper_not_found(exc))


def bad_request(exc: BadRequest) -> Response:
    return respond(replies.bad_request(exc))


def storage_unavailable(exc: StoreError) -> Response:
    """503 with Retry-After for any Redis failure, from any handler."""
    current_app.logger.warning("redis unavailable: %s", exc)
    return respond(replies.storage_unavailable(isinstance(exc, StoreMigrating)))
