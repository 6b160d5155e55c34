"""The flood limit (`bot/flood.py`) in front of every other handler."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.flood import ALLOW, WARN, FloodLimit
from handlers import texts
from handlers.common import send_html, settings_of, user_language

log = logging.getLogger(__name__)

FLOOD = "flood"  # bot_data key of the FloodLimit


async def limit_flood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Messages beyond a user's limit are not handled: one notice, then silence for the rest
    of the minute. Staff in the staff chat are never limited."""
    message = update.message or update.edited_message
    user = update.effective_user
    if message is None or user is None:
        return
    if message.chat_id == settings_of(context).staff_chat_id:
        return
    limit: FloodLimit = context.bot_data[FLOOD]
    sent_at = message.date.timestamp() if message.date else time.time()
    verdict = limit.check(user.id, sent_at)
    if verdict == ALLOW:
        return
    log.info("update %d not handled: its sender is over the flood limit", update.update_id)
    if verdict == WARN and message.chat.type == "private":
        await send_html(update, context, texts.flooding(await user_language(update, context)))
    raise ApplicationHandlerStop
