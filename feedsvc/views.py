"""The web routes: index page, per-topic per-language Atom feeds, health."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import redis
from flask import Flask, Response, current_app, render_template, request

from feedsvc.config import LANGUAGE_PATTERN, SLUG_PATTERN, Topic
from feedsvc.errors import TopicNotFound
from feedsvc.render import EPOCH, FeedLinks, render_atom
from feedsvc.services import Services

ATOM_MIMETYPE = "application/atom+xml"
REDIS_RETRY_AFTER_SECONDS = 30
FEED_MAX_AGE_SECONDS = 300


def services() -> Services:
    value: Services = current_app.extensions["feedsvc"]
    return value


def register(app: Flask) -> None:
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/feeds/<string:name>.atom", "atom_feed", atom_feed)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.register_error_handler(redis.RedisError, redis_unavailable)
    app.register_error_handler(TopicNotFound, topic_not_found)


def index() -> str:
    svc = services()
    topics = list(svc.topics.values())
    return render_template(
        "index.html",
        topics=topics,
        statuses=svc.store.topic_statuses(topics),
        feed_url=feed_url,
    )


def feed_url(topic: Topic, language: str, absolute: bool = False) -> str:
    """The feed's path (or absolute URL): the default language has the short name."""
    suffix = "" if language == topic.default_language else f".{language}"
    path = f"/feeds/{topic.slug}{suffix}.atom"
    return services().settings.public_url + path if absolute else path


def atom_feed(name: str) -> Response:
    topic, language = resolve_feed(name)
    svc = services()
    now = datetime.now(UTC)
    items = svc.store.feed_items(
        topic, language, svc.settings.feed_size, svc.settings.publish_grace_seconds, now
    )
    status = svc.store.topic_statuses([topic])[topic.slug]
    links = FeedLinks(feed_url(topic, language, absolute=True), svc.settings.public_url + "/")
    body = render_atom(topic, language, items, links, status.last_fetched or EPOCH)
    last_modified = max((item.updated for item in items), default=status.last_fetched)
    return conditional_response(body, f"{ATOM_MIMETYPE}; charset=utf-8", last_modified)


def resolve_feed(name: str) -> tuple[Topic, str]:
    """('slug' or 'slug.lang') -> the topic and language, or a 404 naming what is wrong."""
    slug, _, language = name.partition(".")
    topic = services().topics.get(slug)
    if topic is None or not SLUG_PATTERN.match(slug):
        raise TopicNotFound(slug)
    if not language:
        return topic, topic.default_language
    if not LANGUAGE_PATTERN.match(language) or language not in topic.languages:
        raise TopicNotFound(slug, language)
    return topic, language


def conditional_response(
    body: bytes, content_type: str, last_modified: datetime | None
) -> Response:
    """A response with a strong ETag and Last-Modified that answers 304 when they match."""
    response = Response(body, content_type=content_type)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    if last_modified is not None:
        response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = FEED_MAX_AGE_SECONDS
    response.make_conditional(request)
    return response


def healthz() -> Response:
    return Response("ok\n", content_type="text/plain; charset=utf-8")


def topic_not_found(exc: TopicNotFound) -> Response:
    topics = services().topics
    if exc.language is None or exc.slug not in topics:
        known = ", ".join(sorted(topics)) or "none"
        text = f"Unknown topic {exc.slug!r}. Known topics: {known}. Every feed is listed at /.\n"
    else:
        languages = ", ".join(topics[exc.slug].languages)
        text = f"Topic {exc.slug!r} has no {exc.language!r} feed. Its languages: {languages}.\n"
    return Response(text, status=404, content_type="text/plain; charset=utf-8")


def redis_unavailable(exc: redis.RedisError) -> Response:
    current_app.logger.warning("redis unavailable: %s", exc)
    response = Response(
        "Service temporarily unavailable: storage is unreachable. Try again shortly.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response.headers["Retry-After"] = str(REDIS_RETRY_AFTER_SECONDS)
    return response
