"""/forget: delete everything stored about the user, after a confirmation button.

Only the user who taps the button is forgotten (the callback carries no user id), so a
forwarded or forged button can never delete anyone else's data.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from handlers import keyboards, texts
from handlers.common import (
    edit_html,
    forget_dialogue,
    send_html,
    settings_of,
    storage_of,
    user_language,
)
from handlers.escalation import PENDING_QUESTION, desk_of

log = logging.getLogger(__name__)

# Telegram's deleteMessages takes at most 100 message ids.
DELETE_BATCH = 100
# How often the "erasure" job tries again to empty the WAL after an erasure a reader held up.
ERASURE_RETRY_SECONDS = 3


async def ask_to_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: what will be deleted, with "Yes, delete" and "Cancel"."""
    language = await user_language(update, context)
    await send_html(
        update, context, texts.forget_confirm(language), keyboards.forget_keyboard(language)
    )


async def confirm_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Yes, delete" (`fg:yes`) or "Cancel" (`fg:no`); the question becomes the outcome."""
    query = update.callback_query
    language = await user_language(update, context)  # read before it is deleted
    if context.matches[0].group(1) != "yes":
        await query.answer()
        await edit_html(update, context, texts.forget_cancelled(language))
        return
    user_id = query.from_user.id
    if context.user_data:
        context.user_data.pop(PENDING_QUESTION, None)  # a question asked in a group, unsent
    staff_copies = await asyncio.to_thread(desk_of(context).staff_copies_of, user_id)
    complete = await asyncio.to_thread(storage_of(context).forget_user, user_id)
    forget_dialogue(context, user_id)  # the conversation's memory, in memory too
    if complete:
        log.info("a user's data was deleted (/forget)")
    else:
        log.warning(
            "a user's data was deleted; another connection is reading the database, so the "
            "WAL keeps it until a checkpoint can complete (retried every %d s)",
            ERASURE_RETRY_SECONDS,
        )
    await query.answer()
    await edit_html(update, context, texts.forgotten(language))
    await delete_staff_copies(context, staff_copies)


async def delete_staff_copies(context: ContextTypes.DEFAULT_TYPE, message_ids: list[int]) -> None:
    """Best effort: the ticket cards and copied follow-ups in the staff chat. Telegram lets a
    bot delete its messages for 48 hours; older ones stay there (/privacy says so)."""
    staff_chat = settings_of(context).staff_chat_id
    if staff_chat is None or not message_ids:
        return
    for start in range(0, len(message_ids), DELETE_BATCH):
        try:
            await context.bot.delete_messages(staff_chat, message_ids[start : start + DELETE_BATCH])
        except TelegramError as exc:
            log.warning("/forget: could not delete messages in the staff chat: %s", exc)
    log.info("/forget: asked to delete %d message(s) in the staff chat", len(message_ids))


async def complete_erasure(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeating job ("erasure", every ERASURE_RETRY_SECONDS): an erasure (/forget, the daily
    purge) that another connection's open read kept in the WAL (a backup, `faqbot report`) is
    finished as soon as that reader lets go."""
    storage = storage_of(context)
    if storage.erasure_pending and await asyncio.to_thread(storage.complete_erasure):
        log.info("deleted data has left the database's WAL")
