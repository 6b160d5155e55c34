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
import functools
import html
import logging
import re
from dataclasses import dataclass

from telegram import ForceReply, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.answering.conversation import reply_language
from bot.answering.engine import SMALLTALK
from bot.answering.knowledge import LANGUAGES
from bot.desk import learning
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
from handlers import callbacks, keyboards, texts
from handlers.common import (
    DESK,
    ENGINE,
    SETTINGS,
    engine_of,
    is_staff,
    refuse_non_question,
    send_html,
    settings_of,
    storage_of,
    user_language,
)
from handlers.delivery import (
    CARD_RENDERER,
    FAILED,
    PENDING,
    owed_message,
    retry_owed,
    send_item,
    send_owed,
)
from handlers.rules import MAX_QUESTION_LENGTH, TOO_LONG, question_problem

log = logging.getLogger(__name__)

MAX_GUESSES = 3


def desk_of(context: ContextTypes.DEFAULT_TYPE) -> TicketDesk:
    return context.bot_data[DESK]


def staff_language(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Staff read the bot in the default language."""
    return settings_of(context).default_language


# The user's side ----------------------------------------------------------------------------


#: How far back a bare "Ask the team" (under an answer reached by a suggestion or a related
#: question) looks for the user's own last question.
LAST_QUESTION_WINDOW = 6 * 3600.0
#: `context.user_data` key: a bare /ask is waiting for its question (memory only).
AWAITING_QUESTION = "awaiting_question"


async def ask_team(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Ask the team" (`ask:<question id>`): hand that logged question, the user's own
    words, to staff, with what the bot had replied. A bare `ask` (under an answer reached
    by a suggestion or a related question) hands over the user's own last question; with
    none, the bot asks for the question (a ForceReply prompt)."""
    query = update.callback_query
    ui_language = await user_language(update, context)
    question_id = context.matches[0].group(1)
    storage = storage_of(context)
    row = None
    if question_id is not None:
        rows = await asyncio.to_thread(
            storage.query,
            "SELECT id, user_id, language, text, status, faq_id FROM questions WHERE id = ?",
            (int(question_id),),
        )
        if rows and rows[0]["user_id"] == query.from_user.id:
            row = rows[0]
    else:
        rows = await asyncio.to_thread(
            storage.query,
            "SELECT id, user_id, language, text, status, faq_id FROM questions"
            " WHERE user_id = ? AND created_at >= ? ORDER BY id DESC LIMIT 1",
            (query.from_user.id, desk_of(context).now() - LAST_QUESTION_WINDOW),
        )
        row = rows[0] if rows else None
    await query.answer()
    if row is None:
        await ask_for_question(update, context, ui_language)
        return
    # The entry the tapped message shows (its 👍/👎 buttons name it), if it shows one.
    shown = _entry_of_message(query.message) or (
        row["faq_id"] if row["status"] == "answer" else None
    )
    reply = {"status": row["status"], "shown": shown, "suggested": []}
    await hand_over(
        update,
        context,
        row["text"],
        row["language"],
        ui_language,
        source=f"q:{row['id']}",
        bot_reply=reply,
    )


def _entry_of_message(message) -> str | None:
    """The FAQ entry an answer message shows: the one its feedback buttons vote on."""
    markup = getattr(message, "reply_markup", None) if message is not None else None
    for data in keyboards.callback_data(markup):
        if data.startswith(callbacks.FEEDBACK_PREFIX):
            return data.rsplit(":", 1)[-1]
    return None


async def ask_for_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, ui_language: str
) -> None:
    """A ForceReply prompt; the user's next message (its reply) becomes the ticket."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await send_html(update, context, texts.ask_usage(ui_language))
        return
    context.user_data[AWAITING_QUESTION] = True
    await context.bot.send_message(
        chat.id,
        texts.ask_prompt(ui_language),
        reply_markup=ForceReply(input_field_placeholder=None),
    )


def _is_ask_prompt(message: Message | None, bot_id: int) -> bool:
    if message is None or message.from_user is None or message.from_user.id != bot_id:
        return False
    return message.text in {html.unescape(texts.ask_prompt(lang)) for lang in LANGUAGES}


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question> in a private chat: straight to the team; a bare /ask asks for it."""
    ui_language = await user_language(update, context)
    text = " ".join(context.args or [])
    if not text.strip():
        await ask_for_question(update, context, ui_language)
        return
    if await refuse_non_question(update, context, text, ui_language, texts.ask_usage(ui_language)):
        return
    language = reply_language(engine_of(context).detect(text, ui_language), ui_language)
    await hand_over(update, context, text, language, ui_language, source=f"u:{update.update_id}")


async def route_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before the conversation: the question a bare /ask asked for (the reply to its prompt,
    or the next message) goes to the team; a reply to a ticket's message is a follow-up."""
    message = update.effective_message
    awaiting = context.user_data.get(AWAITING_QUESTION) if context.user_data else None
    prompt = message is not None and _is_ask_prompt(message.reply_to_message, context.bot.id)
    chat = update.effective_chat
    if (awaiting or prompt) and chat is not None and chat.type == ChatType.PRIVATE:
        context.user_data.pop(AWAITING_QUESTION, None)
        text = message.text or ""
        ui_language = await user_language(update, context)
        if not await refuse_non_question(
            update, context, text, ui_language, texts.ask_usage(ui_language)
        ):
            language = reply_language(engine_of(context).detect(text, ui_language), ui_language)
            source = f"u:{update.update_id}"
            await hand_over(update, context, text, language, ui_language, source=source)
        raise ApplicationHandlerStop
    if message is not None and message.reply_to_message is not None:
        await route_user_reply(update, context)


async def hand_over(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    language: str,
    ui_language: str,
    source: str | None = None,
    asked_in: str | None = None,
    bot_reply: dict | None = None,
) -> Ticket | None:
    """Create the ticket (with its card in the outbox), tell the user (with when to expect
    an answer, outside office hours), send the card; the ticket (None: not filed now).

    A banned user, or one over the limits, is told politely and nothing reaches staff. A
    question already filed from the same `source` is not filed again: the user is reminded
    of its ticket (and may reply to the reminder as to the confirmation). Asked in a group,
    all of it happens in the user's private chat (see `private_chat`).
    """
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    to = await private_chat(update, context, question, language, ui_language, asked_in)
    if to is None:
        return None
    desk = desk_of(context)
    decision = engine_of(context).decide(question, language=language)
    guesses = decision.candidates[:MAX_GUESSES]
    if bot_reply is None:
        bot_reply = {"status": decision.status, "shown": None, "suggested": []}
    if bot_reply.get("status") == "suggest" and not bot_reply.get("suggested"):
        bot_reply["suggested"] = [c.faq_id for c in decision.suggestions]
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
            bot_reply=bot_reply,
        )
    except AlreadyFiled as exc:
        if source == f"u:{update.update_id}" and await asyncio.to_thread(
            desk.user_was_told, exc.ticket.id
        ):
            return None  # this very update handled again after a crash: its answer was sent
        # Like the confirmation, a reply to this reminder is a follow-up on the ticket (also
        # the one message about it a user may get: the request handled again after a crash
        # that came before the confirmation).
        already = texts.already_filed(ui_language, exc.ticket.id)
        notice = await send_html(update, context, already, chat_id=to.chat_id)
        if notice is not None:
            await asyncio.to_thread(desk.record_user_notice, exc.ticket.id, notice.message_id)
        return None
    except Banned:
        await send_html(update, context, texts.ticket_banned(ui_language), chat_id=to.chat_id)
        return None
    except LimitReached as exc:
        log.info("ticket refused: %s", exc)  # no user id at INFO
        refusal = texts.ticket_limit(ui_language, exc.kind, exc.retry_after)
        await send_html(update, context, refusal, chat_id=to.chat_id)
        return None
    log.info("ticket #%d created (%s)", ticket.id, language)

    if staff_chat_id is None:
        notice = texts.team_unreachable(ui_language, ticket.id)
    else:
        notice = texts.ticket_created(ui_language, ticket.id)
        expected = expected_answer(context, ui_language, ticket.created_at)
        if expected:
            notice += "\n\n" + expected
    notice = await send_html(update, context, notice, chat_id=to.chat_id)
    if notice is not None:
        await asyncio.to_thread(desk.record_user_notice, ticket.id, notice.message_id)
    if staff_chat_id is not None:
        await send_owed(context.application, staff_chat_id)
    return ticket


def expected_answer(context: ContextTypes.DEFAULT_TYPE, language: str, at: float) -> str | None:
    """Outside office hours: when the team answers ("arrived on Saturday: from Monday 9:00")."""
    office = settings_of(context).office
    if office.is_open(at):
        return None
    return texts.ticket_expected(language, office.local(at), office.next_opening(at))


def render_card(bot_data, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup]:
    """The ticket's card as it is now: its text and its buttons (the living card)."""
    settings = bot_data[SETTINGS]
    language = settings.default_language
    kb = bot_data[ENGINE].kb
    html = texts.staff_card(language, ticket, kb=kb, zone=settings.office.zone)
    if ticket.is_closed:
        markup = keyboards.staff_card_keyboard(ticket.id, language)
        markup = keyboards.without_buttons(markup, "tx:")
    else:
        markup = keyboards.staff_card_keyboard(ticket.id, language, kb, ticket.guesses)
    return html, markup


def card_owed(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> Owed:
    """The ticket's card, as the outbox keeps it until it is in the staff chat (rendered
    again when it leaves, see `delivery.CARD_RENDERER`)."""
    html, markup = render_card(context.bot_data, ticket)
    return owed_message(
        outbox.CARD,
        settings_of(context).staff_chat_id,
        html,
        staff_language(context),
        ticket_id=ticket.id,
        markup=markup,
    )


def card_edit_owed(bot_data, ticket: Ticket) -> Owed | None:
    """The edit of a ticket's card after a change (`TicketDesk.card_edit`)."""
    settings = bot_data[SETTINGS]
    if settings.staff_chat_id is None:
        return None
    payload = {"language": settings.default_language, "parts": [""]}
    return Owed(outbox.EDIT, settings.staff_chat_id, payload, ticket.id)


def install_living_cards(application) -> None:
    """Wire the living card: the desk owes an edit on every change, delivery renders it."""
    bot_data = application.bot_data
    bot_data[CARD_RENDERER] = functools.partial(render_card, bot_data)
    bot_data[DESK].card_edit = functools.partial(card_edit_owed, bot_data)


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


# "ticket #12", "ticket n°12", "Ticket Nr. 12": how the bot's messages about a ticket name it.
TICKET_NUMBER = re.compile(r"(?:#|n°\s*|Nr\.\s*)(\d+)")


def ticket_named_in(desk: TicketDesk, text: str, chat_id: int) -> Ticket | None:
    """The ticket of this chat that a message of the bot names first ("… sent to the team as
    ticket #12", the header of the team's answer: never a number the team wrote in it): a
    reply to it is a follow-up even when the process stopped between sending that message and
    writing down which ticket it belongs to. Found by tests/test_chaos.py."""
    named = TICKET_NUMBER.search(text)
    ticket = desk.get(int(named[1])) if named else None
    return ticket if ticket is not None and ticket.chat_id == chat_id else None


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
    replied = message.reply_to_message
    if ticket is None and replied.from_user is not None and replied.from_user.id == context.bot.id:
        said = replied.text or replied.caption or ""  # a file the team sent has its caption
        ticket = await asyncio.to_thread(ticket_named_in, desk, said, message.chat_id)
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
    # Under a team answer the user can act: "Solved", "Reply to continue" (a copied photo
    # or file keeps its own caption only).
    markup = keyboards.team_answer_keyboard(ticket.id, ticket.language)

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
            markup=markup,
            staff_name=staff.full_name if staff else None,
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
    ticket = await ticket_replied_to(update, context)
    if ticket is None:
        return
    html = texts.staff_answer(ticket.language, message.text, ticket.id)
    await deliver_answer(update, context, ticket, message.text, html, message.message_id)
    raise ApplicationHandlerStop


async def ticket_replied_to(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    """The ticket of the staff-chat message a staff member replied to; None when the sender
    is not staff or the message belongs to no ticket (then other handlers go on)."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or not is_staff(update, context):
        return None
    return await asyncio.to_thread(
        desk_of(context).ticket_for_staff_message, message.reply_to_message.message_id
    )


# What staff can pass on to the user, besides text.
MEDIA = ("photo", "document", "video", "voice", "audio", "animation", "video_note")


async def route_staff_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to a ticket's message with a photo, a document, a video, a voice or audio
    message: copied to the user under the team's header (the caption kept). Anything else
    (a sticker, a poll, a location) is not passed on, and staff are told so."""
    message = update.effective_message
    ticket = await ticket_replied_to(update, context)
    if ticket is None:
        return
    kind = next((k for k in MEDIA if getattr(message, k, None)), None)
    if kind is None:
        await send_to_staff(
            context, texts.staff_not_deliverable(staff_language(context)), message.message_id
        )
        raise ApplicationHandlerStop
    caption = (message.caption or "").strip()
    html = texts.staff_answer(ticket.language, caption, ticket.id).rstrip()
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


#: bot_data key: {(ticket, staff member): when} of a close refused over an unanswered
#: follow-up; a second close within CLOSE_CONFIRM_SECONDS closes anyway.
CLOSE_WARNED = "close_warned"
CLOSE_CONFIRM_SECONDS = 60.0


def closing_refused(context: ContextTypes.DEFAULT_TYPE, ticket_id: int, staff_id: int) -> bool:
    """Whether closing must first warn: the user's last follow-up has no answer, and this
    staff member was not warned about it in the last minute."""
    desk = desk_of(context)
    if not desk.last_followup_unanswered(ticket_id):
        return False
    warned = context.bot_data.setdefault(CLOSE_WARNED, {})
    now = desk.now()
    key = (ticket_id, staff_id)
    if now - warned.get(key, -CLOSE_CONFIRM_SECONDS * 2) <= CLOSE_CONFIRM_SECONDS:
        warned.pop(key, None)
        return False
    warned[key] = now
    return True


def close_notice(context: ContextTypes.DEFAULT_TYPE):
    """The close notice owed to the user, in their language (`TicketDesk.close`)."""

    def notice(ticket: Ticket) -> Owed:
        known, stored = storage_of(context).cached_language(ticket.user_id)
        language = (stored if known else None) or ticket.language
        return owed_message(
            outbox.TELL,
            ticket.chat_id,
            texts.ticket_closed_for_user(language, ticket.id),
            language,
            ticket_id=ticket.id,
        )

    return notice


async def close_and_tell(
    context: ContextTypes.DEFAULT_TYPE, ticket_id: int, by: str | None
) -> Ticket:
    """Close the ticket, edit its card, tell the user (once) how to reopen it."""
    desk = desk_of(context)
    ticket = await asyncio.to_thread(desk.close, ticket_id, by, close_notice(context))
    await send_owed(context.application, ticket.chat_id)
    staff_chat_id = settings_of(context).staff_chat_id
    if staff_chat_id is not None:
        await send_owed(context.application, staff_chat_id)
    return ticket


async def _staff_button(update: Update, context: ContextTypes.DEFAULT_TYPE, *, close: bool) -> None:
    """The card is edited to show the new state; nothing new is posted in the staff chat."""
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
            if await asyncio.to_thread(closing_refused, context, ticket_id, staff.id):
                await query.answer(texts.staff_close_warning(language, ticket_id), show_alert=True)
                return
            await close_and_tell(context, ticket_id, staff.full_name)
        else:
            await asyncio.to_thread(desk.assign, ticket_id, staff.id, staff.full_name)
            await send_owed(context.application, settings_of(context).staff_chat_id)
    except TicketNotFound:
        await query.answer(texts.expired_button(language))
        return
    await query.answer()


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
    await query.answer()
    log.info("ticket #%d answered with FAQ entry %s", ticket.id, entry.id)
    html = texts.staff_faq_answer(ticket.language, entry, ticket.id)
    # A labelled example: the user's own words are a way to ask this entry (see /learn).
    await asyncio.to_thread(
        learning.record,
        storage_of(context),
        entry.id,
        ticket.language,
        ticket.question,
        ticket.user_id,
        learning.STAFF_SIGNAL,
        engine_of(context),
    )
    # The card shows who answered, and ✓ once delivered; the card gets the 👌.
    await deliver_answer(update, context, ticket, entry.answers[ticket.language], html, None)


# The user's side of a team answer: "Solved", "Reply to continue" ---------------------------


async def _own_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    query = update.callback_query
    ticket_id = int(context.matches[0].group(1))
    ticket = await asyncio.to_thread(desk_of(context).for_user, query.from_user.id, ticket_id)
    if ticket is None:
        await query.answer(texts.expired_button(await user_language(update, context)))
    return ticket


async def solved(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "👍 Solved" under a team answer: the user closes their ticket (the card says so)."""
    query = update.callback_query
    ticket = await _own_ticket(update, context)
    if ticket is None:
        return
    language = await user_language(update, context)
    if not ticket.is_closed:
        desk = desk_of(context)
        name = query.from_user.full_name
        await asyncio.to_thread(desk.close, ticket.id, name)
        staff_chat_id = settings_of(context).staff_chat_id
        if staff_chat_id is not None:
            await send_owed(context.application, staff_chat_id)
    await query.answer(texts.ticket_solved(language))
    await _drop_answer_buttons(query)


async def reply_to_continue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Reply to continue": a ForceReply prompt; the user's reply is a follow-up."""
    query = update.callback_query
    ticket = await _own_ticket(update, context)
    if ticket is None:
        return
    await query.answer()
    language = await user_language(update, context)
    prompt = await context.bot.send_message(
        ticket.chat_id, texts.reply_prompt(language, ticket.id), reply_markup=ForceReply()
    )
    await asyncio.to_thread(desk_of(context).record_user_notice, ticket.id, prompt.message_id)


async def _drop_answer_buttons(query) -> None:
    if query.message is None or not query.message.is_accessible:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        log.debug("answer buttons not dropped: %s", exc)


# Media in tickets ---------------------------------------------------------------------------

#: What a user may send to the team besides text (Telegram copies them as they are).
USER_MEDIA = ("photo", "document", "video", "voice", "audio")


def media_kind(message: Message | None) -> str | None:
    return next((k for k in USER_MEDIA if getattr(message, k, None)), None)


async def route_user_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, document, voice message or video in a private chat. Inside a ticket (a reply
    to one of its messages, or while the user's latest ticket is not closed) it is copied
    under the card; otherwise the polite answer, with an offer to send it to the team.
    Only message ids are stored; Telegram copies the file itself."""
    message = update.effective_message
    user = update.effective_user
    kind = media_kind(message)
    if message is None or user is None or kind is None:
        return
    desk = desk_of(context)
    ui_language = await user_language(update, context)
    ticket = None
    if message.reply_to_message is not None:
        ticket = await asyncio.to_thread(
            desk.ticket_for_user_message, message.chat_id, message.reply_to_message.message_id
        )
    if ticket is None:
        ticket = await asyncio.to_thread(current_ticket, desk, user.id)
    if ticket is None or ticket.user_id != user.id:
        # A reply to the photo or file, so that the button knows what it was.
        await context.bot.send_message(
            message.chat_id,
            texts.media_offer(ui_language),
            reply_markup=keyboards.media_offer_keyboard(message.message_id, ui_language),
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        )
        raise ApplicationHandlerStop
    caption = (message.caption or "").strip()
    await pass_media_on(
        update, context, ticket, message.chat_id, message.message_id, kind, caption=caption
    )
    raise ApplicationHandlerStop


def current_ticket(desk: TicketDesk, user_id: int) -> Ticket | None:
    """The user's latest ticket, if it is not closed: the conversation a photo belongs to."""
    rows = desk.storage.query(
        "SELECT id FROM tickets WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,)
    )
    ticket = desk.get(rows[0]["id"]) if rows else None
    return ticket if ticket is not None and not ticket.is_closed else None


async def pass_media_on(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    ticket: Ticket,
    chat_id: int,
    message_id: int,
    kind: str,
    *,
    caption: str = "",
    tell: bool = True,
) -> None:
    """Copy the user's message under the ticket's card, as a follow-up (its text in the
    ticket: the kind and the caption; the file itself stays with Telegram)."""
    staff_chat_id = settings_of(context).staff_chat_id
    language = staff_language(context)
    ui_language = await user_language(update, context)

    def copy(posted) -> Owed:
        return owed_message(
            outbox.FOLLOWUP,
            staff_chat_id,
            texts.staff_media_followup(language, posted.ticket, kind),
            language,
            ticket_id=ticket.id,
            ticket_message_id=posted.message.id,
            under_card=True,
            copy_of=(chat_id, message_id),
        )

    try:
        posted = await asyncio.to_thread(
            desk_of(context).add_user_followup,
            ticket.id,
            f"[{kind}] {caption}".strip(),
            message_id,
            copy=copy if staff_chat_id is not None else None,
        )
    except Banned:
        await send_html(update, context, texts.ticket_banned(ui_language), chat_id=chat_id)
        return
    outcome = PENDING
    if staff_chat_id is not None:
        outcome = await send_item(context.application, posted.outbox_id)
    if outcome == FAILED:  # Telegram would not copy it: do not say the team can see it
        log.info("a file of ticket #%d could not be copied to the staff chat", ticket.id)
        await send_html(update, context, texts.not_text(ui_language), chat_id=chat_id)
        return
    if tell:
        notice = await send_html(
            update, context, texts.media_passed_on(ui_language, ticket.id), chat_id=chat_id
        )
        if notice is not None:
            await asyncio.to_thread(
                desk_of(context).record_user_notice, ticket.id, notice.message_id
            )


async def media_to_team(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Send it to the team" under the polite answer to a photo (`md:<message id>`): a
    ticket whose card says what was sent, with the photo or file copied under it."""
    query = update.callback_query
    message_id = int(context.matches[0].group(1))
    chat = update.effective_chat
    await query.answer()
    if chat is None or chat.type != ChatType.PRIVATE or chat.id != query.from_user.id:
        return
    ui_language = await user_language(update, context)
    question = texts.media_question(ui_language, "photo", "")
    kind, caption = "photo", ""
    source_message = getattr(query.message, "reply_to_message", None)
    if source_message is not None:
        kind = media_kind(source_message) or kind
        caption = (source_message.caption or "").strip()
        question = texts.media_question(ui_language, kind, caption)
    ticket = await hand_over(
        update, context, question, ui_language, ui_language, source=f"m:{chat.id}:{message_id}"
    )
    if ticket is not None:
        await pass_media_on(
            update, context, ticket, chat.id, message_id, kind, caption=caption, tell=False
        )
