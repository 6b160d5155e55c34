"""/topics: browse the FAQ as a menu of topics, then questions, then the answer.

Navigation edits the menu message in place, so the chat does not fill up with menus.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.answering.knowledge import Topic
from handlers import keyboards, texts
from handlers.common import edit_html, engine_of, send_html, user_language


async def show_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: the menu of topics, as a new message."""
    language = await user_language(update, context)
    kb = engine_of(context).kb
    await send_html(
        update, context, texts.topics_menu(language), keyboards.topics_keyboard(kb, language)
    )


async def send_topic(
    update: Update, context: ContextTypes.DEFAULT_TYPE, topic: Topic, language: str
) -> None:
    """The questions of one topic as a new message (deep links from posters land here)."""
    kb = engine_of(context).kb
    await send_html(
        update,
        context,
        texts.topic_menu(topic, language),
        keyboards.topic_keyboard(kb, topic, language),
    )


async def back_to_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Back button (`t`): the menu of topics again, in the same message."""
    await update.callback_query.answer()
    language = await user_language(update, context)
    kb = engine_of(context).kb
    await edit_html(
        update, context, texts.topics_menu(language), keyboards.topics_keyboard(kb, language)
    )


async def open_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic button (`t:<id>`): its questions, in the same message."""
    query = update.callback_query
    language = await user_language(update, context)
    kb = engine_of(context).kb
    topic = kb.topic(context.matches[0].group(1))
    if topic is None:
        await query.answer(texts.expired_button(language))
        return
    await query.answer()
    await edit_html(
        update,
        context,
        texts.topic_menu(topic, language),
        keyboards.topic_keyboard(kb, topic, language),
    )


async def open_menu_entry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A question button in the menu (`e:<id>`): its answer with a Back button, in place."""
    query = update.callback_query
    language = await user_language(update, context)
    entry = engine_of(context).kb.entries.get(context.matches[0].group(1))
    if entry is None:
        await query.answer(texts.expired_button(language))
        return
    await query.answer()
    await edit_html(
        update,
        context,
        texts.answer(entry, language),
        keyboards.menu_entry_keyboard(entry, language),
    )
