"""`feedsvc-worker stats`: papers and enrichment state per topic, LLM calls, tokens and cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from feedsvc.config import Settings, Topic
from feedsvc.config.settings import price_per_million
from feedsvc.store import LlmUsage, Store

# A worker reads the queue at least every 30 s while it runs (worker.scheduler); one that
# has not read for this long is stopped or stuck.
LIVE_SECONDS = 120.0


def collect_stats(
    store: Store, topics: Sequence[Topic], settings: Settings, now: datetime
) -> dict[str, Any]:
    """Everything `stats` shows, as plain data (the --json output)."""
    failed = store.failures.failed_items()
    statuses = store.topics.statuses(topics)
    return {
        "topics": [
            {
                **_topic_stats(store, t, failed, statuses[t.slug].last_fetched),
                "stale": statuses[t.slug].is_stale(now, settings.stale_after_seconds),
                "last_error": statuses[t.slug].last_error if statuses[t.slug].failing else None,
            }
            for t in topics
        ],
        "failed_by_reason": dict(Counter(_reason_kind(r) for r in failed.values())),
        "dead_letters": store.queue.dead_letters(),
        "queue": {
            "queued": store.queue.queue_length(),
            "waiting_to_retry": store.queue.retry_count(),
        },
        "workers": [
            {
                "name": name,
                "in_hand": pending,
                "idle_seconds": round(idle, 1),
                "live": idle < LIVE_SECONDS,
            }
            for name, pending, idle in store.consumers.workers()
        ],
        "llm": {
            "total": _usage(store.accounting.llm_usage(), settings),
            "today": _usage(store.accounting.llm_usage(now.date().isoformat()), settings),
            "today_date": now.date().isoformat(),
            "daily_token_budget": settings.llm_daily_token_budget or None,
        },
        "full_text": {
            "topics": [topic.slug for topic in topics if topic.full_text],
            "budget_tokens": settings.full_text_tokens,
        },
    }


def _topic_stats(
    store: Store, topic: Topic, failed: dict[str, str], last_fetched: datetime | None
) -> dict[str, Any]:
    counts = store.topics.language_counts(topic, failed)
    papers = next(iter(counts.values())).papers
    return {
        "slug": topic.slug,
        "papers": papers,
        "last_fetched": last_fetched.isoformat() if last_fetched else None,
        "languages": {
            language: {"enriched": c.enriched, "pending": c.pending, "failed": c.failed}
            for language, c in counts.items()
        },
    }


def _reason_kind(reason: str) -> str:
    """A failure reason without its details, for grouping: 'HTTP 500 from the LLM'."""
    return reason.split(":", 1)[0]


def _usage(usage: LlmUsage, settings: Settings) -> dict[str, Any]:
    per_model = {}
    for model, counts in usage.models.items():
        price = price_per_million(settings, model)
        cost = None
        if price is not None:
            cost = (counts.tokens_in * price[0] + counts.tokens_out * price[1]) / 1e6
        per_model[model] = {
            "calls": counts.calls,
            "tokens_in": counts.tokens_in,
            "tokens_out": counts.tokens_out,
            "cost_usd": None if cost is None else round(cost, 4),
        }
    return {"models": per_model, "outcomes": dict(usage.outcomes), "tokens": usage.tokens}


def format_stats(report: dict[str, Any]) -> str:
    """The human table of `stats`."""
    lines = [f"{'topic':<24} {'papers':>6}  {'lang':<5} {'enriched':>8} {'pending':>8} "
             f"{'failed':>6}  last fetched"]  # fmt: skip
    for topic in report["topics"]:
        for n, (language, counts) in enumerate(topic["languages"].items()):
            head = f"{topic['slug']:<24} {topic['papers']:>6}" if n == 0 else " " * 31
            fetched = (topic["last_fetched"] or "never")[:16] if n == 0 else ""
            if n == 0 and topic["stale"]:
                fetched += "  STALE"
            lines.append(
                f"{head}  {language:<5} {counts['enriched']:>8} {counts['pending']:>8} "
                f"{counts['failed']:>6}  {fetched}".rstrip()
            )
    lines += [f"last fetch of {t['slug']} failed: {t['last_error']}"
              for t in report["topics"] if t["last_error"]]  # fmt: skip
    queue = report["queue"]
    lines += ["", f"queue: {queue['queued']} queued, {queue['waiting_to_retry']} waiting to retry"]
    live = [w for w in report["workers"] if w["live"]]
    lines.append(f"workers: {len(live)} live of {len(report['workers'])} known" + "".join(
        f"\n  {w['name']}: {w['in_hand']} in hand, last read {w['idle_seconds']:g}s ago"
        for w in report["workers"]))  # fmt: skip
    for reason, count in sorted(report["failed_by_reason"].items()):
        lines.append(f"failed: {count} × {reason}")
    for member, deliveries in sorted(report["dead_letters"].items()):
        lines.append(f"dead letter: {member} (delivered {deliveries} times without a result)")
    llm = report["llm"]
    for label, usage in (
        ("all time", llm["total"]),
        (f"today ({llm['today_date']})", llm["today"]),
    ):
        lines += ["", f"LLM {label}: {usage['tokens']} tokens"]
        lines += [_model_line(model, u) for model, u in usage["models"].items()]
        if usage["outcomes"]:
            lines.append("  calls by outcome: " + ", ".join(
                f"{k} {v}" for k, v in sorted(usage["outcomes"].items())))  # fmt: skip
    if llm["daily_token_budget"]:
        lines.append(f"daily token budget: {llm['daily_token_budget']}")
    full_text = report["full_text"]
    if full_text["topics"]:
        lines.append(
            f"full text: {', '.join(full_text['topics'])}, at most "
            f"{full_text['budget_tokens']} tokens of sections a call (usage: <model>+full-text)"
        )
    return "\n".join(lines)


def _model_line(model: str, usage: dict[str, Any]) -> str:
    cost = "cost unknown (set FEEDSVC_LLM_PRICES)"
    if usage["cost_usd"] is not None:
        cost = f"≈ ${usage['cost_usd']:.4f}"
    return (
        f"  {model}: {usage['calls']} calls, {usage['tokens_in']} tokens in, "
        f"{usage['tokens_out']} out, {cost}"
    )
