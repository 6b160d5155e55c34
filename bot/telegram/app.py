"""The Telegram wiring: one `Application`, its handlers, its jobs, and how `faqbot run` runs it.

Everything that ties the bot to Telegram is registered here and only here; the handlers
themselves live in `handlers/`.

Two ways to receive updates:

* long polling (`faqbot run`, the default): PTB's `run_polling`, whose stop signals (SIGINT,
  SIGTERM) stop fetching, handle every update already fetched, then shut down;
* webhook (`faqbot run --webhook`): PTB's "custom webhook bot" pattern, the Application built
  with `updater(None)` and our own tornado server (`web.py`, where the choice is explained)
  serving `POST /telegram`, `/healthz` and `/metrics`. On SIGTERM or SIGINT the server stops
  accepting, then `Application.stop()` handles every update already received and waits for
  running jobs before the process exits.

In both modes (`Service`): the command menus at start, the pid file and SIGHUP (`faqbot
reload`: reload the FAQ if it passes the check), and in polling mode `/healthz` and `/metrics`
on `FAQBOT_HEALTH_PORT` when it is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.answering.engine import Engine
from bot.config import ServiceError, Settings
from bot.desk.tickets import TicketDesk
from bot.i18n import LANGUAGES
from bot.metrics import Metrics
from bot.pidfile import remove_pid_file, write_pid_file
from bot.store.group_commit import GroupCommit
from bot.store.retention import purge_question_log
from bot.store.storage import Storage
from bot.telegram.buttons import CallbackQueryHandler  # pattern-bound: see the module
from bot.telegram.transport import AiohttpRequest, TolerantBot
from bot.telegram.web import WEBHOOK_PATH, Health, Webhook, WebServer
from handlers import callbacks, conversation, escalation, forget, ops, staff, topics
from handlers.common import (
    DESK,
    ENGINE,
    METRICS,
    QUESTION_LOG,
    SETTINGS,
    STORAGE,
    reload_faq,
    report_error,
    settings_of,
    storage_of,
)
from handlers.texts import command_descriptions

log = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(days=1)
FIRST_PURGE = timedelta(minutes=5)
FIRST_DIGEST = timedelta(minutes=1)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Requests that met a timeout or a 5xx are tried again this many times (see RetryingRateLimiter).
NETWORK_RETRIES = 3
# Updates handled at once (each chat's in order): see PerChatUpdateProcessor.
CONCURRENT_UPDATES = 16
FIRST_RETRY_PAUSE = 0.5  # seconds, doubled after each failed try
# Seconds between two messages sent to one private chat (Telegram: about one a second), with a
# margin for the network: the two may not arrive in the order and spacing they left in.
PRIVATE_CHAT_INTERVAL = 1.1
# Per-chat limiters kept before idle ones are dropped (python-telegram-bot's figure for groups).
KEPT_CHAT_LIMITERS = 512
# Connections for the bot's calls (python-telegram-bot's default); getUpdates has its own one.
CONNECTION_POOL_SIZE = 256


class TimedApplication(Application):
    """The `Application`, timing how long each update takes to handle (every handler group and
    the error handler included, queueing excluded) for `faqbot_update_seconds`.

    `process_update` is the one call that covers a whole update; a pair of TypeHandlers in the
    first and last groups would miss updates that end early (an error, ApplicationHandlerStop).
    """

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.bot_data[METRICS].update_seconds.observe(time.perf_counter() - started)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's flood limits; a 429 is retried after the wait Telegram asks
    for), plus up to `NETWORK_RETRIES` more tries, a short pause apart, of a request that met a
    timeout or a server error: python-telegram-bot raises those at once, and an answer was lost
    on a bad second. `getUpdates` does not come through here (the Updater retries it).

    What a retry implies: a request that timed out may have been carried out all the same, so
    the user can then get that message twice (the price of not losing it). A request Telegram
    refused (400, 403) is never sent again; a button tap that a timed-out try did answer makes
    the next try "query is too old": that counts as answered.

    Also one message per `PRIVATE_CHAT_INTERVAL` to each private chat: AIORateLimiter limits
    groups but not private chats, and a 429 there pauses every chat's messages (AIORateLimiter
    holds all requests for Telegram's `retry_after`). A user who sends three questions at once
    gets the answers a second apart; the other users do not wait for them.
    """

    def __init__(
        self, *args: Any, private_chat_interval: float | None = PRIVATE_CHAT_INTERVAL, **kwargs: Any
    ):
        """AIORateLimiter's arguments, and `private_chat_interval` (0 or None: no pacing)."""
        super().__init__(*args, **kwargs)
        self._private_chat_interval = private_chat_interval
        self._private_chats: dict[int, AsyncLimiter] = {}

    def private_chat_limiter(self, endpoint: str, data: dict[str, Any]) -> AsyncLimiter | None:
        """The limiter of the private chat a new message goes to; None for anything else
        (edits, button answers, chat actions, groups: AIORateLimiter's own limits apply)."""
        if not self._private_chat_interval:
            return None
        if not endpoint.startswith("send") or endpoint == "sendChatAction":
            return None
        try:
            chat_id = int(data.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if chat_id <= 0:
            return None
        if len(self._private_chats) > KEPT_CHAT_LIMITERS:
            for key, limiter in list(self._private_chats.items()):
                if key != chat_id and limiter.has_capacity(limiter.max_rate):
                    del self._private_chats[key]  # idle: nothing sent for a while
        if chat_id not in self._private_chats:
            self._private_chats[chat_id] = AsyncLimiter(1, self._private_chat_interval)
        return self._private_chats[chat_id]

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        async with self.private_chat_limiter(endpoint, data) or contextlib.nullcontext():
            return await self._with_retries(callback, args, kwargs, endpoint, data, rate_limit_args)

    async def _with_retries(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        pause = FIRST_RETRY_PAUSE
        for attempt in range(NETWORK_RETRIES + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest as exc:
                if attempt and endpoint == "answerCallbackQuery" and "too old" in exc.message:
                    return True
                raise
            except NetworkError as exc:
                if attempt == NETWORK_RETRIES:
                    raise
                log.warning("%s failed (%s); trying again in %.1f s", endpoint, exc, pause)
                await asyncio.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")  # pragma: no cover


async def register_commands(application: Application) -> None:
    """The command menu in each language (French, German and English users each see their
    own); the default menu in the default language. A failure is logged, not fatal."""
    settings: Settings = application.bot_data[SETTINGS]
    menus = [(lang, lang) for lang in LANGUAGES] + [(None, settings.default_language)]
    for language_code, language in menus:
        commands = [BotCommand(c, d) for c, d in command_descriptions(language)]
        try:
            await application.bot.set_my_commands(commands, language_code=language_code)
        except TelegramError as exc:
            log.warning("could not set the %s command menu: %s", language_code or "default", exc)


async def purge_old_data(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily job: delete questions, feedback and closed tickets older than /privacy promises
    (FAQBOT_RETENTION_DAYS)."""
    days = settings_of(context).retention_days
    desk: TicketDesk = context.bot_data[DESK]
    deleted = await asyncio.to_thread(purge_question_log, storage_of(context), days, desk.now())
    if deleted:
        log.info("purged %d old question-log and feedback rows", deleted)
    tickets = await asyncio.to_thread(desk.purge_closed, days)
    if tickets:
        log.info("purged %d tickets closed more than %s days ago", tickets, days)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats are handled concurrently, one chat's updates in order.

    python-telegram-bot's plain concurrency could answer a user's second question before the
    first; a lock per chat keeps each conversation sequential while a burst of users (the
    Be 4.0 fair) no longer waits in one queue behind each other's database writes.
    """

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        self._chat_locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._chat_locks.setdefault(chat.id, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked():
                self._chat_locks.pop(chat.id, None)

    async def initialize(self) -> None:
        """Nothing to set up: locks are made per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def build_application(
    settings: Settings,
    engine: Engine,
    storage: Storage,
    *,
    webhook: bool = False,
    limit_rate: bool = True,
) -> Application:
    """The bot, ready to `run_polling` (or to drive by hand in tests). `webhook`: without an
    `Updater`; updates arrive on `application.update_queue` from our web server. `limit_rate`:
    False only to measure the bot's own ceiling (benchmarks/e2e.py); Telegram answers 429."""
    if not settings.token:
        raise ValueError("a bot token is required")
    bot = TolerantBot(
        settings.token,
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
        # aiohttp instead of httpx: half the CPU per update (see bot.telegram.transport).
        request=AiohttpRequest(connection_pool_size=CONNECTION_POOL_SIZE),
        get_updates_request=AiohttpRequest(),
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=(
            # No burst: at most one message each 1/30 s overall. AIORateLimiter's default
            # lets 30 through at once and then 30 a second, which Telegram answers with 429s
            # (benchmarks/e2e.py: 99 to 722 of them for 1,000 users; none this way).
            RetryingRateLimiter(overall_max_rate=1, overall_time_period=1 / 30, max_retries=2)
            if limit_rate
            else None
        ),
    )
    builder = (
        ApplicationBuilder()
        .application_class(TimedApplication)
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
        .post_init(register_commands)
    )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    desk = TicketDesk(storage, settings.ticket_limits)
    # Metrics of this application only: its own registry (see bot.metrics).
    metrics = Metrics()
    metrics.faq_entries.set(len(engine.kb))
    metrics.count_open_tickets = desk.count_open
    application.bot_data.update(
        {
            ENGINE: engine,
            STORAGE: storage,
            SETTINGS: settings,
            DESK: desk,
            METRICS: metrics,
            QUESTION_LOG: GroupCommit(storage.log_questions),
        }
    )

    private = filters.ChatType.PRIVATE
    new_message = filters.UpdateType.MESSAGE
    not_staff = ~filters.Chat(settings.staff_chat_id) if settings.staff_chat_id else filters.ALL
    application.add_handlers(
        [
            # Edits come first: CommandHandler would otherwise run edited commands again.
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, conversation.reply_edited),
            CommandHandler("start", conversation.start, new_message),
            CommandHandler("help", conversation.show_help, new_message),
            CommandHandler("privacy", conversation.show_privacy, new_message),
            CommandHandler("language", conversation.choose_language, new_message),
            CommandHandler("topics", topics.show_topics, new_message),
            CommandHandler("ask", escalation.ask_command, new_message & private),
            CommandHandler("forget", forget.ask_to_forget, new_message & private),
            # Staff commands: silent outside the staff chat, and before the private chats'
            # "unknown command" answer so that nobody learns they exist.
            *(
                CommandHandler(name, handler, new_message)
                for name, handler in staff.COMMANDS.items()
            ),
            MessageHandler(
                new_message & private & filters.COMMAND, conversation.reply_unknown_command
            ),
            MessageHandler(new_message & private & filters.TEXT, conversation.answer_question),
            # In groups (not the staff chat) only commands and mentions of the bot.
            MessageHandler(
                new_message
                & filters.ChatType.GROUPS
                & not_staff
                & filters.TEXT
                & filters.Entity("mention"),
                conversation.answer_mention,
            ),
            MessageHandler(
                new_message & private & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                conversation.reply_not_text,
            ),
            CallbackQueryHandler(conversation.set_language, callbacks.LANGUAGE_CHOICE),
            CallbackQueryHandler(conversation.set_default_language, callbacks.DEFAULT_LANGUAGE),
            CallbackQueryHandler(topics.back_to_topics, callbacks.TOPICS),
            CallbackQueryHandler(topics.open_topic, callbacks.TOPIC),
            CallbackQueryHandler(topics.open_menu_entry, callbacks.MENU_ENTRY),
            CallbackQueryHandler(conversation.show_related, callbacks.RELATED),
            CallbackQueryHandler(conversation.pick_suggestion, callbacks.SUGGESTION),
            CallbackQueryHandler(conversation.record_feedback, callbacks.FEEDBACK),
            CallbackQueryHandler(escalation.ask_team, callbacks.ASK_TEAM),
            CallbackQueryHandler(escalation.take_ticket, callbacks.STAFF_TAKE),
            CallbackQueryHandler(escalation.close_ticket, callbacks.STAFF_CLOSE),
            CallbackQueryHandler(escalation.answer_with_entry, callbacks.STAFF_FAQ_ANSWER),
            CallbackQueryHandler(forget.confirm_forget, callbacks.FORGET),
            CallbackQueryHandler(conversation.reply_expired_button),
        ]
    )
    # Before the conversation (group 0): a reply to a message of a ticket is an answer for its
    # user (in the staff chat) or a follow-up for staff (elsewhere). Replies to anything else
    # go on to group 0.
    replies = new_message & filters.REPLY & filters.TEXT & ~filters.COMMAND
    if settings.staff_chat_id is not None:
        application.add_handler(
            MessageHandler(
                replies & filters.Chat(settings.staff_chat_id), escalation.route_staff_reply
            ),
            group=-1,
        )
    application.add_handler(
        MessageHandler(replies & not_staff, escalation.route_user_reply), group=-1
    )
    application.add_error_handler(report_error)
    application.job_queue.run_repeating(
        purge_old_data, interval=PURGE_INTERVAL, first=FIRST_PURGE, name="purge"
    )
    ops.register(application)  # storage probes; staff told when storage fails and recovers
    if settings.staff_chat_id is not None:
        application.job_queue.run_once(
            escalation.post_missing_cards, when=0, data=time.time(), name="missing cards"
        )
        application.job_queue.run_repeating(
            staff.post_digest,
            interval=timedelta(minutes=settings.digest_interval_minutes),
            first=FIRST_DIGEST,
            name="digest",
        )
    return application


class Service:
    """What `faqbot run` adds around the Application, in both modes: the command menus, the pid
    file and SIGHUP for `faqbot reload`, and the web server (webhook, /healthz, /metrics)."""

    def __init__(self, application: Application, settings: Settings, *, webhook: bool):
        self.application = application
        self.settings = settings
        self.webhook = webhook
        bot_data = application.bot_data
        health = Health(
            bot_data[STORAGE],
            faq_entries=lambda: len(bot_data[ENGINE].kb),
            running=self.running,
        )
        self.port = settings.port if webhook else settings.health_port
        self.server: WebServer | None = None
        if self.port is not None:
            hook = Webhook(settings.webhook_secret or "", self.put_update) if webhook else None
            self.server = WebServer(health, bot_data[METRICS], hook)

    def running(self) -> bool:
        """For /healthz: the application handles updates, and in polling mode still polls."""
        updater = self.application.updater
        return self.application.running and (updater is None or updater.running)

    async def put_update(self, data: dict) -> None:
        """The webhook's sink: the update goes on the queue the Application reads from."""
        await self.application.update_queue.put(Update.de_json(data, self.application.bot))

    def reload_on_sighup(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._sighup)

    def _sighup(self) -> None:
        log.info("SIGHUP: reloading the FAQ")
        self.application.create_task(reload_faq(self.application.bot_data), name="reload_faq")

    async def post_init(self, application: Application) -> None:
        """Before updates flow: menus, the web server (it fails fast if the port is taken), then
        SIGHUP and the pid file, in that order: the pid is only published once SIGHUP reloads
        (SIGHUP's default action would end the process)."""
        await register_commands(application)
        if self.server is not None:
            try:
                self.server.start(self.settings.listen, self.port)
            except OSError as exc:
                raise ServiceError(
                    f"cannot listen on {self.settings.listen}:{self.port}: {exc.strerror or exc}"
                ) from exc
            log.info(
                "serving /healthz and /metrics%s on %s:%d",
                f" and {WEBHOOK_PATH}" if self.webhook else "",
                self.settings.listen,
                self.server.port,
            )
        self.reload_on_sighup()
        write_pid_file(self.settings.pid_path)

    async def post_shutdown(self, application: Application) -> None:
        if self.server is not None:
            await self.server.stop()
        remove_pid_file(self.settings.pid_path)  # before SIGHUP stops reloading
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    async def serve_webhook(self) -> None:
        """Webhook mode until SIGTERM or SIGINT; everything received is handled before exit."""
        application = self.application
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        async with application:  # initialize() now, shutdown() at the end
            try:
                await self.post_init(application)
                await application.start()
                try:
                    await application.bot.set_webhook(
                        self.settings.webhook_url,
                        secret_token=self.settings.webhook_secret,
                        allowed_updates=Update.ALL_TYPES,
                    )
                except TelegramError as exc:
                    raise ServiceError(f"Telegram refused the webhook: {exc}") from exc
                log.info("webhook set; waiting for updates")
                await stop.wait()
                log.info(
                    "stopping: no new updates; %d received update(s) still to handle",
                    application.update_queue.qsize(),
                )
                if self.server is not None:
                    await self.server.stop()  # stop accepting; what was accepted is queued
            finally:
                if application.running:
                    await application.stop()  # handles the whole queue, waits for jobs
                await self.post_shutdown(application)
        log.info("stopped")


def _cannot_start(exc: TelegramError) -> ServiceError:
    # PTB's messages may quote the token: the full text goes to the log, which masks it.
    log.error("could not start: %s", exc)
    return ServiceError(
        f"could not start: {type(exc).__name__} talking to the Bot API (details in the log)"
    )


def run(settings: Settings, engine: Engine, storage: Storage) -> None:
    """Long polling until SIGINT or SIGTERM."""
    application = build_application(settings, engine, storage)
    service = Service(application, settings, webhook=False)
    application.post_init = service.post_init
    application.post_shutdown = service.post_shutdown
    log.info("polling %s for updates", settings.api_url)
    try:
        application.run_polling(
            allowed_updates=Update.ALL_TYPES, stop_signals=STOP_SIGNALS, close_loop=False
        )
    except TelegramError as exc:
        raise _cannot_start(exc) from exc
    finally:  # the HTTP clients, also when the start failed (see TolerantBot.close_transport)
        loop = asyncio.get_event_loop()  # the one run_polling ran on, still open
        loop.run_until_complete(application.bot.close_transport())
        loop.close()


def run_webhook(settings: Settings, engine: Engine, storage: Storage) -> None:
    """Webhook mode (`settings.check_webhook()` first) until SIGINT or SIGTERM."""
    application = build_application(settings, engine, storage, webhook=True)
    service = Service(application, settings, webhook=True)
    log.info("webhook mode: Telegram posts to %s", settings.webhook_url)

    async def serve() -> None:
        try:
            await service.serve_webhook()
        finally:  # also when the start failed (see TolerantBot.close_transport)
            await application.bot.close_transport()

    try:
        asyncio.run(serve())
    except TelegramError as exc:
        raise _cannot_start(exc) from exc
