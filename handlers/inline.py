"""Inline mode: `@bot KMØ` in any chat offers up to five FAQ answers in the query's language.

Each result is an article with the entry's question as its title and its answer as the
message, under which an "Open the assistant" button deep-links to that entry in the bot
(`https://t.me/<bot>?start=e-<id>`). An empty or very short query offers the topics instead
(each a list of its questions, its button opening the topic); a query the FAQ has nothing
for gets no result, only the "Open the assistant" button above the results, which Telegram
shows in every case.

Telegram sends a query at nearly every keystroke, so queries are neither stored in the
question log nor counted as questions; they are logged like questions (outcome, entry,
language; what was typed only at DEBUG). Results are cached by Telegram for
`CACHE_SECONDS`, for everyone who types the same text, unless they depend on the user's own
language (an empty query, or one whose language is not clear): then only for that user.

Inline mode is switched on with @BotFather (`/setinline`, see the README).
"""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import links
from bot.answering.conversation import reply_language
from bot.answering.engine import ANSWER, SUGGEST, Decision, Engine
from bot.answering.knowledge import Entry, KnowledgeBase, Topic
from bot.answering.text import fold
from bot.formatting import MESSAGE_LIMIT, escape
from bot.i18n import LANGUAGES
from handlers import texts
from handlers.common import engine_of, user_language

log = logging.getLogger(__name__)

MAX_RESULTS = 5
#: Queries shorter than this (letters and digits, folded) offer the topics.
MIN_QUERY_CHARS = 3
CACHE_SECONDS = 300
DESCRIPTION_CHARS = 100
TOPICS = "topics"  # the outcome logged for an empty or short query


def entries_for(decision: Decision, engine: Engine) -> list[str]:
    """Up to MAX_RESULTS entry ids for a query: the answer or the suggestions first, then the
    other candidates that score at least the suggestion threshold."""
    chosen: list[str] = []
    if decision.status == ANSWER and decision.faq_id:
        chosen.append(decision.faq_id)
    if decision.status in (ANSWER, SUGGEST):
        floor = engine.thresholds.suggest
        chosen += [c.faq_id for c in decision.suggestions]
        chosen += [c.faq_id for c in decision.candidates if c.score >= floor]
    unique = [e for i, e in enumerate(chosen) if e in engine.kb.entries and e not in chosen[:i]]
    return unique[:MAX_RESULTS]


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= DESCRIPTION_CHARS:
        return flat
    return flat[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _open_button(language: str, username: str, payload: str) -> InlineKeyboardMarkup:
    url = links.deep_link(username, payload)
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.open_assistant(language), url=url)]])


def entry_result(entry: Entry, language: str, username: str) -> InlineQueryResultArticle:
    title, answer = entry.title(language), entry.answers[language]
    # One message, as in the chat; an answer near the limit (faqbot check allows 4096) alone.
    fits = len(title) + 2 + len(answer) <= MESSAGE_LIMIT
    text = texts.answer(entry, language) if fits else escape(answer)
    return InlineQueryResultArticle(
        id=entry.id,
        title=title,
        description=_snippet(answer),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        reply_markup=_open_button(language, username, links.entry_payload(entry.id)),
    )


def topic_result(
    kb: KnowledgeBase, topic: Topic, language: str, username: str
) -> InlineQueryResultArticle:
    titles = [kb.entries[e].title(language) for e in topic.entry_ids if e in kb.entries]
    return InlineQueryResultArticle(
        id=links.topic_payload(topic.id),
        title=topic.names[language],
        description=_snippet(" · ".join(titles)),
        input_message_content=InputTextMessageContent(
            texts.inline_topic(topic, titles, language), parse_mode=ParseMode.HTML
        ),
        reply_markup=_open_button(language, username, links.topic_payload(topic.id)),
    )


async def answer_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline query: matching answers, the topics, or nothing but the button."""
    query = update.inline_query
    text = " ".join(query.query.split())
    preferred = await user_language(update, context)
    engine = engine_of(context)
    kb = engine.kb
    username = context.bot.username
    log.debug("inline query from %s: %r", query.from_user.id, text)
    if len(fold(text).replace(" ", "")) < MIN_QUERY_CHARS:
        language, personal, outcome, faq_id = preferred, True, TOPICS, None
        results = [topic_result(kb, t, language, username) for t in kb.topics]
    else:
        guess = engine.detect(text, preferred)
        language = reply_language(guess, preferred)
        # Cached for everyone only when every user would get this same language.
        personal = any(reply_language(guess, other) != language for other in LANGUAGES)
        decision = engine.decide(text, language=language, default_language=preferred)
        ids = entries_for(decision, engine)
        outcome, faq_id = decision.status, decision.faq_id or (ids[0] if ids else None)
        results = [entry_result(kb.entries[e], language, username) for e in ids]
    log.info(
        "inline query: %s %s, %d result(s) (%s)",
        outcome,
        faq_id or "-",
        len(results),
        language,
        extra={
            "outcome": outcome,
            "faq_id": faq_id,
            "results": len(results),
            "language": language,
        },
    )
    try:
        await query.answer(
            results,
            cache_time=CACHE_SECONDS,
            is_personal=personal,
            button=InlineQueryResultsButton(
                texts.open_assistant(language), start_parameter=links.INLINE_PAYLOAD
            ),
        )
    except BadRequest as exc:
        if "too old" not in exc.message.lower():
            raise
        # The user typed on, or the query waited in the inbox over a restart: nobody waits.
        log.debug("inline query answered too late: %s", exc)
