"""The bot's own HTTP server: the Telegram webhook, `/healthz` and `/metrics`.

Why not python-telegram-bot's `Application.run_webhook`: its server (`Updater.start_webhook`,
tornado as well) serves exactly one path, the webhook, and offers no public way to add another
route: the tornado application it builds (`WebhookAppClass`) is private and created inside the
`Updater`. Adding `/healthz` and `/metrics` to it would mean subclassing or patching private
classes that may change in any release. So `faqbot run --webhook` follows PTB's documented
"custom webhook bot" pattern (`examples/customwebhookbot/`): the `Application` is built with
`updater(None)`, this server receives Telegram's POSTs on `/telegram`, checks the
`X-Telegram-Bot-Api-Secret-Token` header (403 otherwise) and hands the JSON to the wiring, which
puts `Update.de_json(...)` on `application.update_queue`. The server is tornado because PTB's
webhooks extra installs it already; its checks are PTB's own webhook handler's, with the secret
compared in constant time and nothing of the update logged.

In polling mode the same server runs without the webhook route when `FAQBOT_HEALTH_PORT` is set.

An update is answered 200 only once it is in the durable inbox (`bot/store/inbox.py`): one
that cannot be written there is answered 503, and Telegram delivers it again later. A POST of an
update already received (Telegram retrying a slow answer) is answered 200 and not handled again.

Shutdown (`WebServer.stop`): stop listening, answer 503 to any POST still arriving on an open
connection (Telegram delivers it again later), close the connections. Every update answered
200 before that is in the inbox: handled now, or at the next start.

Nothing here imports Telegram.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from bot.metrics import Metrics
from bot.store.health import UNWRITABLE, StorageHealth, StorageState
from bot.store.storage import Storage

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few kilobytes; refuse anything absurdly larger before reading it.
MAX_BODY_BYTES = 1024 * 1024
DB_TIMEOUT = 5.0


class Unavailable(Exception):
    """The sink cannot take the update now (the inbox cannot be written): answered 503, so
    that Telegram delivers it again later."""


@dataclass(frozen=True)
class Webhook:
    """Where Telegram's POSTs go: `sink` receives each update as parsed JSON."""

    secret: str
    sink: Callable[[dict], Awaitable[None]]


#: Undelivered messages older than this make the bot unhealthy ("outbox stuck").
BACKLOG_MAX_AGE = 300.0

#: `backlog() -> (count, oldest_age_seconds)`: messages waiting to be delivered, and the age of
#: the oldest one (None when there is none). Blocking calls are fine: it runs in a thread.
Backlog = Callable[[], "tuple[int, float | None]"]


class Health:
    """What `/healthz` reports: 200 when the application runs, the database can be written and
    is intact (`bot.store.health`), and no message has waited too long to be delivered."""

    def __init__(
        self,
        storage: Storage,
        faq_entries: Callable[[], int],
        running: Callable[[], bool],
        *,
        backlog: Backlog | None = None,
        backlog_max_age: float = BACKLOG_MAX_AGE,
        storage_health: StorageHealth | None = None,
    ):
        self.storage = storage
        self.faq_entries = faq_entries
        self.running = running
        self.backlog = backlog
        self.backlog_max_age = backlog_max_age
        self.storage_health = storage_health or StorageHealth.of(storage)
        self.started = time.monotonic()
        self.stopping = False

    def _probe_storage(self) -> StorageState:
        """A real write now; the integrity check's last result (run now if there is none)."""
        if self.storage_health.integrity_checked_at is None:
            self.storage_health.check_integrity()
        return self.storage_health.probe_write()

    async def _storage_state(self) -> StorageState:
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._probe_storage), DB_TIMEOUT)
        except Exception as exc:  # any failure means "not healthy", never a crash of the probe
            log.warning("health check: the database does not answer: %r", exc)
            return StorageState(UNWRITABLE, "the database does not answer")

    async def _backlog(self) -> tuple[int, float | None] | None:
        if self.backlog is None:
            return None
        try:
            count, oldest = await asyncio.wait_for(asyncio.to_thread(self.backlog), DB_TIMEOUT)
        except Exception as exc:
            log.warning("health check: the outbox backlog is unknown: %r", exc)
            return None
        return int(count), (None if oldest is None else float(oldest))

    async def check(self) -> tuple[int, dict]:
        """The HTTP status and the JSON body."""
        storage = await self._storage_state()
        backlog = await self._backlog()
        running = self.running() and not self.stopping
        body: dict = {
            "faq_entries": self.faq_entries(),
            "db": "ok" if storage.ok else "error",
            "uptime_s": round(time.monotonic() - self.started, 1),
        }
        stuck = False
        if backlog is not None:
            count, oldest = backlog
            body["outbox"] = count
            body["outbox_oldest_s"] = None if oldest is None else round(oldest, 1)
            stuck = count > 0 and oldest is not None and oldest > self.backlog_max_age
        if not running:
            reason = "stopping" if self.stopping else "the bot is not running"
        elif not storage.ok:
            reason = storage.reason
        elif stuck:
            reason = (
                f"the outbox is stuck: {backlog[0]} message(s) undelivered, the oldest for "
                f"{backlog[1]:.0f} s (more than {self.backlog_max_age:.0f} s)"
            )
        else:
            reason = None
        body = {"status": "unavailable" if reason else "ok", **body}
        if reason:
            body["reason"] = reason
        return (HTTPStatus.SERVICE_UNAVAILABLE if reason else HTTPStatus.OK), body


class _Handler(RequestHandler):
    def initialize(self, server: WebServer) -> None:
        self.server = server

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")


class HealthHandler(_Handler):
    async def get(self) -> None:
        status, body = await self.server.health.check()
        self.set_status(status)
        self.finish(body)  # a dict: tornado sends it as JSON


class MetricsHandler(_Handler):
    async def get(self) -> None:
        metrics = self.server.metrics
        try:
            await asyncio.to_thread(metrics.refresh)
        except Exception as exc:  # stale gauges are better than no metrics at all
            log.warning("metrics: could not read the database: %r", exc)
        body, content_type = metrics.render()
        self.set_header("Content-Type", content_type)
        self.finish(body)


class WebhookHandler(_Handler):
    SUPPORTED_METHODS = ("POST",)

    def _finish_with(self, status: HTTPStatus, result: str) -> None:
        self.server.metrics.webhook_requests.labels(result).inc()
        self.set_status(status)
        self.finish()

    async def post(self) -> None:
        webhook = self.server.webhook
        given = self.request.headers.get(SECRET_HEADER, "")
        expected = webhook.secret.encode() if webhook is not None else b""
        if not expected or not hmac.compare_digest(given.encode(), expected):
            self._finish_with(HTTPStatus.FORBIDDEN, "forbidden")
            return
        if self.server.health.stopping:  # Telegram delivers it again later
            self._finish_with(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable")
            return
        try:
            data = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            self._finish_with(HTTPStatus.BAD_REQUEST, "bad_request")
            return
        try:
            await webhook.sink(data)
        except Unavailable as exc:
            log.warning("webhook: update not accepted, Telegram will deliver it again: %s", exc)
            self._finish_with(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable")
            return
        except Exception as exc:  # not an update we can read; the content is not logged
            update_id = data.get("update_id")
            if not isinstance(update_id, int):
                log.warning("webhook: could not read an update (%s)", type(exc).__name__)
                self._finish_with(HTTPStatus.BAD_REQUEST, "bad_request")
                return
            # A real update this python-telegram-bot cannot parse (a newer Bot API field…):
            # skipped with 200, as in polling (transport.TolerantBot), so that Telegram does
            # not deliver it again and again.
            log.warning(
                "webhook: update %d could not be read (%s); skipped", update_id, type(exc).__name__
            )
            self._finish_with(HTTPStatus.OK, "skipped")
            return
        self.server.metrics.webhook_requests.labels("accepted").inc()
        self.set_status(HTTPStatus.OK)
        self.finish()


class WebServer:
    """`/healthz` and `/metrics`, plus `POST /telegram` when given a `Webhook`."""

    def __init__(self, health: Health, metrics: Metrics, webhook: Webhook | None = None):
        self.health = health
        self.metrics = metrics
        self.webhook = webhook
        routes: list = [
            (r"/healthz", HealthHandler, {"server": self}),
            (r"/metrics", MetricsHandler, {"server": self}),
        ]
        if webhook is not None:
            routes.append((rf"{WEBHOOK_PATH}/?", WebhookHandler, {"server": self}))
        self._http = HTTPServer(Application(routes), max_body_size=MAX_BODY_BYTES)
        self.port: int | None = None

    def start(self, address: str, port: int) -> None:
        """Listen on `address:port` (port 0: any free port, then in `self.port`)."""
        sockets = bind_sockets(port, address)
        self.port = sockets[0].getsockname()[1]
        self._http.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop listening, refuse what still arrives, close every connection."""
        self.health.stopping = True
        self._http.stop()
        await self._http.close_all_connections()
