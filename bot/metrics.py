"""Prometheus metrics of one running bot, served at `/metrics`.

Each `Metrics` owns its `CollectorRegistry` rather than using prometheus-client's global
default registry: two bots built in one process (the tests build many) never collide, and
`/metrics` shows exactly this bot. Nothing here imports Telegram; the handlers and the wiring
(`bot.telegram.app`) call these objects.

    faqbot_questions_total{language, outcome}  questions the engine decided on (answer, suggest,
                                               escalate, smalltalk), by the reply's language
    faqbot_open_tickets                        tickets waiting for staff (read from the database
                                               at each scrape)
    faqbot_update_seconds                      time to handle one Telegram update, every
                                               handler group included (histogram)
    faqbot_faq_entries                         entries of the FAQ being served
    faqbot_faq_reloads_total{result}           reloads (`/reload`, SIGHUP): ok or refused
    faqbot_outbox_backlog                      messages waiting to be delivered, and the age
    faqbot_outbox_oldest_seconds               of the oldest one (0 when none): read at each
                                               scrape from `Metrics.backlog` when it is set
    faqbot_webhook_requests_total{result}      POSTs to the webhook: accepted, forbidden (wrong
                                               or missing secret), bad_request, unavailable,
                                               skipped (an update that could not be parsed)
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.answering.engine import ANSWER, ESCALATE, SMALLTALK, SUGGEST
from bot.answering.knowledge import LANGUAGES

OUTCOMES = (ANSWER, SUGGEST, ESCALATE, SMALLTALK)
RELOAD_RESULTS = ("ok", "refused")
WEBHOOK_RESULTS = ("accepted", "forbidden", "bad_request", "unavailable")
# Handling an update is a few milliseconds of matching plus one or two Bot API calls.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The bot's metrics and the registry that holds them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "faqbot_questions",
            "Questions the engine decided on, by language of the reply and outcome.",
            ["language", "outcome"],
            registry=self.registry,
        )
        self.open_tickets = Gauge(
            "faqbot_open_tickets",
            "Tickets waiting for an answer from staff.",
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "faqbot_update_seconds",
            "Time to handle one Telegram update (all handler groups).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.faq_entries = Gauge(
            "faqbot_faq_entries", "Entries of the FAQ being served.", registry=self.registry
        )
        self.faq_reloads = Counter(
            "faqbot_faq_reloads",
            "FAQ reloads (/reload, SIGHUP), by result.",
            ["result"],
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "faqbot_webhook_requests",
            "POST requests to the webhook, by result.",
            ["result"],
            registry=self.registry,
        )
        # Every series exists from the start (at 0), so that rates and alerts see them.
        for language in LANGUAGES:
            for outcome in OUTCOMES:
                self.questions.labels(language, outcome)
        for result in RELOAD_RESULTS:
            self.faq_reloads.labels(result)
        for result in WEBHOOK_RESULTS:
            self.webhook_requests.labels(result)
        self.outbox_backlog = Gauge(
            "faqbot_outbox_backlog",
            "Messages waiting to be delivered.",
            registry=self.registry,
        )
        self.outbox_oldest_seconds = Gauge(
            "faqbot_outbox_oldest_seconds",
            "Age of the oldest message waiting to be delivered (0 when none).",
            registry=self.registry,
        )
        #: Called (in a worker thread) before each scrape to read the open-ticket count.
        self.count_open_tickets: Callable[[], int] | None = None
        #: Called (in a worker thread) before each scrape: (messages waiting to be delivered,
        #: age in seconds of the oldest one or None); the same callable as `web.Health`'s.
        self.backlog: Callable[[], tuple[int, float | None]] | None = None

    def question(self, language: str, outcome: str) -> None:
        self.questions.labels(language, outcome).inc()

    def reloaded(self, ok: bool, entries: int | None = None) -> None:
        self.faq_reloads.labels("ok" if ok else "refused").inc()
        if entries is not None:
            self.faq_entries.set(entries)

    def refresh(self) -> None:
        """Read what the database knows (blocking: call it from a worker thread)."""
        if self.count_open_tickets is not None:
            self.open_tickets.set(self.count_open_tickets())
        if self.backlog is not None:
            count, oldest = self.backlog()
            self.outbox_backlog.set(count)
            self.outbox_oldest_seconds.set(oldest or 0.0)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
