"""Questions handed to the team: "Ask the team", /ask, staff answers routed back, follow-ups.

The ticket is committed (`TicketDesk.escalate`) before the user is told about it; the card in
the staff chat carries the question, who asked, in which language and what the FAQ engine
thought of, with one "Answer with" button per guessed FAQ entry. Staff answer by replying to
the card (or to anything else of the ticket in the staff chat), by such a button, or with
`/reply` (see `handlers/staff.py`); the answer reaches the user under a localized header. A
user who replies to a team answer or to the ticket's confirmation adds a follow-up, copied
under the card.

Every staff answer is recorded before it is sent; when it cannot be delivered the ticket is
flagged and staff are told under the card.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, ReplyParameters, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.answering.engine import SMALLTALK
from bot.desk.tickets import (
    Banned,
    LimitReached,
    Posted,
    Ticket,
    TicketDesk,
    TicketNotFound,
)
from bot.formatting import split_html
from handlers import keyboards, texts
from handlers.common import (
    DESK,
    engine_of,
    is_staff,
    refuse_non_question,
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


def staff_language(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Staff read the bot in the default language."""
    return settings_of(context).default_language


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
    if await refuse_non_question(update, context, text, ui_language, texts.ask_usage(ui_language)):
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
    """Create the ticket, tell the user, post the card in the staff chat.

    A banned user, or one over the limits, is told politely and nothing reaches staff.
    """
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
        log.info("ticket refused: %s", exc)  # no user id at INFO
        await send_html(update, context, texts.ticket_limit(ui_language, exc.kind, exc.retry_after))
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


async def route_user_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user's reply to a message of their ticket (a team answer, the confirmation…): a
    follow-up, copied under the ticket card; the user is told it was passed on.

    Replies to anything else, or to another user's ticket, are left to the other handlers.
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or message.reply_to_message is None or not message.text or user is None:
        return
    desk = desk_of(context)
    ticket = await asyncio.to_thread(
        desk.ticket_for_user_message, message.chat_id, message.reply_to_message.message_id
    )
    if ticket is None or ticket.user_id != user.id:
        return
    ui_language = await user_language(update, context)
    if question_problem(message.text) == TOO_LONG:
        reply = texts.too_long(ui_language, len(message.text), MAX_QUESTION_LENGTH)
        await send_html(update, context, reply)
        raise ApplicationHandlerStop
    # A plain "thank you" is passed on too, but does not put the ticket back in the queue.
    decision = engine_of(context).decide(message.text, language=ticket.language)
    try:
        posted = await asyncio.to_thread(
            desk.add_user_followup,
            ticket.id,
            message.text,
            message.message_id,
            reopen=decision.status != SMALLTALK,
        )
    except Banned:
        await send_html(update, context, texts.ticket_banned(ui_language))
        raise ApplicationHandlerStop from None
    except (TicketNotFound, ValueError):  # deleted meanwhile, or nothing but blanks
        return
    log.info("follow-up on ticket #%d", ticket.id)

    if settings_of(context).staff_chat_id is None:
        notice = await send_html(update, context, texts.team_unreachable(ui_language, ticket.id))
    else:
        copy = await post_under_ticket(
            context,
            posted.ticket,
            texts.staff_followup(staff_language(context), ticket, posted.message.text),
        )
        if copy is not None:
            await asyncio.to_thread(desk.record_staff_copy, posted.message.id, copy.message_id)
        notice = await send_html(update, context, texts.followup_sent(ui_language, ticket.id))
    if notice is not None:
        await asyncio.to_thread(desk.record_user_notice, ticket.id, notice.message_id)
    raise ApplicationHandlerStop


# Posting in the staff chat ------------------------------------------------------------------


async def send_to_staff(
    context: ContextTypes.DEFAULT_TYPE,
    html: str,
    reply_to: int | None = None,
    reply_markup=None,
) -> Message | None:
    """Post `html` in the staff chat (split if needed; the keyboard and the reply go with the
    last part, which is returned). A failure is logged: staff tools must not crash the bot."""
    staff_chat_id = settings_of(context).staff_chat_id
    if staff_chat_id is None:
        return None
    parts = split_html(html)
    message = None
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            reply = (
                ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to is not None and i == 0
                else None
            )
            message = await context.bot.send_message(
                staff_chat_id,
                part,
                reply_parameters=reply,
                reply_markup=reply_markup if last else None,
            )
    except TelegramError as exc:
        log.warning("could not post in the staff chat: %s", exc)
        return None
    return message


async def post_under_ticket(
    context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, html: str, fallback: int | None = None
) -> Message | None:
    """Post `html` in the staff chat as a reply to the ticket's latest card (or `fallback`)."""
    return await send_to_staff(context, html, reply_to=ticket.staff_message_id or fallback)


async def post_card(
    context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, html: str | None = None
) -> Message | None:
    """The ticket card in the staff chat (`html`: another text for it, e.g. `/ticket`'s); a
    failure leaves the ticket open for /open and the digest."""
    language = staff_language(context)
    card = html or texts.staff_card(language, ticket)
    markup = keyboards.staff_card_keyboard(
        ticket.id, language, engine_of(context).kb, ticket.guesses
    )
    message = await send_to_staff(context, card, reply_markup=markup)
    if message is None:
        log.warning("ticket #%d has no card in the staff chat", ticket.id)
        return None
    await asyncio.to_thread(desk_of(context).record_staff_message, ticket.id, message.message_id)
    return message


async def post_missing_cards(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Once, at start: a card for every open ticket that has none (`context.job.data`: when the
    application was built; later tickets are this process's own). The user was told "ticket
    #N" before the card was posted: a `kill -9` in between, or a staff chat that could not be
    reached, would otherwise leave staff to meet that ticket in the digest, a day later."""
    started = context.job.data if context.job else None
    tickets = await asyncio.to_thread(desk_of(context).open_tickets)
    for ticket in tickets:
        if ticket.staff_message_id is None and (started is None or ticket.created_at < started):
            log.info("ticket #%d has no card yet: posting it", ticket.id)
            await post_card(context, ticket)


# Delivering staff answers -------------------------------------------------------------------


async def deliver(
    context: ContextTypes.DEFAULT_TYPE, posted: Posted, html: str, fallback: int | None = None
) -> bool:
    """Send a recorded staff answer to the user and record where it arrived.

    When it cannot be delivered (the user blocked the bot, or Telegram still fails after the
    rate limiter's retries) the ticket is flagged and staff are told under the card
    (`fallback`: the message to reply to when the ticket has no card).
    """
    ticket = posted.ticket
    desk = desk_of(context)
    language = staff_language(context)
    try:
        delivered = None
        for part in split_html(html):
            delivered = await context.bot.send_message(ticket.chat_id, part)
    except Forbidden as exc:
        log.info("answer to ticket #%d not delivered: %s", ticket.id, exc)
        reason, notice = str(exc), texts.staff_undelivered(language, ticket.id)
    except TelegramError as exc:
        log.warning("answer to ticket #%d not delivered: %s", ticket.id, exc)
        reason = str(exc) or type(exc).__name__
        notice = texts.staff_delivery_failed(language, ticket.id, reason)
    else:
        await asyncio.to_thread(
            desk.record_delivery, ticket.id, posted.message.id, delivered.message_id
        )
        return True
    await asyncio.to_thread(desk.flag, ticket.id, reason)
    await post_under_ticket(context, ticket, notice, fallback)
    return False


async def route_staff_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply in the staff chat to a ticket's message: deliver it to the user.

    Replies to anything else, and replies by people who are not staff (STAFF_USER_IDS), are
    left to the other handlers.
    """
    message = update.effective_message
    # A blank reply (spaces only) has nothing to deliver.
    if message is None or message.reply_to_message is None or not (message.text or "").strip():
        return
    if not is_staff(update, context):
        return
    desk = desk_of(context)
    ticket = await asyncio.to_thread(
        desk.ticket_for_staff_message, message.reply_to_message.message_id
    )
    if ticket is None:
        return
    staff = update.effective_user
    posted = await asyncio.to_thread(
        desk.add_staff_answer, ticket.id, staff.id, message.text, message.message_id
    )
    html = texts.staff_answer(ticket.language, message.text)
    await deliver(context, posted, html, fallback=message.message_id)
    raise ApplicationHandlerStop


# Staff buttons under a card -----------------------------------------------------------------


async def take_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "I take it" under a card: the ticket is assigned to whoever tapped."""
    await _staff_button(update, context, close=False)


async def close_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Close" under a card."""
    await _staff_button(update, context, close=True)


async def _staff_button(update: Update, context: ContextTypes.DEFAULT_TYPE, *, close: bool) -> None:
    query = update.callback_query
    if not is_staff(update, context):
        await query.answer()  # stop the spinner; nothing else for someone who is not staff
        return
    language = staff_language(context)
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
    await send_to_staff(context, text, reply_to=query.message.message_id)


async def answer_with_entry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Answer with: …" under a card (`fa:<ticket>:<entry>`): that FAQ answer goes to the
    user in the ticket's language, in one tap; the ticket becomes answered."""
    query = update.callback_query
    if not is_staff(update, context):
        await query.answer()
        return
    language = staff_language(context)
    ticket_id, entry_id = context.matches[0].groups()
    entry = engine_of(context).kb.entries.get(entry_id)
    desk = desk_of(context)
    ticket = await asyncio.to_thread(desk.get, int(ticket_id))
    if entry is None or ticket is None:
        await query.answer(texts.expired_button(language))
        return
    staff = query.from_user
    posted = await asyncio.to_thread(
        desk.add_staff_answer, ticket.id, staff.id, entry.answers[ticket.language], None
    )
    await query.answer()
    log.info("ticket #%d answered with FAQ entry %s", ticket.id, entry.id)
    if not await deliver(context, posted, texts.staff_faq_answer(ticket.language, entry)):
        return
    confirmation = await send_to_staff(
        context,
        texts.staff_answered_with_entry(
            language, ticket.id, staff.full_name, entry.title(language)
        ),
        reply_to=query.message.message_id,
    )
    if confirmation is not None:  # a reply to the confirmation answers the same ticket
        await asyncio.to_thread(desk.record_staff_copy, posted.message.id, confirmation.message_id)
