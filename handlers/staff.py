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
from telegram.ext import ContextTypes

from bot.desk.tickets import TicketNotFound, format_unanswered, unanswered_report
from bot.formatting import split_html
from handlers import texts
from handlers.common import is_staff, reload_faq, settings_of, storage_of
from handlers.escalation import (
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
    html = texts.staff_ticket(staff_language(context), ticket, messages, desk.now())
    await post_card(context, ticket, html)


@staff_only
async def show_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    stats = await asyncio.to_thread(desk_of(context).stats)
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
    html = texts.staff_answer(ticket.language, answer)
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


@staff_only
async def close_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = update.effective_user.full_name
    language = staff_language(context)
    await _change(
        update,
        context,
        "close",
        desk_of(context).close,
        lambda n, _: texts.staff_closed(language, n, name),
    )


@staff_only
async def reopen_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = update.effective_user.full_name
    language = staff_language(context)
    await _change(
        update,
        context,
        "reopen",
        desk_of(context).reopen,
        lambda n, _: texts.staff_reopened(language, n, name),
    )


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
    due = await asyncio.to_thread(desk.due_for_digest, settings.digest_after_hours * HOUR)
    if not due:
        return
    now = desk.now()
    listed = [(ticket, now - waiting_since) for ticket, waiting_since in due]
    after = settings.digest_after_hours * HOUR
    html = texts.staff_digest(staff_language(context), after, listed)
    if await _post_list(context, html, [ticket.user_id for ticket, _ in due]) is None:
        return
    await asyncio.to_thread(desk.mark_digested, [ticket.id for ticket, _ in due])
    log.info("digest: %d ticket(s) waiting", len(due))
