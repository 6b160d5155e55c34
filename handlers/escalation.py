"""Questions handed to the team: "Ask the team", /ask, and staff answers routed back.

The ticket is committed (`TicketDesk.escalate`) before the user is told about it; the card in
the staff chat carries the question, who asked, in which language and what the FAQ engine
thought of. Staff answer by replying to the card; the answer reaches the user under a
localized header.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.tickets import Banned, LimitReached, Ticket, TicketDesk, TicketNotFound
from handlers import keyboards, texts
from handlers.common import (
    DESK,
    engine_of,
    send_html,
    settings_of,
    storage_of,
    user_language,
)
from handlers.rules import MAX_QUESTION_LENGTH, TOO_LONG, question_problem, reply_language

log = logging.getLogger(__name__)

MAX_GUESSES = 3


def desk_of(context: ContextTypes.DEFAULT_TYPE) -> TicketDesk:
    return context.bot_data[DESK]


# The user's side ----------------------------------------------------------------------------


async def ask_team(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Ask the team" (`ask:<question id>`): hand that logged question to staff.

    A bare `ask` (no logged question) or a question that is not the user's explains /ask.
    """
    query = update.callback_query
    ui_language = await user_language(update, context)
    question_id = context.matches[0].group(1)
    row = None
    if question_id is not None:
        rows = await asyncio.to_thread(
            storage_of(context).query,
            "SELECT user_id, language, text FROM questions WHERE id = ?",
            (int(question_id),),
        )
        if rows and rows[0]["user_id"] == query.from_user.id:
            row = rows[0]
    await query.answer()
    if row is None:
        await send_html(update, context, texts.ask_usage(ui_language))
        return
    await hand_over(update, context, row["text"], row["language"], ui_language)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question> in a private chat: straight to the team."""
    ui_language = await user_language(update, context)
    text = " ".join(context.args or [])
    problem = question_problem(text)
    if problem == TOO_LONG:
        reply = texts.too_long(ui_language, len(text), MAX_QUESTION_LENGTH)
        await send_html(update, context, reply)
        return
    if problem is not None:
        await send_html(update, context, texts.ask_usage(ui_language))
        return
    language = reply_language(engine_of(context).detect(text, ui_language), ui_language)
    await hand_over(update, context, text, language, ui_language)


async def hand_over(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    language: str,
    ui_language: str,
) -> None:
    """Create the ticket, tell the user, post the card in the staff chat."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    desk = desk_of(context)
    decision = engine_of(context).decide(question, language=language)
    guesses = decision.candidates[:MAX_GUESSES]
    try:
        ticket = await asyncio.to_thread(desk.escalate, user, chat.id, language, question, guesses)
    except Banned:
        await send_html(update, context, texts.ticket_banned(ui_language))
        return
    except LimitReached as exc:
        log.info("ticket refused for user %s: %s", user.id, exc)
        await send_html(update, context, texts.ticket_limit(ui_language))
        return
    log.info("ticket #%d created (%s)", ticket.id, language)

    staff_chat_id = settings_of(context).staff_chat_id
    if staff_chat_id is None:
        notice = await send_html(update, context, texts.team_unreachable(ui_language, ticket.id))
    else:
        notice = await send_html(update, context, texts.ticket_created(ui_language, ticket.id))
    if notice is not None:
        await asyncio.to_thread(desk.record_user_notice, ticket.id, notice.message_id)
    if staff_chat_id is not None:
        await post_card(context, ticket)


async def post_card(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """The ticket card in the staff chat; a failure leaves the ticket open for /open."""
    settings = settings_of(context)
    staff_language = settings.default_language
    card = texts.staff_card(
        staff_language,
        ticket.id,
        ticket.question,
        ticket.user_name,
        ticket.username,
        ticket.language,
        ticket.guesses,
    )
    try:
        message = await context.bot.send_message(
            settings.staff_chat_id,
            card,
            reply_markup=keyboards.staff_card_keyboard(ticket.id, staff_language),
        )
    except TelegramError as exc:
        log.warning("could not post ticket #%d in the staff chat: %s", ticket.id, exc)
        return
    await asyncio.to_thread(desk_of(context).record_staff_message, ticket.id, message.message_id)


# The staff's side ---------------------------------------------------------------------------


async def route_staff_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply in the staff chat to a ticket's message: deliver it to the user.

    Replies to anything else are left to the other handlers.
    """
    message = update.effective_message
    if message is None or message.reply_to_message is None or not message.text:
        return
    desk = desk_of(context)
    ticket = await asyncio.to_thread(
        desk.ticket_for_staff_message, message.reply_to_message.message_id
    )
    if ticket is None:
        return
    staff = update.effective_user
    posted = await asyncio.to_thread(
        desk.add_staff_answer,
        ticket.id,
        staff.id if staff else 0,
        message.text,
        message.message_id,
    )
    try:
        delivered = await context.bot.send_message(
            ticket.chat_id, texts.staff_answer(ticket.language, message.text)
        )
    except Forbidden as exc:
        log.info("answer to ticket #%d not delivered: %s", ticket.id, exc)
        await asyncio.to_thread(desk.flag, ticket.id, str(exc))
        await context.bot.send_message(
            message.chat_id,
            texts.staff_undelivered(settings_of(context).default_language, ticket.id),
            reply_to_message_id=ticket.staff_message_id or message.message_id,
        )
        raise ApplicationHandlerStop from None
    await asyncio.to_thread(
        desk.record_delivery, ticket.id, posted.message.id, delivered.message_id
    )
    raise ApplicationHandlerStop


async def take_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "I take it" under a card: the ticket is assigned to whoever tapped."""
    await _staff_button(update, context, close=False)


async def close_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Close" under a card."""
    await _staff_button(update, context, close=True)


async def _staff_button(update: Update, context: ContextTypes.DEFAULT_TYPE, *, close: bool) -> None:
    query = update.callback_query
    settings = settings_of(context)
    language = settings.default_language
    in_staff_chat = (
        query.message is not None
        and settings.staff_chat_id is not None
        and query.message.chat.id == settings.staff_chat_id
    )
    if not in_staff_chat:
        await query.answer(texts.expired_button(await user_language(update, context)))
        return
    ticket_id = int(context.matches[0].group(1))
    staff = query.from_user
    desk = desk_of(context)
    try:
        if close:
            await asyncio.to_thread(desk.close, ticket_id)
        else:
            await asyncio.to_thread(desk.assign, ticket_id, staff.id, staff.full_name)
    except TicketNotFound:
        await query.answer(texts.expired_button(language))
        return
    await query.answer()
    text = (texts.staff_closed if close else texts.staff_taken)(
        language, ticket_id, staff.full_name
    )
    await context.bot.send_message(
        settings.staff_chat_id, text, reply_to_message_id=query.message.message_id
    )
