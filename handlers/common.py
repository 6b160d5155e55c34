"""What every handler needs: the engine, the store, the user's language, safe HTML sending."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import MutableMapping
from typing import Any

from telegram import InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.answering.check import checked_engine
from bot.answering.dialogue import DialogueState
from bot.answering.engine import Engine, settle
from bot.answering.knowledge import LoadResult
from bot.config import Settings
from bot.formatting import split_html
from bot.metrics import Metrics
from bot.store.group_commit import GroupCommit
from bot.store.storage import LoggedQuestion, Storage
from handlers import texts
from handlers.rules import MAX_QUESTION_LENGTH, TOO_LONG, language_from_code, question_problem

log = logging.getLogger(__name__)

# Keys of `application.bot_data`, filled by `bot.telegram.app.build_application`.
ENGINE, STORAGE, SETTINGS, DESK = "engine", "storage", "settings", "desk"
METRICS, RELOAD_LOCK, QUESTION_LOG = "metrics", "reload_lock", "question_log"
DIALOGUES = "dialogues"  # chat id -> DialogueState, the chats seen since the start
# Dialogue states kept in memory before the oldest are dropped (they stay in the database).
KEPT_DIALOGUES = 10_000
# Errors of a refused FAQ written to the log (all of them are in `faqbot check`).
LOGGED_PROBLEMS = 10


def engine_of(context: ContextTypes.DEFAULT_TYPE) -> Engine:
    return context.bot_data[ENGINE]


def storage_of(context: ContextTypes.DEFAULT_TYPE) -> Storage:
    return context.bot_data[STORAGE]


def question_log_of(context: ContextTypes.DEFAULT_TYPE) -> GroupCommit[LoggedQuestion, int]:
    """`await question_log_of(context).submit(LoggedQuestion(...))`: the logged question's id,
    once committed (batched with other users' questions under load)."""
    return context.bot_data[QUESTION_LOG]


async def dialogue_of(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> DialogueState:
    """The chat's dialogue state as last saved (an empty one for a new chat): from memory,
    or once from the database after a restart."""
    states: dict[int, DialogueState] = context.bot_data.setdefault(DIALOGUES, {})
    if chat_id not in states:
        saved = await asyncio.to_thread(storage_of(context).dialogue, chat_id)
        remember_dialogue(context, chat_id, DialogueState.from_json(saved))
    return states[chat_id]


def remember_dialogue(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, state: DialogueState
) -> None:
    """Keep the chat's state in memory (it is saved with the question log's next row)."""
    states: dict[int, DialogueState] = context.bot_data.setdefault(DIALOGUES, {})
    states.pop(chat_id, None)
    states[chat_id] = state
    if len(states) > KEPT_DIALOGUES:  # the least recently seen chat goes first
        del states[next(iter(states))]


def forget_dialogue(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    context.bot_data.setdefault(DIALOGUES, {}).pop(chat_id, None)


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.bot_data[SETTINGS]


def metrics_of(context: ContextTypes.DEFAULT_TYPE) -> Metrics:
    return context.bot_data[METRICS]


async def reload_faq(bot_data: MutableMapping[str, Any]) -> LoadResult:
    """Check the FAQ folder again (`faqbot check`) and serve it if it has no error; otherwise
    keep serving the current one. `/reload` and SIGHUP (`faqbot reload`) both come here.

    The check and the new engine are built in a worker thread; the swap is one assignment on
    the event loop. Handlers read the engine from `bot_data` once per update, so each update is
    handled entirely with the old FAQ or entirely with the new one.
    """
    settings: Settings = bot_data[SETTINGS]
    metrics: Metrics = bot_data[METRICS]
    lock = bot_data.setdefault(RELOAD_LOCK, asyncio.Lock())
    async with lock:  # a SIGHUP and a /reload at once: one after the other
        result, engine = await asyncio.to_thread(
            checked_engine, settings.faq_dir, settings.thresholds
        )
        if engine is None:
            metrics.reloaded(False)
            log.warning(
                "FAQ reload refused: %d error(s) in %s; the previous FAQ stays live",
                len(result.errors),
                settings.faq_dir,
            )
            for problem in result.errors[:LOGGED_PROBLEMS]:
                log.warning("FAQ problem: %s", problem)
            return result
        bot_data[ENGINE] = settle(engine)
        metrics.reloaded(True, len(engine.kb))
        log.info(
            "FAQ reloaded from %s: %d entries, %d warning(s)",
            settings.faq_dir,
            len(engine.kb),
            len(result.warnings),
        )
        return result


def is_staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the update comes from the staff chat and, when STAFF_USER_IDS is set, from one
    of those users. Staff commands and buttons do nothing at all for anyone else."""
    settings = settings_of(context)
    chat = update.effective_chat
    user = update.effective_user
    if settings.staff_chat_id is None or chat is None or user is None:
        return False
    if chat.id != settings.staff_chat_id:
        return False
    return not settings.staff_user_ids or user.id in settings.staff_user_ids


async def user_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The conversation's language, for everything the bot says in a chat (topics, ticket
    confirmations, notices…): the language of the user's last clear message in this chat
    (its fresh dialogue state), else `preferred_language`."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        state = (await dialogue_of(context, chat.id)).current(time.time())
        if state.language:
            return state.language
    return await preferred_language(update, context)


async def preferred_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The user's stored choice, else Telegram's language_code if fr/de/en, else the default."""
    return await stated_language(update, context) or settings_of(context).default_language


async def stated_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The user's stored choice, else Telegram's language_code if fr/de/en; None if neither.

    SQLite writes wait for the disk (synchronous=FULL), so storage runs in a worker thread and
    the event loop keeps serving other users.
    """
    user = update.effective_user
    if user is None:
        return None
    storage = storage_of(context)
    known, stored = storage.cached_language(user.id)
    if not known:  # a user not seen since the start: one read, off the event loop
        stored = await asyncio.to_thread(storage.language, user.id)
    return stored or language_from_code(user.language_code, None)


async def send_html(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    chat_id: int | None = None,
) -> Message | None:
    """Send `text` to the update's chat (or `chat_id`), split if longer than one message; the
    keyboard goes under the last part, which is returned."""
    chat = update.effective_chat
    if chat_id is None and chat is None:
        return None
    target = chat.id if chat_id is None else chat_id
    parts = split_html(text)
    message = None
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        message = await context.bot.send_message(
            target, part, reply_markup=reply_markup if last else None
        )
    return message


async def edit_html(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace the text of the message whose button was tapped (menus navigate in place).

    A message that is too old to edit gets a new message instead; a tap that changes nothing
    (the same button twice) is not an error.
    """
    query = update.callback_query
    message = query.message if query else None
    parts = split_html(text)
    if message is None or not message.is_accessible:
        await send_html(update, context, text, reply_markup)
        return
    try:
        await query.edit_message_text(
            parts[0], reply_markup=reply_markup if len(parts) == 1 else None
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return
        if "can't be edited" in exc.message.lower() or "not found" in exc.message.lower():
            await send_html(update, context, text, reply_markup)
            return
        raise
    for i, part in enumerate(parts[1:], start=2):
        await context.bot.send_message(
            message.chat.id, part, reply_markup=reply_markup if i == len(parts) else None
        )


async def report_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any exception a handler raised and tell a private-chat user; the bot keeps going.

    The update itself is not logged: it holds what the user wrote.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden):  # the user blocked the bot: nobody to tell
        log.info("update %s: %s", update_id, context.error)
        return
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(context.error, sqlite3.Error) and is_staff(update, context):
        await tell_staff_not_stored(update, context)
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return
    try:
        if update.callback_query:
            await update.callback_query.answer()
    except TelegramError:
        pass  # already answered by the handler, or too old: nothing is spinning
    try:
        language = await user_language(update, context)
        await context.bot.send_message(
            update.effective_chat.id, texts.something_went_wrong(language)
        )
    except Exception as exc:  # the error handler must never raise itself
        log.warning("could not tell the user about the error: %s", exc)


async def tell_staff_not_stored(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A staff member's answer or command met a database error: say so under their message,
    plainly, rather than let them believe it went through (nothing was sent or changed: the
    desk records before it sends)."""
    message = update.effective_message
    reply_to = (
        ReplyParameters(message.message_id, allow_sending_without_reply=True) if message else None
    )
    try:
        if update.callback_query:
            await update.callback_query.answer()
        await context.bot.send_message(
            update.effective_chat.id,
            texts.staff_not_stored(settings_of(context).default_language),
            reply_parameters=reply_to,
        )
    except Exception as exc:  # the error handler must never raise itself
        log.warning("could not tell staff that their action was not stored: %s", exc)


async def refuse_non_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, language: str, empty: str
) -> bool:
    """Reply and return True when `text` cannot be a question: too long (the limit is said),
    or empty (`empty` is said)."""
    problem = question_problem(text)
    if problem is None:
        return False
    if problem == TOO_LONG:
        await send_html(update, context, texts.too_long(language, len(text), MAX_QUESTION_LENGTH))
    else:
        await send_html(update, context, empty)
    return True
