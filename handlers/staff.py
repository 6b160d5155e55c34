"""Staff commands in the staff chat, and the digest of tickets left waiting.

    /open            tickets waiting for the team, oldest first, and undelivered answers
    /ticket N        ticket N again, with its state, its conversation and its buttons
    /reply N text    answer ticket N (as replying to its card does)
    /close N         close ticket N          /reopen N    put it back in the queue
    /ban N           ban the author of ticket N (their open tickets are closed)
    /unban N         lift the ban
    /stats           questions by language and outcome, tickets, median time to a first answer
    /unanswered      the questions the FAQ does not answer well, grouped
    /reload          serve the edited FAQ files, only if they pass `faqbot check`; otherwise
                     the current FAQ stays live and the first errors are shown (file:line)
    /learn           new wordings of FAQ questions learned from the team, one at a time:
                     "✅ Add", "✖ Reject", "Skip" (bot/desk/learning.py)
    /help            these commands (in the staff chat)

They work only in the staff chat and, when STAFF_USER_IDS is set, only for those users.
Anywhere else, or for anyone else, they do nothing visible at all: no reply, not even the
"unknown command" answer of private chats (they are registered before it and swallow it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.desk import learning
from bot.desk.tickets import TicketNotFound, format_unanswered, unanswered_report
from bot.formatting import escape, split_html
from handlers import keyboards, texts
from handlers.common import engine_of, is_staff, reload_faq, settings_of, storage_of
from handlers.delivery import DELIVERED, send_owed
from handlers.escalation import (
    close_and_tell,
    closing_refused,
    deliver_answer,
    desk_of,
    post_card,
    post_under_ticket,
    send_to_staff,
    staff_language,
)

log = logging.getLogger(__name__)

HOUR = 3600.0

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def staff_only(handler: Handler) -> Handler:
    """Run `handler` for staff in the staff chat; for anyone else, do nothing visible."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not is_staff(update, context):
            user = update.effective_user
            log.debug("staff command ignored from user %s", user.id if user else None)
            return
        await handler(update, context)

    return wrapper


def ticket_number(context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """The ticket number of `/command N` ("12" or "#12"), or None."""
    args = context.args or []
    if not args:
        return None
    raw = args[0].removeprefix("#").removeprefix("n°")
    return int(raw) if raw.isdecimal() and len(raw) <= 18 else None


async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE, html: str) -> None:
    """Answer a staff command under the command itself."""
    message = update.effective_message
    await send_to_staff(context, html, reply_to=message.message_id if message else None)


async def _post_list(
    context: ContextTypes.DEFAULT_TYPE,
    html: str,
    user_ids: Iterable[int],
    reply_to: int | None = None,
) -> Message | None:
    """Post a list that quotes users (their names, their questions) in the staff chat, part
    by part, each part recorded with those users so that /forget deletes it there too (while
    Telegram allows it, 48 hours). The last part, or None if a part could not be posted."""
    quoted = set(user_ids)
    parts = split_html(html)
    posted: list[Message] = []
    for i, part in enumerate(parts):
        message = await send_to_staff(context, part, reply_to=reply_to if i == 0 else None)
        if message is None:
            break
        posted.append(message)
    if posted and quoted:
        ids = [m.message_id for m in posted]
        await asyncio.to_thread(desk_of(context).record_staff_list, ids, quoted)
    return posted[-1] if len(posted) == len(parts) else None


async def _usage(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> None:
    await _reply(update, context, texts.staff_usage(staff_language(context), command))


async def _no_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE, number: int) -> None:
    await _reply(update, context, texts.staff_no_ticket(staff_language(context), number))


# Reading ------------------------------------------------------------------------------------


@staff_only
async def open_tickets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    desk = desk_of(context)
    tickets = await asyncio.to_thread(desk.open_tickets)
    flagged = await asyncio.to_thread(desk.flagged_tickets)
    now = desk.now()
    listed = [(t, now - t.created_at) for t in tickets]
    undelivered = [(t, now - t.created_at) for t in flagged if not t.is_open]
    html = texts.staff_open(staff_language(context), listed, undelivered)
    quoted = [t.user_id for t, _ in listed + undelivered]
    message = update.effective_message
    await _post_list(context, html, quoted, reply_to=message.message_id if message else None)


@staff_only
async def show_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ticket N: a fresh card (replying to it answers the user), with the conversation."""
    number = ticket_number(context)
    if number is None:
        await _usage(update, context, "ticket")
        return
    desk = desk_of(context)
    ticket = await asyncio.to_thread(desk.get, number)
    if ticket is None:
        await _no_ticket(update, context, number)
        return
    messages = await asyncio.to_thread(desk.messages, ticket.id)
    kb = engine_of(context).kb
    zone = settings_of(context).office.zone
    html = texts.staff_ticket(
        staff_language(context), ticket, messages, desk.now(), kb=kb, zone=zone
    )
    await post_card(context, ticket, html)


@staff_only
async def show_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    office = settings_of(context).office
    stats = await asyncio.to_thread(desk_of(context).stats, office.working_seconds)
    await _reply(update, context, texts.staff_stats(staff_language(context), stats))


@staff_only
async def show_unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    groups = await asyncio.to_thread(unanswered_report, storage_of(context))
    html = texts.staff_unanswered(format_unanswered(groups, staff_language(context)))
    quoted = [user_id for group in groups for user_id in group.user_ids]
    message = update.effective_message
    await _post_list(context, html, quoted, reply_to=message.message_id if message else None)


# Acting on a ticket -------------------------------------------------------------------------


@staff_only
async def reply_to_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reply N text: the text (line breaks kept) goes to the user as a team answer."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=2)
    number = ticket_number(context)
    if number is None or len(parts) < 3 or not parts[2].strip():
        await _usage(update, context, "reply")
        return
    answer = parts[2].strip()
    desk = desk_of(context)
    ticket = await asyncio.to_thread(desk.get, number)
    if ticket is None:
        await _no_ticket(update, context, number)
        return
    html = texts.staff_answer(ticket.language, answer, ticket.id)
    await deliver_answer(update, context, ticket, answer, html, message.message_id)


async def _change(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    command: str,
    action: Callable[[int], object],
    confirmation: Callable[[int, object], str],
) -> None:
    """/close, /reopen, /ban, /unban: run `action` on ticket N, confirm under its card."""
    number = ticket_number(context)
    if number is None:
        await _usage(update, context, command)
        return
    try:
        result = await asyncio.to_thread(action, number)
    except TicketNotFound:
        await _no_ticket(update, context, number)
        return
    ticket = await asyncio.to_thread(desk_of(context).get, number)
    message = update.effective_message
    fallback = message.message_id if message else None
    html = confirmation(number, result)
    if ticket is None:
        await _reply(update, context, html)
    else:
        await post_under_ticket(context, ticket, html, fallback)


async def _done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command done: the card shows it (edited in place); the command gets a 👌."""
    message = update.effective_message
    if message is None:
        return
    try:
        await context.bot.set_message_reaction(message.chat_id, message.message_id, DELIVERED)
    except TelegramError as exc:
        log.info("no reaction on a staff command: %s", exc)


@staff_only
async def close_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/close N: the card says "closed by X", the user is told how to reopen it. Over an
    unanswered follow-up, the first /close only warns."""
    number = ticket_number(context)
    if number is None:
        await _usage(update, context, "close")
        return
    staff = update.effective_user
    try:
        if await asyncio.to_thread(closing_refused, context, number, staff.id):
            await _reply(
                update, context, escape(texts.staff_close_warning(staff_language(context), number))
            )
            return
        await close_and_tell(context, number, staff.full_name)
    except TicketNotFound:
        await _no_ticket(update, context, number)
        return
    await _done(update, context)


@staff_only
async def reopen_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    number = ticket_number(context)
    if number is None:
        await _usage(update, context, "reopen")
        return
    try:
        await asyncio.to_thread(desk_of(context).reopen, number)
    except TicketNotFound:
        await _no_ticket(update, context, number)
        return
    await send_owed(context.application, settings_of(context).staff_chat_id)
    await _done(update, context)


@staff_only
async def ban_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = staff_language(context)
    await _change(
        update,
        context,
        "ban",
        desk_of(context).ban_user_of,
        lambda n, closed: texts.staff_banned(language, n, closed),
    )


@staff_only
async def unban_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = staff_language(context)
    await _change(
        update,
        context,
        "unban",
        desk_of(context).unban_user_of,
        lambda n, _: texts.staff_unbanned(language, n),
    )


# The FAQ ------------------------------------------------------------------------------------


@staff_only
async def reload_knowledge_base(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: check the FAQ folder and serve it if it has no error (as `faqbot reload`)."""
    result = await reload_faq(context.bot_data)
    language = staff_language(context)
    kb = result.knowledge_base
    if result.errors or kb is None:
        html = texts.staff_reload_refused(language, result.errors, settings_of(context).faq_dir)
    else:
        html = texts.staff_reloaded(language, len(kb), len(kb.topics), len(result.warnings))
    await _reply(update, context, html)


#: command -> handler, registered by `bot.telegram.app` (before the "unknown command" answer).
COMMANDS: dict[str, Handler] = {
    "open": open_tickets,
    "ticket": show_ticket,
    "reply": reply_to_ticket,
    "close": close_ticket,
    "reopen": reopen_ticket,
    "ban": ban_user,
    "unban": unban_user,
    "stats": show_stats,
    "unanswered": show_unanswered,
    "reload": reload_knowledge_base,
}


# The digest ---------------------------------------------------------------------------------


async def post_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeating job: tickets waiting longer than FAQBOT_DIGEST_AFTER_HOURS, in the staff chat.

    A ticket is listed once per wait: again only after it changed state or its user wrote
    again (see `TicketDesk.due_for_digest`). Nothing is marked when the post fails, so the
    next run tries again.
    """
    settings = settings_of(context)
    if settings.staff_chat_id is None:
        return
    desk = desk_of(context)
    after = settings.digest_after_hours * HOUR
    due = await asyncio.to_thread(desk.due_for_digest, after)
    now = desk.now()
    # The wait that counts is working time: a weekend is not two days of neglect.
    waited = [(t, settings.office.working_seconds(since, now)) for t, since in due]
    due = [(t, since) for (t, since), (_, w) in zip(due, waited, strict=True) if w >= after]
    if not due:
        return
    listed = [(t, w) for t, w in waited if w >= after]
    html = texts.staff_digest(staff_language(context), after, listed)
    if await _post_list(context, html, [ticket.user_id for ticket, _ in due]) is None:
        return
    await asyncio.to_thread(desk.mark_digested, [ticket.id for ticket, _ in due])
    log.info("digest: %d ticket(s) waiting", len(due))


# /help in the staff chat ---------------------------------------------------------------------


@staff_only
async def staff_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help in the staff chat: the staff's commands, not the users' help."""
    await _reply(update, context, texts.staff_help(staff_language(context)))


# /learn: the FAQ learns from the team ---------------------------------------------------------

#: bot_data key: the candidates skipped in this run of the bot (Skip shows the next one).
LEARN_SKIPPED = "learn_skipped"


def _skipped(context: ContextTypes.DEFAULT_TYPE) -> set[int]:
    return context.bot_data.setdefault(LEARN_SKIPPED, set())


async def _learn_card(context: ContextTypes.DEFAULT_TYPE) -> tuple[str, object | None]:
    language = staff_language(context)
    candidate = await asyncio.to_thread(
        learning.next_candidate, storage_of(context), _skipped(context)
    )
    if candidate is None:
        return texts.staff_learn_nothing(language), None
    entry = engine_of(context).kb.entries.get(candidate.faq_id)
    title = entry.title(language) if entry is not None else candidate.faq_id
    html = texts.staff_learn_candidate(language, candidate, title)
    return html, keyboards.learn_keyboard(candidate.id, language)


@staff_only
async def learn(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/learn: the first candidate wording, with "✅ Add", "✖ Reject", "Skip"."""
    html, markup = await _learn_card(context)
    message = update.effective_message
    await send_to_staff(context, html, message.message_id if message else None, markup)


async def learn_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /learn button: the decision, then the next candidate in the same message."""
    query = update.callback_query
    if not is_staff(update, context):
        await query.answer()
        return
    action, raw_id = context.matches[0].groups()
    language = staff_language(context)
    storage = storage_of(context)
    candidate = await asyncio.to_thread(learning.get, storage, int(raw_id))
    if candidate is None:
        await query.answer(texts.expired_button(language))
        return
    note = None
    if action == "s":
        _skipped(context).add(candidate.id)
    elif action == "r":
        await asyncio.to_thread(learning.decide, storage, candidate, learning.REJECTED)
        note = texts.staff_learn_rejected(language)
    else:
        # the FAQ is checked with the wording, then reloaded: seconds, so the button stops
        # spinning first and what came of it is said in the staff chat
        await query.answer()
        settings = settings_of(context)
        outcome = await asyncio.to_thread(
            learning.accept, storage, settings.faq_dir, candidate, settings.thresholds
        )
        reply_to = query.message.message_id if query.message else None
        if not outcome.accepted:
            html = texts.staff_learn_refused(language, candidate, outcome.reason)
            await send_to_staff(context, html, reply_to)
            _skipped(context).add(candidate.id)
            return
        result = await reload_faq(context.bot_data)
        await send_to_staff(
            context, escape(texts.staff_learn_added(language, not result.errors)), reply_to
        )
    if action != "a":
        await query.answer(note)
    if query.message is None or not query.message.is_accessible:
        return
    html, markup = await _learn_card(context)
    try:
        await query.edit_message_text(html, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def learn_from_pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggestion picked by the user (after the conversation answered the tap): the
    user's own question, logged under the suggestions, is a wording of the picked entry."""
    query = update.callback_query
    if query is None or query.message is None or not query.message.is_accessible:
        return
    language, entry_id = context.matches[0].groups()
    ask = [d for d in keyboards.callback_data(query.message.reply_markup) if d.startswith("ask:")]
    if not ask or entry_id not in engine_of(context).kb.entries:
        return
    question_id = int(ask[0].split(":", 1)[1])
    rows = await asyncio.to_thread(
        storage_of(context).query,
        "SELECT user_id, language, text FROM questions WHERE id = ?",
        (question_id,),
    )
    if not rows or rows[0]["user_id"] != query.from_user.id:
        return
    await asyncio.to_thread(
        learning.record,
        storage_of(context),
        entry_id,
        rows[0]["language"],
        rows[0]["text"],
        query.from_user.id,
        learning.PICK_SIGNAL,
        engine_of(context),
    )


COMMANDS["learn"] = learn
