"""The web routes: index, topic pages, feeds in three formats with paging and a daily digest,
OPML, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
from flask import Flask, Response, current_app, render_template, request
from lxml import etree

from feedsvc.calendar import group_by_announcement
from feedsvc.config import Topic
from feedsvc.errors import BadRequest, PageNotFound, TopicNotFound
from feedsvc.models import TopicStatus
from feedsvc.web.cache import Built, Rendered
from feedsvc.web.fastpath import cache_control_value, feed_reply
from feedsvc.web.feedpath import FeedRequest, parse_feed_request, parse_page, resolve_topic
from feedsvc.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from feedsvc.web.metrics import RedisCollector, scrape
from feedsvc.web.render import CONTENT_TYPES, RENDERERS
from feedsvc.web.render.document import (
    EPOCH,
    DigestDay,
    FeedDocument,
    FeedLinks,
    labels_for,
    safe_url,
)
from feedsvc.web.services import Services

REDIS_RETRY_AFTER_SECONDS = 30
DIGEST_DAYS = 14


def services() -> Services:
    value: Services = current_app.extensions["feedsvc"]
    return value


def register(app: Flask) -> None:
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/opml", "opml", opml)
    app.add_url_rule("/topics/<string:name>", "topic_page", topic_page)
    app.add_url_rule("/feeds/<string:name>", "feed", feed)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/metrics", "metrics", metrics)
    app.register_error_handler(redis.RedisError, redis_unavailable)
    app.register_error_handler(TopicNotFound, topic_not_found)
    app.register_error_handler(PageNotFound, page_not_found)
    app.register_error_handler(BadRequest, bad_request)
    app.jinja_env.globals.update(feed_url=feed_url, page_url=page_url, safe_url=safe_url)


# -- URLs ---------------------------------------------------------------------


def _suffix(topic: Topic, language: str) -> str:
    return "" if language == topic.default_language else f".{language}"


def feed_url(
    topic: Topic, language: str, fmt: str = "atom", daily: bool = False, page: int = 1,
    absolute: bool = False,
) -> str:  # fmt: skip
    """A feed's path (or absolute URL): the default language has the short name."""
    kind = ".daily" if daily else ""
    path = f"/feeds/{topic.slug}{_suffix(topic, language)}{kind}.{fmt}"
    if page > 1:
        path += f"?page={page}"
    return services().settings.public_url + path if absolute else path


def page_url(topic: Topic, language: str, absolute: bool = False) -> str:
    path = f"/topics/{topic.slug}{_suffix(topic, language)}"
    return services().settings.public_url + path if absolute else path


# -- pages --------------------------------------------------------------------


def index() -> str:
    svc = services()
    topics = list(svc.topics.values())
    return render_template(
        "index.html",
        topics=topics,
        statuses=svc.store.topic_statuses(topics),
        now=datetime.now(UTC),
        stale_after=svc.settings.stale_after_seconds,
    )


def topic_page(name: str) -> str:
    slug, _, language = name.partition(".")
    topic, language = resolve(slug, language or None)
    page = requested_page()
    svc = services()
    result = svc.store.feed_page(
        topic, language, page, svc.settings.feed_size, svc.settings.publish_grace_seconds,
        datetime.now(UTC),
    )  # fmt: skip
    return render_template(
        "topic.html",
        topic=topic,
        language=language,
        result=result,
        labels=labels_for(language),
        status=svc.store.topic_statuses([topic])[topic.slug],
    )


def opml() -> Response:
    """Every topic and language in one OPML 2.0 file, for a one-step subscription."""
    svc = services()
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "feedsvc: arXiv topic feeds"
    body = etree.SubElement(root, "body")
    for topic in svc.topics.values():
        group = etree.SubElement(body, "outline", text=topic.title, title=topic.title)
        for language in topic.languages:
            title = f"{topic.title} ({language})"
            etree.SubElement(
                group, "outline", type="rss", text=title, title=title, language=language,
                xmlUrl=feed_url(topic, language, absolute=True),
                htmlUrl=page_url(topic, language, absolute=True),
            )  # fmt: skip
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    response = Response(xml, content_type="text/x-opml; charset=utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="feedsvc.opml"'
    return response


def healthz() -> Response:
    """The process is up: no Redis call, for liveness probes and the container HEALTHCHECK."""
    return Response("ok\n", content_type="text/plain; charset=utf-8")


def readyz() -> Response:
    """Redis answers and the topics are loaded; ?verbose=1 adds a line per topic."""
    svc = services()
    svc.store.redis.ping()
    lines = [f"ready: redis ok, {len(svc.topics)} topics"]
    if request.args.get("verbose") in ("1", "true", "yes"):
        now = datetime.now(UTC)
        statuses = svc.store.topic_statuses(list(svc.topics.values()))
        lines += [topic_line(slug, status, now) for slug, status in statuses.items()]
    return _text("\n".join(lines), 200)


def topic_line(slug: str, status: TopicStatus, now: datetime) -> str:
    stale_after = services().settings.stale_after_seconds
    fetched = "never"
    if status.last_fetched:
        fetched = (
            f"{status.last_fetched:%Y-%m-%dT%H:%M:%SZ} ({_ago(now - status.last_fetched)} ago)"
        )
    error = "none"
    if status.last_error and status.last_error_at:
        error = f"{status.last_error} at {status.last_error_at:%Y-%m-%dT%H:%M:%SZ}"
    stale = "STALE" if status.is_stale(now, stale_after) else "fresh"
    return (
        f"topic {slug}: {stale}, {status.paper_count} papers, last fetch {fetched}, "
        f"last error {error}"
    )


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def metrics() -> Response:
    svc = services()
    collector = RedisCollector(
        svc.store, list(svc.topics.values()), svc.settings.stale_after_seconds
    )
    return Response(scrape(collector), content_type=METRICS_CONTENT_TYPE)


# -- feeds --------------------------------------------------------------------


def feed(name: str) -> Response:
    wanted = parse_feed_name(name)
    svc = services()
    now = datetime.now(UTC)
    rendered = svc.cache.get(
        wanted.topic.slug, wanted.language, wanted.variant, lambda: build_feed(wanted, now), now
    )
    return feed_response(rendered)


def parse_feed_name(name: str) -> FeedRequest:
    """The feed this request asks for, or a 404 / 400 saying why not."""
    return parse_feed_request(name, request.args.get("page", "1"), services().topics)


def resolve(slug: str, language: str | None) -> tuple[Topic, str]:
    return resolve_topic(slug, language, services().topics)


def requested_page() -> int:
    return parse_page(request.args.get("page", "1"))


def build_feed(wanted: FeedRequest, now: datetime) -> Built:
    """Read the feed's content from Redis and render it in the requested format."""
    svc = services()
    topic, language = wanted.topic, wanted.language
    status = svc.store.topic_statuses([topic])[topic.slug]
    links = feed_links(wanted, pages=1)
    if wanted.daily:
        since = now - timedelta(days=DIGEST_DAYS)
        items, expires = svc.store.recent_items(
            topic, language, since, svc.settings.publish_grace_seconds, now
        )
        days = [DigestDay(day, tuple(group)) for day, group in group_by_announcement(items)]
        doc = FeedDocument(topic, language, links, days=days,
                           updated_if_empty=status.last_fetched or EPOCH,
                           title_suffix=f" · {labels_for(language)['daily']}")  # fmt: skip
    else:
        result = svc.store.feed_page(
            topic, language, wanted.page, svc.settings.feed_size,
            svc.settings.publish_grace_seconds, now,
        )  # fmt: skip
        links = feed_links(wanted, pages=result.pages)
        doc = FeedDocument(topic, language, links, items=result.items,
                           updated_if_empty=status.last_fetched or EPOCH)  # fmt: skip
        expires = result.next_visible_at
    body = RENDERERS[wanted.fmt](doc)
    return Built(body, CONTENT_TYPES[wanted.fmt], doc.updated, expires)


def feed_links(wanted: FeedRequest, pages: int) -> FeedLinks:
    topic, language, fmt, page = wanted.topic, wanted.language, wanted.fmt, wanted.page

    def url(n: int) -> str:
        return feed_url(topic, language, fmt, wanted.daily, n, absolute=True)

    return FeedLinks(
        self_url=url(page),
        alternate_url=page_url(topic, language, absolute=True),
        icon_url=services().settings.public_url + "/static/icon.svg",
        first_url=url(1) if pages > 1 else "",
        next_url=url(page + 1) if page < pages else "",
        previous_url=url(page - 1) if page > 1 else "",
    )


def feed_response(rendered: Rendered) -> Response:
    """The cached bytes, gzipped when the client accepts it, with ETag and 304 handling."""
    cache_control = cache_control_value(services().settings.cache_max_age_seconds)
    status, headers, body = feed_reply(rendered, request.environ, cache_control)
    response = Response(body, status=status, headers=headers)
    if status.startswith("304"):
        del response.headers["Content-Type"]  # a 304 carries no representation
    return response


# -- errors -------------------------------------------------------------------


def _text(body: str, status: int) -> Response:
    return Response(body + "\n", status=status, content_type="text/plain; charset=utf-8")


def topic_not_found(exc: TopicNotFound) -> Response:
    topics = services().topics
    if exc.slug in topics and exc.language is not None:
        languages = ", ".join(topics[exc.slug].languages)
        return _text(f"Topic {exc.slug!r} has no {exc.language!r} feed. Its languages: "
                     f"{languages}.", 404)  # fmt: skip
    known = ", ".join(sorted(topics)) or "none"
    prefix = f"No feed named {exc.detail!r}." if exc.detail else f"Unknown topic {exc.slug!r}."
    return _text(f"{prefix} Known topics: {known}. Every feed is listed at /.", 404)


def page_not_found(exc: PageNotFound) -> Response:
    return _text(f"There is no page {exc.page}: this feed has {exc.pages}.", 404)


def bad_request(exc: BadRequest) -> Response:
    return _text(f"Bad request: {exc}.", 400)


def redis_unavailable(exc: redis.RedisError) -> Response:
    current_app.logger.warning("redis unavailable: %s", exc)
    response = _text("Service temporarily unavailable: storage is unreachable. Try again shortly.",
                     503)  # fmt: skip
    response.headers["Retry-After"] = str(REDIS_RETRY_AFTER_SECONDS)
    return response
