"""What operators and probes ask: liveness, readiness with a line per topic, metrics."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from feedsvc.status import TopicStatus
from feedsvc.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from feedsvc.web.metrics import RedisCollector, scrape
from feedsvc.web.replies import Reply, text_reply, unauthorized
from feedsvc.web.services import Services


def healthz() -> Reply:
    """The process is up: no Redis call, for liveness probes and the container HEALTHCHECK."""
    return text_reply("ok")


def readyz(svc: Services, args: Mapping[str, str], authorization: str | None = None) -> Reply:
    """Redis answers and the topics are loaded; ?verbose=1 adds a line per topic.

    The verbose answer (topics, errors) needs the metrics token when one is set.
    """
    verbose = args.get("verbose") in ("1", "true", "yes")
    if verbose and not authorized(svc, authorization):
        return unauthorized("/readyz?verbose=1")
    svc.ping_storage()
    statuses = svc.topic_statuses(list(svc.topics.values()))
    gaps = sum(1 for s in statuses.values() if s.completeness and s.completeness.missing)
    lines = [f"ready: redis ok, {len(svc.topics)} topics" + (f", {gaps} with a gap in the "
             "last announcement (see ?verbose=1)" if gaps else "")]  # fmt: skip
    if verbose:
        now = datetime.now(UTC)
        stale_after = svc.settings.stale_after_seconds
        lines += [topic_line(slug, status, now, stale_after) for slug, status in statuses.items()]
    return text_reply("\n".join(lines))


def topic_line(slug: str, status: TopicStatus, now: datetime, stale_after: float) -> str:
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
        f"last error {error}{completeness_text(status)}"
    )


def completeness_text(status: TopicStatus) -> str:
    checked = status.completeness
    if checked is None:
        return ""
    gap = f", {checked.missing} MISSING" if checked.missing else ""
    return (f", announcement {checked.announced.isoformat()}: {checked.stored} of "
            f"{checked.on_arxiv} on arXiv{gap}")  # fmt: skip


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def metrics(svc: Services, authorization: str | None = None) -> Reply:
    if not authorized(svc, authorization):
        return unauthorized("/metrics")
    collector = RedisCollector(
        svc.store, list(svc.topics.values()), svc.settings.stale_after_seconds
    )
    return Reply(scrape(collector), METRICS_CONTENT_TYPE)


def authorized(svc: Services, authorization: str | None) -> bool:
    """With no metrics token set, anyone is; else `Authorization: Bearer <token>` is needed."""
    token = svc.settings.metrics_token
    if token is None:
        return True
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    given = credentials.strip().encode("latin-1", "replace")  # WSGI headers are latin-1
    same = hmac.compare_digest(given, token.encode())  # in constant time: no guessing by timing
    return scheme.lower() == "bearer" and same
