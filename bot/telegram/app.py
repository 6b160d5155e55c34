"""The Telegram wiring: one `Application`, its handlers, its jobs, and how `faqbot run` runs it.

Everything that ties the bot to Telegram is registered here and only here; the handlers
themselves live in `handlers/`.

The path of every update (issue "nothing lost and everyone served"):

1. it arrives by long polling (`faqbot run`) or on the webhook (`faqbot run --webhook`, our
   tornado server, `web.py`, where the choice is explained);
2. it is written to the durable inbox (`bot/store/inbox.py`) before Telegram is told it
   arrived: before the next getUpdates offset, before the webhook's 200. An update seen
   before (Telegram delivering it again, a webhook retry) goes no further;
3. `PerChatUpdateProcessor` (`scheduling.py`) runs it in its chat's turn, the flood limit
   first (`handlers/flood.py`), then the handlers; messages leave through `FairRateLimiter`
   (`ratelimit.py`), and what the desk owes goes through the outbox (`handlers/delivery.py`);
4. it is marked done in the inbox. An update that a crash or a stop interrupted is handled
   again at the next start.

`Service` runs both modes the same way: the command menus, the web server (`/healthz`,
`/metrics`, the webhook), the pid file and SIGHUP (`faqbot reload`), and a stop on SIGTERM or
SIGINT that stops receiving, gives running updates `STOP_GRACE` seconds and exits: what was not
finished stays in the inbox and the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence
from datetime import timedelta

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answering.engine import Engine
from bot.config import ServiceError, Settings
from bot.desk.tickets import TicketDesk
from bot.flood import FloodLimit
from bot.i18n import LANGUAGES
from bot.metrics import Metrics
from bot.pidfile import remove_pid_file, write_pid_file
from bot.store.group_commit import GroupCommit
from bot.store.inbox import Inbox, Received
from bot.store.retention import purge_question_log
from bot.store.storage import Storage
from bot.telegram.buttons import CallbackQueryHandler  # pattern-bound: see the module
from bot.telegram.ratelimit import FairRateLimiter
from bot.telegram.scheduling import PerChatUpdateProcessor
from bot.telegram.transport import AiohttpRequest, AlreadyReceived, TolerantBot
from bot.telegram.web import WEBHOOK_PATH, Health, Unavailable, Webhook, WebServer
from handlers import (
    callbacks,
    conversation,
    delivery,
    escalation,
    flood,
    forget,
    inline,
    ops,
    profile,
    staff,
    topics,
)
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
# How often what the outbox still owes is sent again (a staff group back, a network back).
OUTBOX_RETRY_INTERVAL = timedelta(seconds=15)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Updates handled at once (each chat's in order): see PerChatUpdateProcessor.
CONCURRENT_UPDATES = 16
# On SIGTERM, updates already running get this long to finish (Docker kills after 10 s).
STOP_GRACE = 4.0
# Connections for the bot's calls (python-telegram-bot's default); getUpdates has its own one.
CONNECTION_POOL_SIZE = 256
INBOX_DONE = "inbox_done"  # bot_data key: GroupCommit marking updates done in the inbox
INBOX = "inbox"


class TimedApplication(Application):
    """The `Application`, timing how long each update takes to handle (every handler group and
    the error handler included, queueing excluded) for `faqbot_update_seconds`, and marking
    it done in the inbox once handled.

    `process_update` is the one call that covers a whole update; a pair of TypeHandlers in the
    first and last groups would miss updates that end early (an error, ApplicationHandlerStop).
    An update cancelled by a stop is not marked: it is handled again at the next start.
    """

    async def process_update(self, update: object) -> None:
        if isinstance(update, AlreadyReceived):
            return  # a duplicate: the first delivery is handled, or will be
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.bot_data[METRICS].update_seconds.observe(time.perf_counter() - started)
        if isinstance(update, Update) and INBOX_DONE in self.bot_data:
            await self.bot_data[INBOX_DONE].submit(update.update_id)


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


async def register_public_face(application: Application) -> None:
    """At start: the command menus, then the bot's name, descriptions and menu button
    (`handlers/profile.py`). Failures are logged, never fatal."""
    await register_commands(application)
    await profile.register_profile(application)


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
    handled = await asyncio.to_thread(context.bot_data[INBOX].purge)
    sent = await asyncio.to_thread(desk.outbox.purge)
    if handled or sent:
        log.info("purged %d handled update(s) and %d sent message(s)", handled, sent)


def journal_for(inbox: Inbox):
    """The bot's `journal` (see `TolerantBot`): write updates to the inbox in a worker thread;
    the ids not seen before. A failure to write becomes a `NetworkError`, so that polling
    tries again later without confirming anything to Telegram."""

    async def journal(updates: Sequence[Update], raw: dict[int, dict]) -> set[int]:
        records = [
            Received(
                u.update_id,
                u.effective_user.id if u.effective_user else None,
                raw.get(u.update_id) or u.to_dict(),
            )
            for u in updates
        ]
        try:
            return await asyncio.to_thread(inbox.accept, records)
        except Exception as exc:
            log.error("the inbox cannot be written (%s): updates are not confirmed", exc)
            raise NetworkError(f"the inbox cannot be written: {type(exc).__name__}") from exc

    return journal


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
    inbox = Inbox(storage)
    bot = TolerantBot(
        settings.token,
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
        # aiohttp instead of httpx: half the CPU per update (see bot.telegram.transport).
        request=AiohttpRequest(connection_pool_size=CONNECTION_POOL_SIZE),
        get_updates_request=AiohttpRequest(),
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=FairRateLimiter() if limit_rate else None,
        journal=journal_for(inbox),
    )
    builder = (
        ApplicationBuilder()
        .application_class(TimedApplication)
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
        .post_init(register_public_face)
    )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    desk = TicketDesk(storage, settings.ticket_limits)
    # Metrics of this application only: its own registry (see bot.metrics).
    metrics = Metrics()
    metrics.faq_entries.set(len(engine.kb))
    metrics.count_open_tickets = desk.count_open
    metrics.backlog = desk.outbox.backlog
    application.bot_data.update(
        {
            ENGINE: engine,
            STORAGE: storage,
            SETTINGS: settings,
            DESK: desk,
            METRICS: metrics,
            QUESTION_LOG: GroupCommit(storage.log_questions),
            INBOX: inbox,
            INBOX_DONE: GroupCommit(inbox.finish),
            flood.FLOOD: FloodLimit(settings.flood_per_minute),
        }
    )
    escalation.install_living_cards(application)

    private = filters.ChatType.PRIVATE
    new_message = filters.UpdateType.MESSAGE
    not_staff = ~filters.Chat(settings.staff_chat_id) if settings.staff_chat_id else filters.ALL
    application.add_handlers(
        [
            # Edits come first: CommandHandler would otherwise run edited commands again.
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, conversation.reply_edited),
            CommandHandler("start", conversation.start, new_message),
            *(
                [
                    CommandHandler(
                        "help", staff.staff_help, new_message & filters.Chat(settings.staff_chat_id)
                    )
                ]
                if settings.staff_chat_id is not None
                else []
            ),
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
            CallbackQueryHandler(escalation.solved, callbacks.SOLVED),
            CallbackQueryHandler(escalation.reply_to_continue, callbacks.REPLY_TO_TICKET),
            CallbackQueryHandler(escalation.media_to_team, callbacks.MEDIA_TO_TEAM),
            CallbackQueryHandler(staff.learn_button, callbacks.LEARN),
            CallbackQueryHandler(conversation.reply_expired_button),
            InlineQueryHandler(inline.answer_inline_query),
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
    if settings.staff_chat_id is not None:
        staff_chat = filters.Chat(settings.staff_chat_id)
        application.add_handlers(
            [
                MessageHandler(
                    new_message
                    & filters.REPLY
                    & staff_chat
                    & ~filters.TEXT
                    & ~filters.StatusUpdate.ALL,
                    escalation.route_staff_media,
                ),
                MessageHandler(
                    filters.UpdateType.EDITED_MESSAGE & staff_chat & filters.TEXT,
                    escalation.route_staff_edit,
                ),
            ],
            group=-1,
        )
    user_media = (
        filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.VIDEO | filters.AUDIO
    )
    application.add_handlers(
        [
            # A bare /ask's question, and replies to a ticket's messages (follow-ups).
            MessageHandler(
                new_message & private & filters.TEXT & ~filters.COMMAND,
                escalation.route_private_text,
            ),
            MessageHandler(replies & not_staff & ~private, escalation.route_user_reply),
            # A photo or a file: under the ticket's card, or offered to the team.
            MessageHandler(new_message & private & user_media, escalation.route_user_media),
        ],
        group=-1,
    )
    # After the conversation: a suggestion picked is a labelled example for /learn.
    application.add_handler(
        CallbackQueryHandler(staff.learn_from_pick, callbacks.SUGGESTION), group=1
    )
    # Before everything else: messages beyond a user's flood limit go no further.
    application.add_handler(TypeHandler(Update, flood.limit_flood), group=-2)
    application.add_error_handler(report_error)
    application.job_queue.run_repeating(
        purge_old_data, interval=PURGE_INTERVAL, first=FIRST_PURGE, name="purge"
    )
    application.job_queue.run_repeating(
        forget.complete_erasure, interval=forget.ERASURE_RETRY_SECONDS, first=0, name="erasure"
    )
    ops.register(application)  # storage probes; staff told when storage fails and recovers
    if settings.staff_chat_id is not None:
        application.job_queue.run_once(escalation.post_missing_cards, when=0, name="missing cards")
        application.job_queue.run_repeating(
            delivery.retry_owed,
            interval=OUTBOX_RETRY_INTERVAL,
            first=OUTBOX_RETRY_INTERVAL,
            name="outbox",
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
    file and SIGHUP for `faqbot reload`, the web server (webhook, /healthz, /metrics), the
    updates left in the inbox by the previous run, and a fast stop."""

    def __init__(self, application: Application, settings: Settings, *, webhook: bool):
        self.application = application
        self.settings = settings
        self.webhook = webhook
        bot_data = application.bot_data
        self.inbox: Inbox = bot_data[INBOX]
        health = Health(
            bot_data[STORAGE],
            faq_entries=lambda: len(bot_data[ENGINE].kb),
            running=self.running,
            backlog=bot_data[DESK].outbox.backlog,
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
        """The webhook's sink: the update is written to the inbox (`Unavailable` when it
        cannot be: Telegram then delivers it again), then queued, unless it was seen before
        (Telegram retrying a slow answer)."""
        update = Update.de_json(data, self.application.bot)
        try:
            new = await self.application.bot.record_received([update], {update.update_id: data})
        except NetworkError as exc:
            raise Unavailable(str(exc)) from exc
        if update.update_id in new:
            await self.application.update_queue.put(update)

    def reload_on_sighup(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._sighup)

    def _sighup(self) -> None:
        log.info("SIGHUP: reloading the FAQ")
        self.application.create_task(reload_faq(self.application.bot_data), name="reload_faq")

    async def resume_inbox(self) -> None:
        """Queue the updates the previous run received but did not finish (a crash, a stop)."""
        pending = await asyncio.to_thread(self.inbox.pending)
        if not pending:
            return
        log.info("%d update(s) received before the restart are handled now", len(pending))
        bot = self.application.bot
        for data in pending:
            try:
                update = Update.de_json(data, bot)
            except Exception as exc:  # not readable any more: marked, never retried forever
                log.warning("an inbox update could not be read (%s): skipped", type(exc).__name__)
                await asyncio.to_thread(self.inbox.finish, [data.get("update_id", -1)])
                continue
            await self.application.update_queue.put(update)

    async def post_init(self, application: Application) -> None:
        """Before updates flow: menus, the web server (it fails fast if the port is taken), then
        SIGHUP and the pid file, in that order: the pid is only published once SIGHUP reloads
        (SIGHUP's default action would end the process); then the inbox's leftovers."""
        await register_public_face(application)
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
        await self.resume_inbox()

    async def post_shutdown(self, application: Application) -> None:
        if self.server is not None:
            await self.server.stop()
        remove_pid_file(self.settings.pid_path)  # before SIGHUP stops reloading
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    async def serve(self) -> None:
        """Polling or webhook until SIGTERM or SIGINT, then the fast stop (see the module)."""
        application = self.application
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        async with application:  # initialize() now, shutdown() at the end
            try:
                await self.post_init(application)
                await application.start()
                if self.webhook:
                    await self._set_webhook()
                else:
                    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                log.info("%s; waiting for updates", "webhook set" if self.webhook else "polling")
                await stop.wait()
                log.info(
                    "stopping: no new updates; %d queued update(s) stay in the inbox",
                    application.update_queue.qsize(),
                )
                if application.updater is not None and application.updater.running:
                    await application.updater.stop()
                if self.server is not None:
                    await self.server.stop()  # stop accepting; what was accepted is in the inbox
            finally:
                self.stop_handling()
                if application.running:
                    await application.stop()
                await self.post_shutdown(application)
        log.info("stopped")

    def stop_handling(self) -> None:
        """Start no more updates, end rate-limit waits, give running ones `STOP_GRACE`."""
        processor = self.application.update_processor
        if isinstance(processor, PerChatUpdateProcessor):
            processor.begin_stop(STOP_GRACE)
        limiter = self.application.bot.rate_limiter
        if isinstance(limiter, FairRateLimiter):
            loop = asyncio.get_running_loop()
            loop.call_later(STOP_GRACE, limiter.stop)

    async def _set_webhook(self) -> None:
        try:
            await self.application.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        except TelegramError as exc:
            raise ServiceError(f"Telegram refused the webhook: {exc}") from exc


def _cannot_start(exc: TelegramError) -> ServiceError:
    # PTB's messages may quote the token: the full text goes to the log, which masks it.
    log.error("could not start: %s", exc)
    return ServiceError(
        f"could not start: {type(exc).__name__} talking to the Bot API (details in the log)"
    )


def run(settings: Settings, engine: Engine, storage: Storage, *, webhook: bool = False) -> None:
    """Long polling (or, with `webhook`, the webhook: `settings.check_webhook()` first) until
    SIGINT or SIGTERM."""
    application = build_application(settings, engine, storage, webhook=webhook)
    service = Service(application, settings, webhook=webhook)
    if webhook:
        log.info("webhook mode: Telegram posts to %s", settings.webhook_url)
    else:
        log.info("polling %s for updates", settings.api_url)

    async def serve() -> None:
        try:
            await service.serve()
        finally:  # the HTTP clients, also when the start failed (TolerantBot.close_transport)
            await application.bot.close_transport()

    try:
        asyncio.run(serve())
    except TelegramError as exc:
        raise _cannot_start(exc) from exc


def run_webhook(settings: Settings, engine: Engine, storage: Storage) -> None:
    """Webhook mode (`settings.check_webhook()` first) until SIGINT or SIGTERM."""
    run(settings, engine, storage, webhook=True)
