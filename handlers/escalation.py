"""Questions handed to the team: "Ask the team", /ask, staff answers routed back, follow-ups.

The ticket is committed (`TicketDesk.escalate`) before the user is told about it; the card in
the staff chat carries the question, who asked, in which language and what the FAQ engine
thought of, with one "Answer with" button per guessed FAQ entry. Staff answer by replying to
the card (or to anything else of the ticket in the staff chat), by such a button, or with
`/reply` (see `handlers/staff.py`); the answer reaches the user under a localized header. A
user who replies to a team answer or to the ticket's confirmation adds a follow-up, copied
under the card.

Every card, copy and staff answer is recorded in the outbox in the transaction that records
the ticket change, then sent (`handlers/delivery.py`): nothing owed is lost to a crash or an
outage. When an answer cannot be delivered the ticket is flagged, stays in /open, and staff are
told under the card; when it is delivered, staff see a confirmation.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.answering.engine import SMALLTALK
from bot.desk.tickets import (
    AlreadyFiled,
    Banned,
    LimitReached,
    Ticket,
    TicketDesk,
    TicketNotFound,
)
from bot.formatting import split_html
from bot.store import outbox
from bot.store.outbox import Owed
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
from handlers.delivery import PENDING, owed_message, retry_owed, send_item, send_owed
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
    await hand_over(
        update, context, row["text"], row["language"], ui_language, source=f"q:{question_id}"
    )


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question> in a private chat: straight to the team."""
    ui_language = await user_language(update, context)
    text = " ".join(context.args or [])
    if await refuse_non_question(update, context, text, ui_language, texts.ask_usage(ui_language)):
        return
    language = reply_language(engine_of(context).detect(text, ui_language), ui_language)
    await hand_over(update, context, text, language, ui_language, source=f"u:{update.update_id}")


async def hand_over(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    language: str,
    ui_language: str,
    source: str | None = None,
    asked_in: str | None = None,
) -> None:
    """Create the ticket (with its card in the outbox), tell the user, send the card.

    A banned user, or one over the limits, is told politely and nothing reaches staff. A
    question already filed from the same `source` is not filed again: the user is reminded
    of its ticket (and may reply to the reminder as to the confirmation). Asked in a group,
    all of it happens in the user's private chat (see `private_chat`).
    """
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    to = await private_chat(update, context, question, language, ui_language, asked_in)
    if to is None:
        return
    desk = desk_of(context)
    decision = engine_of(context).decide(question, language=language)
    guesses = decision.candidates[:MAX_GUESSES]
    staff_chat_id = settings_of(context).staff_chat_id
    card = None if staff_chat_id is None else (lambda ticket: card_owed(context, ticket))
    try:
        ticket = await asyncio.to_thread(
            desk.escalate,
            user,
            to.chat_id,
            language,
            question,
            guesses,
            to.asked_in,
            source=source,
            card=card,
        )
    except AlreadyFiled as exc:
        # Like the confirmation, a reply to this reminder is a follow-up on the ticket (also
        # the one message about it a user may get: the request handled again after a crash).
        already = texts.already_filed(ui_language, exc.ticket.id)
        notice = await send_html(update, context, already, chat_id=to.chat_id)
        if notice is not None:
            await asyncio.to_thread(desk.record_user_notice, exc.ticket.id, notice.message_id)
        return
    except Banned:
        await send_html(update, context, texts.ticket_banned(ui_language), chat_id=to.chat_id)
        return
    except LimitReached as exc:
        log.info("ticket refused: %s", exc)  # no user id at INFO
        refusal = texts.ticket_limit(ui_language, exc.kind, exc.retry_after)
        await send_html(update, context, refusal, chat_id=to.chat_id)
        return
    log.info("ticket #%d created (%s)", ticket.id, language)

    if staff_chat_id is None:
        notice = texts.team_unreachable(ui_language, ticket.id)
    else:
        notice = texts.ticket_created(ui_language, ticket.id)
    notice = await send_html(update, context, notice, chat_id=to.chat_id)
    if notice is not None:
        await asyncio.to_thread(desk.record_user_notice, ticket.id, notice.message_id)
    if staff_chat_id is not None:
        await send_owed(context.application, staff_chat_id)


def card_owed(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> Owed:
    """The ticket's card, as the outbox keeps it until it is in the staff chat."""
    language = staff_language(context)
    markup = keyboards.staff_card_keyboard(
        ticket.id, language, engine_of(context).kb, ticket.guesses
    )
    return owed_message(
        outbox.CARD,
        settings_of(context).staff_chat_id,
        texts.staff_card(language, ticket),
        language,
        ticket_id=ticket.id,
        markup=markup,
    )


# Asked in a group: the team's side of it stays private -----------------------------------

#: `https://t.me/<bot>?start=ask`: the link a group member gets to open a private chat.
ASK_PAYLOAD = "ask"
#: `context.user_data` key: the question asked in a group, until that private chat is opened
#: (memory only; /forget drops it).
PENDING_QUESTION = "pending_question"


@dataclass(frozen=True)
class PrivateChat:
    """Where a ticket's messages go (the user's private chat), and the group it came from."""

    chat_id: int
    asked_in: str | None


async def private_chat(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    language: str,
    ui_language: str,
    asked_in: str | None = None,
) -> PrivateChat | None:
    """The user's private chat for a ticket: a group's members must never read the team's
    answer, nor the user's ticket. Asked in a group, the bot writes to the user privately and
    tells the group so; a user who never opened a private chat with the bot (Telegram
    refuses: Forbidden) gets a link in the group that opens one (`/start ask`, see
    `ask_pending`), and no ticket is created until then (None)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat.type == ChatType.PRIVATE:
        return PrivateChat(chat.id, asked_in)
    title = chat.title or ""
    try:
        await context.bot.send_message(user.id, texts.asked_in_group(ui_language, title, question))
    except (Forbidden, BadRequest) as exc:
        if isinstance(exc, BadRequest) and "chat not found" not in exc.message.lower():
            raise
        log.info("asked in a group, no private chat yet: %s", exc)
        context.user_data[PENDING_QUESTION] = (question, language, title)
        link = f"https://t.me/{context.bot.username}?start={ASK_PAYLOAD}"
        await send_html(
            update, context, texts.open_private_chat(ui_language, user.first_name, link)
        )
        return None
    await send_html(update, context, texts.written_privately(ui_language, user.first_name))
    return PrivateChat(user.id, title)


async def ask_pending(update: Update, context: ContextTypes.DEFAULT_TYPE, ui_language: str) -> None:
    """`/start ask` in a private chat (the group's link): the question asked in the group
    goes to the team now; without one, how to use /ask."""
    pending = context.user_data.pop(PENDING_QUESTION, None) if context.user_data else None
    chat = update.effective_chat
    if pending is None or chat is None or chat.type != ChatType.PRIVATE:
        await send_html(update, context, texts.ask_usage(ui_language))
        return
    question, language, title = pending
    await send_html(update, context, texts.asked_in_group(ui_language, title, question))
    source = f"u:{update.update_id}"
    await hand_over(update, context, question, language, ui_language, source, asked_in=title)


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
    staff_chat_id = settings_of(context).staff_chat_id
    language = staff_language(context)

    def copy(posted) -> Owed:
        return owed_message(
            outbox.FOLLOWUP,
            staff_chat_id,
            texts.staff_followup(language, posted.ticket, posted.message.text),
            language,
            ticket_id=ticket.id,
            ticket_message_id=posted.message.id,
            under_card=True,
        )

    try:
        await asyncio.to_thread(
            desk.add_user_followup,
            ticket.id,
            message.text,
            message.message_id,
            reopen=decision.status != SMALLTALK,
            copy=copy if staff_chat_id is not None else None,
        )
    except Banned:
        await send_html(update, context, texts.ticket_banned(ui_language))
        raise ApplicationHandlerStop from None
    except (TicketNotFound, ValueError):  # deleted meanwhile, or nothing but blanks
        return
    log.info("follow-up on ticket #%d", ticket.id)

    if staff_chat_id is None:
        notice = await send_html(update, context, texts.team_unreachable(ui_language, ticket.id))
    else:
        await send_owed(context.application, staff_chat_id)
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
    """Once, at start: a card in the outbox for every open ticket that has none, neither in
    the staff chat nor on its way (tickets filed before the outbox existed, or while no staff
    chat was set), then everything owed is sent (`retry_owed`)."""
    desk = desk_of(context)
    for ticket in await asyncio.to_thread(desk.tickets_without_card):
        log.info("ticket #%d has no card yet: posting it", ticket.id)
        await asyncio.to_thread(desk.outbox.enqueue, card_owed(context, ticket))
    await retry_owed(context)


# Delivering staff answers -------------------------------------------------------------------


async def deliver_answer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    ticket: Ticket,
    text: str,
    html: str,
    staff_message_id: int | None,
    *,
    copy_of: tuple[int, int] | None = None,
    reply_to: int | None = None,
    confirmation: str | None = None,
) -> str:
    """Record a staff answer with the message owed to the user, send it, and say how it went
    (`SENT`, `FAILED`, `PENDING`). Staff see the outcome under their message (or the card):
    a confirmation when it arrives, the reason when Telegram refuses it, and a note when it
    waits for Telegram (it is sent again automatically and the ticket stays in /open).
    `copy_of`: (chat, message) to copy instead of sending `html`, which is then its caption
    (a photo or document from staff); `reply_to`: the message in the user's chat it answers.
    """
    staff = update.effective_user
    confirm_to = update.effective_message.message_id if update.effective_message else None

    def owed(posted) -> Owed:
        return owed_message(
            outbox.ANSWER,
            ticket.chat_id,
            html,
            ticket.language,
            ticket_id=ticket.id,
            ticket_message_id=posted.message.id,
            confirm_to=confirm_to,
            copy_of=copy_of,
            reply_to=reply_to,
            confirmation=confirmation,
        )

    posted = await asyncio.to_thread(
        desk_of(context).add_staff_answer, ticket.id, staff.id, text, staff_message_id, owed
    )
    outcome = await send_item(context.application, posted.outbox_id)
    if outcome == PENDING:
        notice = texts.staff_delivery_pending(staff_language(context), ticket.id)
        await post_under_ticket(context, ticket, notice, confirm_to)
    return outcome


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
    html = texts.staff_answer(ticket.language, message.text)
    await deliver_answer(update, context, ticket, message.text, html, message.message_id)
    raise ApplicationHandlerStop


# What staff can pass on to the user, besides text.
MEDIA = ("photo", "document", "video", "voice", "audio", "animation", "video_note")


async def route_staff_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to a ticket's message with a photo, a document, a video, a voice or audio
    message: copied to the user under the team's header (the caption kept). Anything else
    (a sticker, a poll, a location) is not passed on, and staff are told so."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or not is_staff(update, context):
        return
    desk = desk_of(context)
    ticket = await asyncio.to_thread(
        desk.ticket_for_staff_message, message.reply_to_message.message_id
    )
    if ticket is None:
        return
    kind = next((k for k in MEDIA if getattr(message, k, None)), None)
    if kind is None:
        await send_to_staff(
            context, texts.staff_not_deliverable(staff_language(context)), message.message_id
        )
        raise ApplicationHandlerStop
    caption = (message.caption or "").strip()
    html = texts.staff_answer(ticket.language, caption).rstrip()
    await deliver_answer(
        update,
        context,
        ticket,
        caption or f"[{kind}]",
        html,
        message.message_id,
        copy_of=(message.chat_id, message.message_id),
    )
    raise ApplicationHandlerStop


async def route_staff_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A staff answer edited after it was sent: the new text goes to the user as a correction,
    under the answer it corrects. Edits of anything else change nothing."""
    message = update.edited_message
    if message is None or not (message.text or "").strip() or not is_staff(update, context):
        return
    desk = desk_of(context)
    found = await asyncio.to_thread(desk.staff_answer_at, message.message_id)
    if found is None:
        return
    ticket, original = found
    html = texts.staff_correction(ticket.language, message.text)
    await deliver_answer(
        update, context, ticket, message.text, html, None, reply_to=original.user_chat_message_id
    )
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
    await query.answer()
    log.info("ticket #%d answered with FAQ entry %s", ticket.id, entry.id)
    html = texts.staff_faq_answer(ticket.language, entry)
    confirmation = texts.staff_answered_with_entry(
        language, ticket.id, staff.full_name, entry.title(language)
    )
    await deliver_answer(
        update,
        context,
        ticket,
        entry.answers[ticket.language],
        html,
        None,
        confirmation=confirmation,
    )
