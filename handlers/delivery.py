"""Sending what the outbox holds (`bot/store/outbox.py`): cards, copies, answers, notices.

A handler adds what it owes to the outbox in the transaction that records why (the ticket, the
follow-up, the staff answer), then awaits `send_owed` for that chat, so that in the normal case
the message leaves at once, as before. What could not leave (a crash, a network error, the
staff group unreachable, a 429) stays pending, and `retry_owed`, a repeating job that also runs
at start, sends it later, oldest first, each chat's items in order.

Outcomes: sent (the ticket records where it arrived; a delivered staff answer is confirmed
with a 👌 reaction on the staff message that gave it); refused for good (the user blocked the
bot: the ticket is flagged, stays in /open, and staff are told); or still pending. A try that
may have reached Telegram before an interruption is sent again with "(sent again after an
interruption)".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram import InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes

from bot.desk.tickets import TicketDesk
from bot.formatting import escape, split_html
from bot.store import outbox
from bot.store.outbox import OutboxItem, Owed
from bot.telegram.ratelimit import SENDING
from handlers import texts
from handlers.common import DESK, SETTINGS

log = logging.getLogger(__name__)

DELIVERY = "delivery"  # bot_data key of the `Delivery` state
# bot_data key: why Telegram refused to create a forum topic (STAFF_TOPICS=on, flat mode since)
TOPICS_REFUSED = "topics_refused"
SENT, FAILED, PENDING = "sent", "failed", "pending"
DELIVERED = "👌"  # the reaction on a staff message whose answer reached the user
#: bot_data key: `render(ticket) -> (html, markup)`, the ticket's card as it is now (cards and
#: their edits are rendered when they leave, so a card never shows a state already gone).
CARD_RENDERER = "card_renderer"
# Telegram's answers to an edit of a card it no longer lets the bot edit: a fresh card then.
NOT_EDITABLE = ("message to edit not found", "message can't be edited", "message_id_invalid")
# Telegram's answers that mean "this chat is gone for now", not "this message is wrong".
CHAT_GONE = ("chat not found", "bot was kicked", "not enough rights", "have no rights")


@dataclass
class Delivery:
    """One lock per chat: a chat's items leave one at a time, in the order they were owed."""

    locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def lock(self, chat_id: int) -> asyncio.Lock:
        """One per chat the desk ever sent to (users with tickets, the staff chat): few, and
        kept (a lock dropped right after its release could still be needed by a waiter)."""
        return self.locks.setdefault(chat_id, asyncio.Lock())


def owed_message(
    kind: str,
    chat_id: int,
    html: str,
    language: str,
    *,
    ticket_id: int | None = None,
    ticket_message_id: int | None = None,
    reply_to: int | None = None,
    under_card: bool = False,
    markup: InlineKeyboardMarkup | None = None,
    confirm_to: int | None = None,
    confirmation: str | None = None,
    copy_of: tuple[int, int] | None = None,
    staff_name: str | None = None,
) -> Owed:
    """What the outbox keeps of a message: its HTML parts (or the message to copy, with the
    HTML as its caption), where it replies (`under_card`: the ticket's card, as it is when the
    item leaves), its keyboard, and for a staff answer the staff message to confirm under and
    the confirmation's HTML (by default "Answer to ticket #N delivered.")."""
    payload: dict = {"language": language, "parts": split_html(html)}
    if markup is not None:
        payload["markup"] = markup.to_dict()
    if reply_to is not None:
        payload["reply_to"] = reply_to
    if under_card:
        payload["under_card"] = True
    if confirm_to is not None:
        payload["confirm_to"] = confirm_to
    if confirmation is not None:
        payload["confirmation"] = confirmation
    if copy_of is not None:
        payload["copy_of"] = list(copy_of)
    if staff_name is not None:
        payload["staff_name"] = staff_name
    return Owed(kind, chat_id, payload, ticket_id, ticket_message_id)


def _state(application: Application) -> Delivery:
    return application.bot_data.setdefault(DELIVERY, Delivery())


async def send_owed(application: Application, chat_id: int) -> dict[int, str]:
    """Send what is owed to `chat_id`, oldest first; each item's outcome by id (items after
    one that could not leave for now wait with it, so that a chat's messages keep their
    order)."""
    desk: TicketDesk = application.bot_data[DESK]
    outcomes: dict[int, str] = {}
    notices: list[int] = []  # owed to staff because of these items: sent after them
    answered = False  # an answer left or was refused: its card's edit is owed to staff
    async with _state(application).lock(chat_id):
        items = await asyncio.to_thread(desk.outbox.pending, chat_id)
        for item in items:
            outcome, notice_id = await _send_one(application, desk, item)
            outcomes[item.id] = outcome
            answered = answered or (item.kind == outbox.ANSWER and outcome != PENDING)
            if notice_id is not None:
                notices.append(notice_id)
            if outcome == PENDING:
                break
    for notice_id in notices:  # another chat's lock, taken once this one is released
        await send_item(application, notice_id)
    staff_chat_id = application.bot_data[SETTINGS].staff_chat_id
    if answered and staff_chat_id is not None and staff_chat_id != chat_id:
        await send_owed(application, staff_chat_id)
    return outcomes


async def send_item(application: Application, item_id: int | None) -> str:
    """`send_owed` for the chat of one item; that item's outcome."""
    if item_id is None:
        return SENT  # nothing was owed (recorded before, already on its way)
    desk: TicketDesk = application.bot_data[DESK]
    item = await asyncio.to_thread(desk.outbox.get, item_id)
    if item is None or item.status != outbox.PENDING:
        return SENT if item is not None and item.status == outbox.SENT else FAILED
    outcomes = await send_owed(application, item.chat_id)
    return outcomes.get(item_id, PENDING)


async def retry_owed(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeating job (and once at start): send everything still owed, chat by chat."""
    desk: TicketDesk = context.bot_data[DESK]
    for chat_id in await asyncio.to_thread(desk.outbox.pending_chats):
        await send_owed(context.application, chat_id)


async def _send_one(
    application: Application, desk: TicketDesk, item: OutboxItem
) -> tuple[str, int | None]:
    """Send one item: its outcome, and the notice to staff it now owes (if any)."""
    token = SENDING.set(_Try(desk, item.id))
    try:
        try:
            message_id = await _transmit(application, desk, item)
        except BadRequest as exc:
            if not _topic_gone(application, item, exc):
                raise
            # Its topic was deleted by hand: a new one, with a fresh card in it, then again.
            log.info("the topic of ticket #%s is gone: a new one", item.ticket_id)
            await asyncio.to_thread(desk.clear_topic, item.ticket_id)
            message_id = await _transmit(application, desk, item, fresh_card=True)
    except Forbidden as exc:
        if _is_staff_chat(application, item.chat_id):
            return await _later(desk, item, exc, "the staff chat cannot be reached")
        return await _refused(application, desk, item, exc)
    except BadRequest as exc:
        if _is_staff_chat(application, item.chat_id) and _chat_gone(exc):
            return await _later(desk, item, exc, "the staff chat cannot be reached")
        return await _refused(application, desk, item, exc)
    except TelegramError as exc:  # network, timeouts, 429 after the rate limiter's tries
        return await _later(desk, item, exc, "Telegram did not answer")
    finally:
        SENDING.reset(token)
    then = _confirmation(application, item)
    notice_id = await asyncio.to_thread(desk.delivered, item, message_id, then)
    if item.kind == outbox.ANSWER and then is None and not await _react(application, item):
        # No reaction possible (reactions off in that group…): a short text says it instead.
        notice_id = await asyncio.to_thread(
            desk.outbox.enqueue, _confirmation(application, item, as_text=True)
        )
    return SENT, notice_id


@dataclass
class _Try:
    """One try of an item, counted on disk when its request leaves (after the rate limiter's
    waits: a crash while it waits sent nothing), uncounted when Telegram refuses it with a 429.
    Found by the chaos test: counted before the waits, a crash or a 429 during them made the
    only copy the user got say "sent again after an interruption"."""

    desk: TicketDesk
    item_id: int
    counted: bool = False
    kept: bool = False  # an earlier request of this try may have arrived: counted for good

    async def leaving(self) -> None:
        if self.counted:  # the previous request was not refused (a part sent, a timeout)
            self.kept = True
            return
        self.counted = True
        await asyncio.to_thread(self.desk.outbox.started, self.item_id)

    async def refused(self) -> None:
        if self.counted and not self.kept:
            self.counted = False
            await asyncio.to_thread(self.desk.outbox.started, self.item_id, -1)


async def _react(application: Application, item: OutboxItem) -> bool:
    """A delivered staff answer: the staff message that gave it gets the 👌 reaction (no new
    message in the staff chat, whose 20 messages a minute are kept for cards and copies)."""
    staff_chat_id = application.bot_data[SETTINGS].staff_chat_id
    confirm_to = item.payload.get("confirm_to")
    if staff_chat_id is None or confirm_to is None:
        return True  # nobody to confirm to
    try:
        await application.bot.set_message_reaction(staff_chat_id, confirm_to, DELIVERED)
    except TelegramError as exc:
        log.info("could not confirm a delivery with a reaction: %s", exc)
        return False
    return True


def _topic_gone(application: Application, item: OutboxItem, exc: BadRequest) -> bool:
    return (
        application.bot_data[SETTINGS].staff_topics
        and item.ticket_id is not None
        and _is_staff_chat(application, item.chat_id)
        and "thread not found" in exc.message.lower()
    )


async def _transmit(
    application: Application, desk: TicketDesk, item: OutboxItem, *, fresh_card: bool = False
) -> int | None:
    """Send the item; the Telegram message id of what was sent (its last part).
    `fresh_card`: the ticket's topic was made anew; the card goes there first."""
    bot = application.bot
    payload = item.payload
    language = payload.get("language") or application.bot_data[SETTINGS].default_language
    parts = list(payload.get("parts") or [""])
    if item.attempts > 0:  # counted before this try: an earlier one may have arrived
        parts[-1] = parts[-1] + "\n\n<i>" + texts.sent_again(language) + "</i>"
    reply_to = payload.get("reply_to")
    if reply_to is None and payload.get("under_card") and item.ticket_id is not None:
        ticket = await asyncio.to_thread(desk.get, item.ticket_id)
        reply_to = ticket.staff_message_id if ticket else None
    markup = InlineKeyboardMarkup.de_json(payload["markup"], bot) if payload.get("markup") else None
    thread_id = await _topic_of(application, desk, item)
    if fresh_card and item.kind not in (outbox.CARD, outbox.EDIT):
        card_id = await asyncio.to_thread(desk.outbox.enqueue, _fresh_card(application, item))
        application.create_task(send_item(application, card_id), name="fresh card")
    render = application.bot_data.get(CARD_RENDERER)
    if item.kind in (outbox.CARD, outbox.EDIT) and item.ticket_id is not None and render:
        ticket = await asyncio.to_thread(desk.get, item.ticket_id)
        if ticket is None:
            return None  # deleted meanwhile (/forget): nothing to show
        html, markup = render(ticket)
        parts = split_html(html)[:1]
        if item.attempts > 0 and item.kind == outbox.CARD:
            parts[-1] = parts[-1] + "\n\n<i>" + texts.sent_again(language) + "</i>"
        if item.kind == outbox.EDIT and not (fresh_card or payload.get("fresh")):
            if ticket.staff_message_id is None:
                return None  # its card is still on its way, and will show this state
            try:
                await bot.edit_message_text(
                    parts[0], item.chat_id, ticket.staff_message_id, reply_markup=markup
                )
            except BadRequest as exc:
                reason = exc.message.lower()
                if "not modified" in reason:
                    await _sync_topic(application, desk, ticket)
                    return ticket.staff_message_id
                if not any(words in reason for words in NOT_EDITABLE):
                    raise
                log.info("card of ticket #%d cannot be edited (%s): a fresh one", ticket.id, exc)
            else:
                await _sync_topic(application, desk, ticket)
                return ticket.staff_message_id
    if payload.get("copy_of"):
        from_chat_id, message_id = payload["copy_of"]
        copied = await bot.copy_message(
            item.chat_id,
            from_chat_id,
            message_id,
            caption=parts[0] or None,
            reply_parameters=_reply(reply_to),
            reply_markup=markup,
            message_thread_id=thread_id,
        )
        return copied.message_id
    message = None
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        message = await bot.send_message(
            item.chat_id,
            part,
            reply_parameters=_reply(reply_to) if i == 0 else None,
            reply_markup=markup if last else None,
            message_thread_id=thread_id,
        )
    return message.message_id if message else None


def _fresh_card(application: Application, item: OutboxItem) -> Owed:
    """An edit of the ticket's card that finds none: a fresh card (in its new topic)."""
    settings = application.bot_data[SETTINGS]
    payload = {"language": settings.default_language, "fresh": True}
    return Owed(outbox.EDIT, item.chat_id, payload, item.ticket_id)


async def _topic_of(application: Application, desk: TicketDesk, item: OutboxItem) -> int | None:
    """STAFF_TOPICS=on: the forum topic of the item's ticket in the staff chat (created with
    its first card, or again when a member deleted it; named by its number only, never with
    the user's words). A bot that may not manage topics there (no "Manage topics" right, or
    the group is no forum) falls back to the flat staff chat, and staff are told once."""
    settings = application.bot_data[SETTINGS]
    if (
        not settings.staff_topics
        or item.ticket_id is None
        or not _is_staff_chat(application, item.chat_id)
        or application.bot_data.get(TOPICS_REFUSED)
    ):
        return None
    ticket = await asyncio.to_thread(desk.get, item.ticket_id)
    if ticket is None:
        return None
    if ticket.topic_id is not None:
        return ticket.topic_id
    name = texts.topic_name(settings.default_language, ticket.id)
    try:
        topic = await application.bot.create_forum_topic(item.chat_id, name)
    except (BadRequest, Forbidden) as exc:  # a 429 (too many topics) waits in the outbox
        application.bot_data[TOPICS_REFUSED] = str(exc)
        log.warning("cannot create forum topics in the staff chat (%s): flat mode", exc)
        notice = texts.staff_topics_refused(settings.default_language, str(exc))
        notice_id = await asyncio.to_thread(
            desk.outbox.enqueue,
            owed_message(outbox.NOTICE, item.chat_id, notice, settings.default_language),
        )
        # Once this chat's lock is free (the card goes first): `send_item` waits for it.
        application.create_task(send_item(application, notice_id), name="topics refused")
        return None
    await asyncio.to_thread(desk.set_topic, ticket.id, topic.message_thread_id)
    return topic.message_thread_id


async def _sync_topic(application: Application, desk: TicketDesk, ticket) -> None:
    """A closed ticket closes its topic, a reopened one reopens it (STAFF_TOPICS=on)."""
    if not application.bot_data[SETTINGS].staff_topics or ticket.topic_id is None:
        return
    if ticket.is_closed == ticket.topic_closed:
        return
    chat_id = application.bot_data[SETTINGS].staff_chat_id
    try:
        if ticket.is_closed:
            await application.bot.close_forum_topic(chat_id, ticket.topic_id)
        else:
            await application.bot.reopen_forum_topic(chat_id, ticket.topic_id)
    except BadRequest as exc:
        if "not_modified" not in exc.message.lower():
            log.info("topic of ticket #%d not updated: %s", ticket.id, exc)
            return
    await asyncio.to_thread(desk.set_topic, ticket.id, None, ticket.is_closed)


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)


def _is_staff_chat(application: Application, chat_id: int) -> bool:
    return chat_id == application.bot_data[SETTINGS].staff_chat_id


def _chat_gone(exc: BadRequest) -> bool:
    return any(words in exc.message.lower() for words in CHAT_GONE)


def _confirmation(
    application: Application, item: OutboxItem, *, as_text: bool = False
) -> Owed | None:
    """The text that confirms a delivered staff answer under the message that gave it, when
    it has one (an FAQ answer sent with a button says which) or `as_text`; a reply to it
    answers the same ticket. Otherwise a reaction confirms it (`_react`)."""
    settings = application.bot_data[SETTINGS]
    if item.kind != outbox.ANSWER or settings.staff_chat_id is None or item.ticket_id is None:
        return None
    if "confirmation" not in item.payload and not as_text:
        return None
    language = settings.default_language
    html = item.payload.get("confirmation") or escape(
        texts.staff_delivered(language, item.ticket_id)
    )
    return owed_message(
        outbox.NOTICE,
        settings.staff_chat_id,
        html,
        language,
        ticket_id=item.ticket_id,
        ticket_message_id=item.ticket_message_id,
        reply_to=item.payload.get("confirm_to"),
        under_card=True,
    )


async def _later(
    desk: TicketDesk, item: OutboxItem, exc: TelegramError, why: str
) -> tuple[str, None]:
    """Still pending. Only a timeout leaves it unknown whether the try arrived; any other
    answer (403, 429, 5xx) says it did not, and the try is not counted."""
    log.warning("outbox item %d (%s) not sent yet, %s: %s", item.id, item.kind, why, exc)
    await asyncio.to_thread(
        desk.outbox.note_error,
        item.id,
        str(exc) or type(exc).__name__,
        arrived_maybe=isinstance(exc, TimedOut),
    )
    return PENDING, None


async def _refused(
    application: Application, desk: TicketDesk, item: OutboxItem, exc: TelegramError
) -> tuple[str, int | None]:
    """Refused for good: a staff answer flags its ticket and staff are told under the card."""
    reason = str(exc) or type(exc).__name__
    log.warning("outbox item %d (%s) refused by Telegram: %s", item.id, item.kind, exc)
    settings = application.bot_data[SETTINGS]
    notice = None
    if item.kind == outbox.ANSWER and item.ticket_id is not None and settings.staff_chat_id:
        language = settings.default_language
        html = (
            texts.staff_undelivered(language, item.ticket_id)
            if isinstance(exc, Forbidden)
            else texts.staff_delivery_failed(language, item.ticket_id, reason)
        )
        notice = owed_message(
            outbox.NOTICE,
            settings.staff_chat_id,
            html,
            language,
            ticket_id=item.ticket_id,
            under_card=True,
        )
    return FAILED, await asyncio.to_thread(desk.undelivered, item, reason, notice)
