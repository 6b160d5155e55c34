"""The private conversation: /start, /help, /privacy, /language, questions and their buttons.

Also the polite answers to everything that is not a question (photos, edits, very long
messages, unknown commands, stale buttons): the user never meets silence or a crash.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from telegram import CallbackQuery, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import links
from bot.answering.conversation import take_turn
from bot.answering.engine import ANSWER, CLARIFY, GAP, OFF_TOPIC, SMALLTALK, SUGGEST
from bot.answering.knowledge import Entry, KnowledgeBase
from bot.formatting import escape
from bot.store.storage import LoggedQuestion
from handlers import callbacks, escalation, home, keyboards, texts
from handlers.common import (
    dialogue_of,
    edit_html,
    engine_of,
    metrics_of,
    question_log_of,
    refuse_non_question,
    remember_dialogue,
    send_html,
    settings_of,
    stated_language,
    storage_of,
    user_language,
)
from handlers.rules import (
    strip_mention,
)
from handlers.topics import send_topic

log = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: welcome, language picker and the home screen's buttons (handlers/home.py).
    `/start t-<topic>` or `/start e-<entry>` (deep links from QR codes on posters, inline
    results) opens that topic or answer directly."""
    language = await user_language(update, context)
    if context.args and context.args[0] == escalation.ASK_PAYLOAD:
        await escalation.ask_pending(update, context, language)
        return
    if context.args and await open_deep_link(update, context, context.args[0], language):
        return
    user = update.effective_user
    await send_html(
        update,
        context,
        texts.welcome(language, user.first_name if user else None),
        await home.home_keyboard(context, language, picker=True),
    )


async def open_deep_link(
    update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str, language: str
) -> bool:
    """Show the topic or entry named by a deep-link payload; False if it names neither."""
    kb = engine_of(context).kb
    found = links.parse_payload(kb, payload)  # t-<topic>, e-<entry> (or a bare id)
    if found is not None and found[0] == links.TOPIC:
        await send_topic(update, context, kb.topic(found[1]), language)
        return True
    if found is not None:
        entry = kb.entries[found[1]]
        await send_html(
            update,
            context,
            texts.answer(entry, language),
            keyboards.answer_keyboard(kb, entry, language),
        )
        return True
    log.debug("unknown deep-link payload %r", payload[:64])
    return False


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot can do."""
    language = await user_language(update, context)
    kb = engine_of(context).kb
    await send_html(update, context, texts.help_text(language, len(kb), len(kb.topics)))


async def show_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: what is stored and for how long."""
    language = await user_language(update, context)
    days = settings_of(context).retention_days
    await send_html(update, context, texts.privacy_text(language, days))


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language: the language picker."""
    language = await user_language(update, context)
    await send_html(update, context, texts.choose_language(language), keyboards.language_picker())


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A picker button (`lang:<xx>`): store the choice; the picker becomes the confirmation,
    with the home screen's buttons in that language."""
    query = update.callback_query
    language = context.matches[0].group(1)
    await asyncio.to_thread(storage_of(context).set_language, query.from_user.id, language)
    await speak(update, context, language)
    await query.answer()
    await edit_html(
        update, context, texts.language_set(language), await home.home_keyboard(context, language)
    )


async def set_default_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Always answer in …" under an answer (`dl:<xx>`): store it, confirm, drop the button."""
    query = update.callback_query
    language = context.matches[0].group(1)
    await asyncio.to_thread(storage_of(context).set_language, query.from_user.id, language)
    await speak(update, context, language)
    await query.answer(texts.default_language_set(language))
    await drop_buttons(query, callbacks.DEFAULT_LANGUAGE_PREFIX)


async def speak(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str) -> None:
    """A language the user chose is the conversation's from now on (until they clearly write
    in another one)."""
    chat = update.effective_chat
    if chat is not None:
        state = await dialogue_of(context, chat.id)
        remember_dialogue(context, chat.id, replace(state, language=language))


async def drop_buttons(query: CallbackQuery, prefix: str) -> None:
    """Remove the one-shot buttons (`prefix`) from the message tapped. A second quick tap finds
    them gone already ("not modified"), or the message gone: nothing left to do then."""
    if query.message is None or not query.message.is_accessible:
        return
    try:
        await query.edit_message_reply_markup(
            keyboards.without_buttons(query.message.reply_markup, prefix)
        )
    except BadRequest as exc:
        reason = exc.message.lower()
        if not any(s in reason for s in ("not modified", "not found", "can't be edited")):
            raise


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message in a private chat: answer, suggest or escalate it."""
    await answer_text(update, context, update.effective_message.text)


async def answer_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message that mentions the bot in a group: the rest of it is the question."""
    question = strip_mention(update.effective_message.text or "", context.bot.username)
    if question is not None:
        await answer_text(update, context, question)


async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Answer in the conversation's language (the clear language of this message, else that of
    the conversation so far, else the user's), reading a short follow-up with the subject of
    the answer before (the chat's dialogue state); log the question for FAQ editors."""
    stated = await stated_language(update, context)
    default = settings_of(context).default_language
    preferred = stated or default
    if await refuse_non_question(update, context, text, preferred, texts.empty(preferred)):
        return
    chat_id = update.effective_chat.id
    engine = engine_of(context)
    state = await dialogue_of(context, chat_id)
    turn = take_turn(engine, text, state, stated, time.time(), default)
    decision, language, after_this = turn.decision, turn.decision.language, turn.state
    user_id = update.effective_user.id if update.effective_user else None
    log.debug("question from %s: %r", user_id, text)
    metrics_of(context).question(decision.language, decision.status)
    kb = engine.kb
    remember_dialogue(context, chat_id, after_this)
    if decision.status == SMALLTALK:
        help_markup = keyboards.topics_keyboard(kb, language) if decision.kind == "help" else None
        await send_html(update, context, escape(decision.text), help_markup)
        return

    question_id = await question_log_of(context).submit(
        LoggedQuestion(
            user_id,
            language,
            text,
            decision.status,
            decision.faq_id,
            decision.score,
            chat_id=chat_id,
            dialogue=after_this.to_json(),
        )
    )
    log.info(
        "question #%d: %s %s (%.0f, %s)",
        question_id,
        decision.status,
        decision.faq_id or "-",
        decision.score,
        language,
        extra={
            "question_id": question_id,
            "outcome": decision.status,
            "faq_id": decision.faq_id,
            "score": round(decision.score, 1),
            "language": language,
        },
    )
    offer_default = language != preferred
    if decision.status == ANSWER:
        entry = kb.entries[decision.faq_id]
        html = texts.answer(entry, language)
        also = decision.also if decision.also in kb.entries else None
        shown: tuple[str, ...] = ()
        if decision.both and also is not None:
            # two questions in one, both short: both answers, neither offered again
            html += "\n\n" + texts.answer(kb.entries[also], language)
            also, shown = None, (also,)
        elif decision.also_text:
            html += "\n\n" + escape(decision.also_text)  # what the FAQ lacks of the other half
        markup = keyboards.answer_keyboard(
            kb, entry, language, question_id, offer_default, also, shown
        )
        await send_html(update, context, html, markup)
    elif decision.status == SUGGEST:
        markup = keyboards.suggestions_keyboard(
            kb, decision.suggestions, language, question_id, offer_default
        )
        header = decision.text.splitlines()[0] if decision.follows else None
        await send_html(update, context, texts.suggestions(language, header), markup)
    elif decision.status == GAP:
        entry = kb.entries[decision.faq_id]
        markup = keyboards.gap_keyboard(entry, language, question_id, offer_default)
        await send_html(update, context, escape(decision.text), markup)
    elif decision.status == OFF_TOPIC:
        markup = keyboards.off_topic_keyboard(kb, language, question_id)
        await send_html(update, context, escape(decision.text), markup)
    elif decision.status == CLARIFY:
        await send_html(
            update, context, escape(decision.text), keyboards.topics_keyboard(kb, language)
        )
    else:
        markup = keyboards.escalation_keyboard(language, question_id, offer_default)
        await send_html(update, context, escape(decision.text), markup)


async def entry_of_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Entry, str, KnowledgeBase] | None:
    """The entry a `q:`/`s:` button names, with its language; the tap is answered either way
    (with a polite toast when a reloaded FAQ no longer has that entry)."""
    query = update.callback_query
    language, entry_id = context.matches[0].groups()
    kb = engine_of(context).kb
    entry = kb.entries.get(entry_id)
    if entry is None:
        await query.answer(texts.expired_button(language))
        return None
    await query.answer()
    return entry, language, kb


async def show_related(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A related-question button (`q:<lang>:<id>`): its answer as a new message."""
    if found := await entry_of_button(update, context):
        entry, language, kb = found
        markup = keyboards.answer_keyboard(kb, entry, language)
        await send_html(update, context, texts.answer(entry, language), markup)


async def pick_suggestion(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A "did you mean" button (`s:<lang>:<id>`): that message becomes the answer."""
    if found := await entry_of_button(update, context):
        entry, language, kb = found
        markup = keyboards.answer_keyboard(kb, entry, language)
        await edit_html(update, context, texts.answer(entry, language), markup)


async def record_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 (`fb:<1|0>:<lang>:<id>`): store it for FAQ editors. One vote per user and answer
    message, however often it is tapped; a later 👎 replaces a 👍. Only the entry the message
    answers can be voted on: a button that is not among the message's own (a forged callback
    naming another entry) is refused, unless it repeats the entry already voted on there."""
    query = update.callback_query
    helpful, language, entry_id = context.matches[0].groups()
    message = query.message
    if entry_id not in engine_of(context).kb.entries or message is None:
        await query.answer(texts.expired_button(language))
        return
    own = message.is_accessible and query.data in keyboards.callback_data(message.reply_markup)
    counted = await asyncio.to_thread(
        storage_of(context).vote,
        query.from_user.id,
        message.chat.id,
        message.message_id,
        entry_id,
        language,
        helpful == "1",
        may_create=own,
    )
    if not counted:
        log.debug("feedback refused: %r is not a button of that answer", query.data)
        await query.answer(texts.expired_button(language))
        return
    await query.answer(texts.feedback_thanks(language, helpful == "1"))
    await drop_buttons(query, callbacks.FEEDBACK_PREFIX)


async def reply_not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, voice, stickers, files, locations…: ask for a typed question."""
    language = await user_language(update, context)
    await send_html(update, context, texts.not_text(language))


async def reply_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message: only new messages are read; say so rather than stay silent."""
    language = await user_language(update, context)
    await send_html(update, context, texts.edited(language))


async def reply_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await user_language(update, context)
    await send_html(update, context, texts.unknown_command(language))


async def reply_expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data no handler recognises (an old or forged button): a polite toast."""
    query = update.callback_query
    language = await user_language(update, context)
    log.debug("unknown callback data %r", (query.data or "")[:64])
    await query.answer(texts.expired_button(language))
