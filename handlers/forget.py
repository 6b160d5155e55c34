"""/forget: delete everything stored about the user, after a confirmation button.

Only the user who taps the button is forgotten (the callback carries no user id), so a
forwarded or forged button can never delete anyone else's data.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ContextTypes

from handlers import keyboards, texts
from handlers.common import edit_html, send_html, storage_of, user_language

log = logging.getLogger(__name__)


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
    complete = await asyncio.to_thread(storage_of(context).forget_user, user_id)
    if complete:
        log.info("a user's data was deleted (/forget)")
    else:
        log.warning("a user's data was deleted; the WAL keeps it until the next checkpoint")
    await query.answer()
    await edit_html(update, context, texts.forgotten(language))
