"""The Telegram wiring: one `Application`, its handlers, its jobs, and long polling.

Everything that ties the bot to Telegram is registered here and only here; the handlers
themselves live in `handlers/`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.engine import Engine
from bot.i18n import LANGUAGES
from bot.retention import purge_question_log
from bot.storage import Storage
from bot.tickets import TicketDesk
from handlers import callbacks, conversation, escalation, forget, staff, topics
from handlers.common import (
    DESK,
    ENGINE,
    SETTINGS,
    STORAGE,
    report_error,
    settings_of,
    storage_of,
)
from handlers.texts import command_descriptions

log = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(days=1)
FIRST_PURGE = timedelta(minutes=5)
FIRST_DIGEST = timedelta(minutes=1)


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


def build_application(settings: Settings, engine: Engine, storage: Storage) -> Application:
    """The bot, ready to `run_polling` (or to drive by hand in tests)."""
    if not settings.token:
        raise ValueError("a bot token is required")
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{settings.api_url}/bot")
        .base_file_url(f"{settings.api_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .post_init(register_commands)
        .build()
    )
    application.bot_data.update(
        {
            ENGINE: engine,
            STORAGE: storage,
            SETTINGS: settings,
            DESK: TicketDesk(storage, settings.ticket_limits),
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
    if settings.staff_chat_id is not None:
        application.job_queue.run_repeating(
            staff.post_digest,
            interval=timedelta(minutes=settings.digest_interval_minutes),
            first=FIRST_DIGEST,
            name="digest",
        )
    return application


def run(settings: Settings, engine: Engine, storage: Storage) -> None:
    """Long polling until interrupted (Ctrl-C, SIGTERM)."""
    application = build_application(settings, engine, storage)
    log.info("polling %s for updates", settings.api_url)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
