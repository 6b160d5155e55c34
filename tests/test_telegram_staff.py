"""End to end: the staff's tools and the user's follow-ups, /forget, retention, durability.

The real Application polls the Bot API double (see tests/test_telegram_conversation.py).
Updates are handled one at a time, in order: once the bot has answered a later update, every
earlier one has been fully handled, which is how "nothing happened" is checked below.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram.ext import CallbackContext

from bot.answering.engine import ESCALATE, Engine
from bot.config import ConfigError, Settings
from bot.desk.office import OfficeHours
from bot.desk.tickets import ANSWERED, CLOSED, OPEN, STAFF, USER, TicketDesk
from bot.i18n import format_duration, format_number
from bot.telegram.ratelimit import MAX_RETRIES, NETWORK_RETRIES
from handlers import callbacks, delivery, keyboards, texts
from handlers.common import DESK
from tests.botapi_double import BotApiDouble, Call, make_user
from tests.test_telegram_conversation import (
    ANNA,
    ESCALATING,
    STAFF_CHAT,
    RunningBot,
    buttons,
    data_of,
    engine,  # noqa: F401  (the module-scoped fixture)
    running_bot,
)
from tests.test_telegram_conversation import (
    first as first_with_status,
)
from tests.test_telegram_escalation import (
    GERMAN_QUESTION,
    HANS,
    HANS_USER,
    HEADER_DE,
    SOPHIE,
    SOPHIE_USER,
    ask,
    eventually,
    staff_reply,
)
from tests.test_telegram_restart import bot_environment, confirmed, start_bot, stop

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

ANNA_USER = make_user(ANNA, "Anna", "anna_k", "fr")
MALLORY = 666  # not staff
MALLORY_USER = make_user(MALLORY, "Mallory", "mallory", "en")
OTHER_GROUP = -1007777
# Questions the engine has FAQ guesses for (the first one that has some is used).
WITH_GUESSES = [
    "Wie viel kostet eine Weiterbildung am KMØ?",
    "Welche Weiterbildungen bietet der Campus KMØ an?",
    "Was kostet die Teilnahme am Programm?",
]
HOUR = 3600.0


# The conversation tests' bot already has a staff chat; these tests override settings.
staff_bot = running_bot


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:  # noqa: F811
    async with staff_bot(botapi, engine, tmp_path) as running:
        yield running


def desk(bot: RunningBot) -> TicketDesk:
    """The bot's own desk (its clock can be replaced for the digest)."""
    return bot.application.bot_data[DESK]


async def staff_command(bot: RunningBot, command: str, *args: Any, user=SOPHIE_USER) -> dict:
    """A command in the staff chat; the bot's next message there."""
    return await bot.command(STAFF_CHAT, command, *args, user=user, chat_type="supergroup")


async def settled(bot: RunningBot) -> None:
    """Every update pushed so far has been handled: a user's /help, pushed after them, is
    answered, and no update is still in progress (chats are handled concurrently)."""
    sentinel = 4242
    before = len(bot.api.sent(sentinel))
    bot.api.push_command(sentinel, "help", language_code="en")
    await bot.api.wait_for_message(sentinel, count=before + 1)
    processor = bot.application.update_processor
    for _ in range(500):
        if processor.current_concurrent_updates == 0 and bot.application.update_queue.empty():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("updates still in progress after 5 s")


async def staff_done(bot: RunningBot, command: str, *args: Any) -> int:
    """A staff command answered with 👌 on the command (the card shows the change)."""
    pushed = bot.api.push_command(
        STAFF_CHAT, command, *args, user=SOPHIE_USER, chat_type="supergroup"
    )
    message_id = pushed.update["message"]["message_id"]
    await eventually(lambda: bot.api.reactions.get((STAFF_CHAT, message_id)) == ["👌"])
    return message_id


async def reply_command(bot: RunningBot, args: str) -> int:
    """/reply in the staff chat; once the answer is delivered, the command has 👌 (its id)."""
    pushed = bot.api.push_command(
        STAFF_CHAT, "reply", args, user=SOPHIE_USER, chat_type="supergroup"
    )
    command = pushed.update["message"]["message_id"]
    await eventually(lambda: bot.api.reactions.get((STAFF_CHAT, command)) == ["👌"])
    return command


def staff_messages(bot: RunningBot) -> list[dict]:
    """The messages now in the staff chat (the double's view: deleted ones are gone)."""
    return list(bot.api.messages_by_id.get(STAFF_CHAT, {}).values())


def question_with_guesses(engine: Engine) -> str:  # noqa: F811
    for question in WITH_GUESSES:
        if engine.decide(question, language="de").candidates:
            return question
    pytest.fail(f"the engine has no FAQ guess for any of {WITH_GUESSES} any more")


def texts_in(bot: RunningBot, chat_id: int) -> list[str]:
    return [c.result["text"] for c in bot.api.sent(chat_id)]


def callback_answers(bot: RunningBot) -> list[Call]:
    return bot.api.calls_to("answerCallbackQuery")


# ---------------------------------------------------------------------------- answer with FAQ


async def test_answer_with_an_faq_entry_in_one_tap(bot: RunningBot):
    question = question_with_guesses(bot.engine)
    guesses = bot.engine.decide(question, language="de").candidates[:3]
    _, card = await ask(bot, HANS, question, HANS_USER)

    kb = bot.engine.kb
    expected = [callbacks.staff_faq_answer(1, g.faq_id) for g in guesses]
    assert data_of(card) == ["tk:1", "tx:1", *expected]
    first = kb.entries[guesses[0].faq_id]
    assert buttons(card)[2][0] == f"Répondre avec\u00a0: {first.title('fr')}"

    await bot.tap(STAFF_CHAT, card, expected[0], user=SOPHIE_USER)
    [_, delivered] = await bot.api.wait_for_message(HANS, count=2)
    # The entry's German answer (the ticket's language), under the team's header, without
    # the sentence that tells the user to tap "Ask the team" (the team is answering).
    text = delivered.result["text"]
    assert text.startswith(f"{HEADER_DE}\n\n{first.title('de')}\n\n")
    assert "Team fragen" not in text
    assert text.endswith(texts.reply_to_continue("de"))
    assert data_of(delivered.result) == ["sv:1", "rc:1"]

    # No new message in the staff chat: the card itself says who answered, and ✓.
    await eventually(lambda: "Sophie" in bot.current(STAFF_CHAT, card)["text"])
    edited = bot.current(STAFF_CHAT, card)["text"]
    assert "répondu par Sophie" in edited and "✓" in edited
    assert len(bot.api.sent(STAFF_CHAT)) == 1
    assert bot.api.reactions.get((STAFF_CHAT, card["message_id"])) == ["👌"]
    ticket = desk(bot).get(1)
    assert ticket.status == ANSWERED and ticket.first_answer_at is not None
    [answer] = [m for m in desk(bot).messages(1) if m.direction == STAFF]
    assert answer.author_id == SOPHIE and answer.text == first.answers["de"]
    assert answer.user_chat_message_id == delivered.result["message_id"]
    # A labelled example for /learn: the user's own words, as a wording of that entry.
    [candidate] = bot.storage.query("SELECT faq_id, language, text FROM wording_candidates")
    assert tuple(candidate) == (first.id, "de", question)


def test_the_card_keyboard_skips_entries_the_faq_lost(engine):  # noqa: F811
    markup = keyboards.staff_card_keyboard(
        7, "de", engine.kb, (("kmo-what", 41.0), ("no-such-entry", 30.0))
    )
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == ["tk:7", "tx:7", "fa:7:kmo-what"]
    label = markup.inline_keyboard[1][0].text
    assert label == "Antworten mit: " + engine.kb.entries["kmo-what"].title("de")


def test_staff_and_forget_callbacks_fit_and_match_only_their_pattern(engine):  # noqa: F811
    produced = [
        (callbacks.staff_take(2**62), callbacks.STAFF_TAKE),
        (callbacks.staff_close(2**62), callbacks.STAFF_CLOSE),
        (callbacks.forget(True), callbacks.FORGET),
        (callbacks.forget(False), callbacks.FORGET),
    ]
    produced += [
        (callbacks.staff_faq_answer(10**6, entry.id), callbacks.STAFF_FAQ_ANSWER)
        for entry in engine.kb
    ]
    patterns = [getattr(callbacks, n) for n in dir(callbacks) if n.isupper()]
    patterns = [p for p in patterns if isinstance(p, str) and p.startswith("^")]
    for value, pattern in produced:
        assert callbacks.fits(value), value
        assert [p for p in patterns if re.match(p, value)] == [pattern], value
    for bad in ["fa:", "fa:1", "fa:x:kmo-what", "fa:1:KMO", "fg:", "fg:maybe", "fg:yes:1"]:
        assert not any(re.match(p, bad) for p in patterns), bad


# ---------------------------------------------------------------------------- staff commands


async def test_open_close_and_reopen(bot: RunningBot):
    _, card_1 = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    _, card_2 = await ask(bot, ANNA, "Où garer mon vélo à Mulhouse ?", ANNA_USER)

    listing = await staff_command(bot, "open")
    text = listing["text"]
    assert text.startswith("Tickets en attente de l'équipe\u00a0: 2")
    assert text.index("#1 ·") < text.index("#2 ·")  # oldest first
    assert "Hans Müller (@hans_m)" in text and GERMAN_QUESTION in text

    # /close: the card is edited ("closed by Sophie"), the command gets 👌, and the user is
    # told in their language how to reopen it; nothing new is posted in the staff chat.
    posted = len(bot.api.sent(STAFF_CHAT))
    await staff_done(bot, "close", "1")
    assert desk(bot).get(1).status == CLOSED
    await eventually(lambda: "fermé par Sophie" in bot.current(STAFF_CHAT, card_1)["text"])
    assert len(bot.api.sent(STAFF_CHAT)) == posted
    await eventually(lambda: texts_in(bot, HANS)[-1] == texts.ticket_closed_for_user("de", 1))
    listing = await staff_command(bot, "open")
    assert "#1 ·" not in listing["text"] and "#2 ·" in listing["text"]

    await staff_done(bot, "reopen", "#1")
    assert desk(bot).get(1).status == OPEN
    await eventually(lambda: "⏳" in bot.current(STAFF_CHAT, card_1)["text"])

    await staff_done(bot, "close", "1")
    await staff_done(bot, "close", "2")
    listing = await staff_command(bot, "open")
    assert listing["text"] == texts.staff_open("fr", [])
    assert (await staff_command(bot, "close"))["text"] == texts.staff_usage("fr", "close")
    assert (await staff_command(bot, "reopen", "99"))["text"] == texts.staff_no_ticket("fr", 99)
    assert card_2


async def test_ban_refuses_the_user_politely_and_unban_lets_them_ask_again(bot: RunningBot):
    confirmation, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)

    banned = await staff_command(bot, "ban", "1")
    assert banned["text"] == texts.staff_banned("fr", 1, [1])
    assert "Tickets fermés\u00a0: #1." in banned["text"]
    assert desk(bot).is_banned(HANS) and desk(bot).get(1).status == CLOSED
    staff_messages = len(bot.api.sent(STAFF_CHAT))

    refused = await bot.command(HANS, "ask", "Noch eine Frage zum Parken", user=HANS_USER)
    assert refused["text"] == texts.ticket_banned("de")
    # A follow-up under the old ticket is refused the same way.
    followup = await bot.send(HANS, "Hallo?", user=HANS_USER, reply_to=confirmation["message_id"])
    assert followup["text"] == texts.ticket_banned("de")
    await settled(bot)
    assert len(bot.api.sent(STAFF_CHAT)) == staff_messages  # nothing reached staff
    assert len(bot.storage.query("SELECT * FROM tickets")) == 1
    assert [m.direction for m in desk(bot).messages(1)] == ["notice", "card"]

    unbanned = await staff_command(bot, "unban", "1")
    assert unbanned["text"] == texts.staff_unbanned("fr", 1)
    assert not desk(bot).is_banned(HANS)
    _, card = await ask(bot, HANS, "Noch eine Frage zum Parken", HANS_USER)
    assert card["text"].startswith("Ticket n°2")


async def test_ticket_reply_stats_and_unanswered(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    escalated = first_with_status(bot.engine, ESCALATING, ESCALATE)
    await bot.send(ANNA, escalated)
    rows = [(ANNA, "de", f"Frage {i}", "answer", "kmo-what", 80.0, 0.0) for i in range(1234)]
    with bot.storage.transaction() as db:
        db.executemany(
            "INSERT INTO questions (user_id, language, text, status, faq_id, score, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    # /ticket N posts the card again: a reply to the new card answers the user.
    shown = await staff_command(bot, "ticket", "1")
    assert shown["text"].startswith("Ticket n°1")
    assert "État\u00a0: en attente de l'équipe." in shown["text"]
    assert GERMAN_QUESTION in shown["text"]
    assert data_of(shown)[:2] == ["tk:1", "tx:1"]
    await eventually(lambda: desk(bot).get(1).staff_message_id == shown["message_id"])
    reply = staff_reply(bot, "Am Bahnhof.", shown["message_id"])
    [_, first] = await bot.api.wait_for_message(HANS, count=2)
    assert first.result["text"].startswith(f"{HEADER_DE}\n\nAm Bahnhof.")
    # Once delivered, the staff reply gets the 👌 reaction (no new message in the staff chat).
    staff_messages = len(bot.api.sent(STAFF_CHAT))
    await eventually(lambda: bot.api.reactions.get((STAFF_CHAT, reply)) == ["👌"])

    # /reply N text, line breaks kept; staff see it was delivered the same way.
    await reply_command(bot, "1 Und auch\nam Rathaus.")
    [_, _, second] = await bot.api.wait_for_message(HANS, count=3)
    assert len(bot.api.sent(STAFF_CHAT)) == staff_messages
    assert second.result["text"].startswith(f"{HEADER_DE}\n\nUnd auch\nam Rathaus.")
    await eventually(lambda: desk(bot).messages(1)[-1].user_chat_message_id is not None)

    shown = await staff_command(bot, "ticket", "1")
    assert "État\u00a0: répondu." in shown["text"]
    assert "Équipe\u00a0: Am Bahnhof." in shown["text"]
    assert "Équipe\u00a0: Und auch\nam Rathaus." in shown["text"]

    stats = (await staff_command(bot, "stats"))["text"]
    assert stats.startswith("Statistiques")
    assert f"Questions\u00a0: {format_number(1235, 'fr')}" in stats
    assert "1\u202f235" in stats  # Babel's French grouping
    assert "🇩🇪 Deutsch\u00a0: 1\u202f234 (répondu 1\u202f234)" in stats
    assert "🇫🇷 Français\u00a0: 1 (sans réponse 1)" in stats
    assert "Tickets en attente de l'équipe\u00a0: 0\u00a0; avec réponse\u00a0: 1" in stats
    assert re.search(r"Délai médian avant une première réponse\u00a0: \d+", stats)

    report = await staff_command(bot, "unanswered")
    assert escalated in report["text"]
    # In the staff chat's language (French by default), like every other staff message.
    assert report["text"].startswith("Questions auxquelles la FAQ répond mal")
    assert [e["type"] for e in report.get("entities", [])] == ["pre"]

    assert (await staff_command(bot, "ticket", "42"))["text"] == texts.staff_no_ticket("fr", 42)
    assert (await staff_command(bot, "reply", "1"))["text"] == texts.staff_usage("fr", "reply")


async def test_nobody_but_staff_in_the_staff_chat_gets_anything(bot: RunningBot):
    question = question_with_guesses(bot.engine)
    _, card = await ask(bot, HANS, question, HANS_USER)
    entry_button = next(d for d in data_of(card) if d.startswith("fa:"))
    staff_before = len(bot.api.sent(STAFF_CHAT))
    commands = [
        ("open", None),
        ("ticket", "1"),
        ("reply", "1 Gotcha"),
        ("close", "1"),
        ("reopen", "1"),
        ("ban", "1"),
        ("unban", "1"),
        ("stats", None),
        ("unanswered", None),
    ]

    for name, args in commands:
        # In a private chat (where unknown commands are otherwise answered)…
        bot.api.push_command(MALLORY, name, args, user=MALLORY_USER)
        # …in another group, with and without the bot's @username…
        for mention in (False, True):
            bot.api.push_command(
                OTHER_GROUP, name, args, user=MALLORY_USER, chat_type="supergroup", mention=mention
            )
    pushed = bot.api.push_text(MALLORY, "hello", user=MALLORY_USER)
    group_message = bot.api.push_text(OTHER_GROUP, "hi", user=MALLORY_USER, chat_type="supergroup")
    taps = []
    for data in ["tk:1", "tx:1", entry_button]:
        taps.append(bot.api.push_callback(MALLORY, pushed.message_id, data, user=MALLORY_USER))
        taps.append(
            bot.api.push_callback(OTHER_GROUP, group_message.message_id, data, user=MALLORY_USER)
        )
    await settled(bot)

    [hello] = texts_in(bot, MALLORY)  # only the answer to "hello", nothing to the commands
    assert not hello.startswith("I don't know this command")
    assert bot.api.sent(OTHER_GROUP) == []
    assert bot.api.edits() == []
    assert len(bot.api.sent(STAFF_CHAT)) == staff_before
    # Taps are acknowledged (the spinner stops) with no text at all.
    answers = {str(c.params["callback_query_id"]): c for c in callback_answers(bot)}
    for tap in taps:
        answer = answers[tap.update["callback_query"]["id"]]
        assert answer.ok and answer.params.get("text") is None
    ticket = desk(bot).get(1)
    assert (ticket.status, ticket.assignee_id, ticket.first_answer_at) == (OPEN, None, None)
    assert not desk(bot).is_banned(HANS)
    assert len(bot.api.sent(HANS)) == 1  # the confirmation only


async def test_staff_user_ids_restrict_commands_buttons_and_replies(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    async with staff_bot(botapi, engine, tmp_path, staff_user_ids=frozenset({SOPHIE})) as bot:
        question = question_with_guesses(bot.engine)
        _, card = await ask(bot, HANS, question, HANS_USER)
        staff_before = len(bot.api.sent(STAFF_CHAT))
        for name, args in [("open", None), ("close", "1"), ("ban", "1"), ("reply", "1 Hi")]:
            bot.api.push_command(STAFF_CHAT, name, args, user=MALLORY_USER, chat_type="supergroup")
        bot.api.push_text(
            STAFF_CHAT,
            "Not from staff",
            user=MALLORY_USER,
            chat_type="supergroup",
            reply_to=card["message_id"],
        )
        for data in data_of(card):
            await bot.tap(STAFF_CHAT, card, data, user=MALLORY_USER)
        await settled(bot)
        assert len(bot.api.sent(STAFF_CHAT)) == staff_before
        assert len(bot.api.sent(HANS)) == 1
        assert all(c.params.get("text") is None for c in callback_answers(bot))
        ticket = desk(bot).get(1)
        assert (ticket.status, ticket.assignee_id) == (OPEN, None)
        assert desk(bot).messages(1)[-1].direction == "card"

        # Sophie is staff.
        listing = await staff_command(bot, "open")
        assert "#1 ·" in listing["text"]
        await bot.tap(STAFF_CHAT, card, "tk:1", user=SOPHIE_USER)
        await eventually(lambda: desk(bot).get(1).assignee_id == SOPHIE)


# ---------------------------------------------------------------------------- follow-ups


async def test_a_reply_to_a_team_answer_is_a_follow_up_under_the_ticket(bot: RunningBot):
    confirmation, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    staff_reply(bot, "Am Bahnhof.", card["message_id"])
    [_, answer] = await bot.api.wait_for_message(HANS, count=2)
    await eventually(lambda: desk(bot).messages(1)[-1].user_chat_message_id is not None)
    assert desk(bot).get(1).status == ANSWERED

    told = await bot.send(
        HANS, "Und am Sonntag?", user=HANS_USER, reply_to=answer.result["message_id"]
    )
    assert told["text"] == texts.followup_sent("de", 1)
    [_, copy] = await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert copy.result["reply_to_message"]["message_id"] == card["message_id"]
    assert copy.result["text"].startswith("Nouveau message sur le ticket n°1")
    assert "Und am Sonntag?" in copy.result["text"]
    await eventually(lambda: desk(bot).messages(1)[-1].direction == "notice")
    assert desk(bot).get(1).status == OPEN  # back in the staff's queue
    [followup] = [m for m in desk(bot).messages(1) if m.direction == USER]
    assert followup.text == "Und am Sonntag?"
    assert followup.staff_chat_message_id == copy.result["message_id"]
    # Nothing was answered as a question.
    assert bot.storage.query("SELECT * FROM questions") == []

    # Staff answer under the copied follow-up: it reaches the user.
    staff_reply(bot, "Sonntags auch.", copy.result["message_id"])
    [*_, last] = await bot.api.wait_for_message(HANS, count=4)
    assert last.result["text"].startswith(f"{HEADER_DE}\n\nSonntags auch.")

    # A reply to the ticket confirmation, or to the "passed on" notice, joins the ticket too.
    told = await bot.send(
        HANS, "Danke, noch was:", user=HANS_USER, reply_to=confirmation["message_id"]
    )
    assert told["text"] == texts.followup_sent("de", 1)
    told = await bot.send(HANS, "Und Parkplätze?", user=HANS_USER, reply_to=told["message_id"])
    assert told["text"] == texts.followup_sent("de", 1)
    await bot.api.wait_for_message(STAFF_CHAT, count=4)
    assert len(bot.storage.query("SELECT * FROM tickets")) == 1


async def test_a_thank_you_is_passed_on_but_does_not_reopen(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    staff_reply(bot, "Am Bahnhof.", card["message_id"])
    [_, answer] = await bot.api.wait_for_message(HANS, count=2)
    told = await bot.send(HANS, "Danke!", user=HANS_USER, reply_to=answer.result["message_id"])
    assert told["text"] == texts.followup_sent("de", 1)
    await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert desk(bot).get(1).status == ANSWERED


async def test_replies_to_other_messages_are_questions_and_tickets_stay_private(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    answer = await bot.send(ANNA, "What is KMØ?")
    # Anna replies to an ordinary answer: an ordinary question, nothing for staff.
    reply = await bot.send(ANNA, "Was ist KMØ?", reply_to=answer["message_id"])
    assert reply["text"].startswith("Was ist KMØ?")
    # Anna uses the number of Hans's ticket: nothing of it is shown to her or changed.
    bot.api.push_command(ANNA, "ticket", "1")
    bot.api.push_command(ANNA, "reply", "1 hello")
    await bot.send(HANS, "Wo kann ich mein Auto parken?", user=HANS_USER)
    [hans_row] = bot.storage.query("SELECT id FROM questions WHERE user_id = ?", (HANS,))
    usage = await bot.tap(ANNA, answer, callbacks.ask_team(hans_row["id"]))
    assert usage.ok
    await settled(bot)
    # Her own question, please: in German, the conversation's language (Anna's last clear
    # message).
    assert texts_in(bot, ANNA)[-1] == texts.ask_prompt("de")
    assert all(GERMAN_QUESTION not in t and "Parken" not in t for t in texts_in(bot, ANNA))
    assert len(bot.api.sent(STAFF_CHAT)) == 1
    assert len(bot.storage.query("SELECT * FROM tickets")) == 1


# ---------------------------------------------------------------------------- delivery failures


async def test_an_answer_telegram_does_not_take_is_kept_and_sent_again(bot: RunningBot):
    """A 5xx beyond the rate limiter's retries loses nothing: staff are told it waits, the
    ticket stays in /open, and the outbox's retry delivers it (unmarked: Telegram said the
    failed tries did not arrive), then confirms it to staff."""
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    bot.api.fail_next("sendMessage", 502, count=1 + NETWORK_RETRIES, description="Bad Gateway")

    reply = staff_reply(bot, "Am Bahnhof.", card["message_id"])
    [_, notice] = await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert notice.result["reply_to_message"]["message_id"] == card["message_id"]
    assert notice.result["text"] == texts.staff_delivery_pending("fr", 1)
    assert (STAFF_CHAT, reply) not in bot.api.reactions
    assert desk(bot).get(1).status == OPEN and desk(bot).outbox.backlog()[0] == 1
    assert len(bot.api.sent(HANS)) == 1  # the ticket confirmation only
    listing = await staff_command(bot, "open")
    assert "#1 ·" in listing["text"]  # still waiting: nobody has read the answer

    bot.application.job_queue.run_once(delivery.retry_owed, 0)  # the job, without its 15 s
    [_, delivered] = await bot.api.wait_for_message(HANS, count=2)
    assert delivered.result["text"].startswith(f"{HEADER_DE}\n\nAm Bahnhof.")
    await eventually(lambda: desk(bot).get(1).status == ANSWERED)
    await eventually(lambda: bot.api.reactions.get((STAFF_CHAT, reply)) == ["👌"])
    await eventually(lambda: desk(bot).outbox.backlog() == (0, 0.0))  # the card's edit too
    assert "✓" in bot.current(STAFF_CHAT, card)["text"]


async def test_an_answer_telegram_refused_with_429s_is_sent_again_unmarked(bot: RunningBot):
    """429s beyond the rate limiter's retries: Telegram carried none of the tries out, so the
    copy the outbox's retry delivers is the first the user gets, without "sent again"."""
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    bot.api.fail_next("sendMessage", 429, count=1 + MAX_RETRIES, retry_after=1, chat_id=HANS)

    staff_reply(bot, "Am Bahnhof.", card["message_id"])
    await bot.api.wait_for_message(STAFF_CHAT, count=2, timeout=10)  # "waits for Telegram"
    assert desk(bot).outbox.backlog()[0] == 1

    bot.application.job_queue.run_once(delivery.retry_owed, 0)
    [_, delivered] = await bot.api.wait_for_message(HANS, count=2)
    text = delivered.result["text"]
    assert text == f"{HEADER_DE}\n\nAm Bahnhof.\n\n{texts.reply_to_continue('de')}"
    await eventually(lambda: desk(bot).outbox.backlog() == (0, 0.0))  # recorded just after


async def test_an_faq_answer_to_a_user_who_blocked_the_bot_is_flagged(bot: RunningBot):
    question = question_with_guesses(bot.engine)
    _, card = await ask(bot, HANS, question, HANS_USER)
    bot.api.block_chat(HANS)
    entry_button = next(d for d in data_of(card) if d.startswith("fa:"))
    await bot.tap(STAFF_CHAT, card, entry_button, user=SOPHIE_USER)
    [_, notice] = await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert notice.result["text"] == texts.staff_undelivered("fr", 1)
    await eventually(lambda: desk(bot).get(1).flagged is not None)


# ---------------------------------------------------------------------------- the digest


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


async def run_job(bot: RunningBot, name: str) -> None:
    """Run a repeating job now, as the JobQueue would (errors are not swallowed)."""
    [job] = bot.application.job_queue.get_jobs_by_name(name)
    await job.callback(CallbackContext.from_job(job, bot.application))


async def test_the_digest_lists_tickets_waiting_too_long_once_per_wait(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    always = OfficeHours(hours="00:00-24:00", days="mon-sun", holidays="")
    overrides = {"digest_after_hours": 2.0, "digest_interval_minutes": 15.0, "office": always}
    async with staff_bot(botapi, engine, tmp_path, **overrides) as bot:
        [job] = bot.application.job_queue.get_jobs_by_name("digest")
        assert job.job.trigger.interval == timedelta(minutes=15)
        clock = Clock(1_900_000_000.0)
        desk(bot).now = clock
        confirmation, _ = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
        clock.now += HOUR
        _, card_2 = await ask(bot, ANNA, "Où garer mon vélo à Mulhouse ?", ANNA_USER)
        staff_messages = len(bot.api.sent(STAFF_CHAT))

        clock.now += 0.5 * HOUR  # 1.5 h and 0.5 h: nothing yet
        await run_job(bot, "digest")
        assert len(bot.api.sent(STAFF_CHAT)) == staff_messages

        clock.now += HOUR  # 2.5 h and 1.5 h: ticket 1
        await run_job(bot, "digest")
        [digest] = bot.api.sent(STAFF_CHAT)[staff_messages:]
        text = digest.result["text"]
        two_hours = format_duration(2 * HOUR, "fr")
        assert text.startswith(f"Tickets sans réponse (attente de plus de {two_hours})\u00a0: 1")
        assert f"#1 · {format_duration(150 * 60, 'fr')} · Hans Müller (@hans_m)" in text
        assert "#2 ·" not in text

        clock.now += HOUR  # ticket 2 is due now; ticket 1 was listed already
        await run_job(bot, "digest")
        [_, digest] = bot.api.sent(STAFF_CHAT)[staff_messages:]
        assert "#2 ·" in digest.result["text"] and "#1 ·" not in digest.result["text"]
        await run_job(bot, "digest")
        assert len(bot.api.sent(STAFF_CHAT)) == staff_messages + 2  # nothing new

        # Hans writes again: a new wait, listed again once it is long enough.
        await bot.send(HANS, "Hallo?", user=HANS_USER, reply_to=confirmation["message_id"])
        staff_messages = len(bot.api.sent(STAFF_CHAT))  # his follow-up copied under the card
        clock.now += 1.5 * HOUR
        await run_job(bot, "digest")
        assert len(bot.api.sent(STAFF_CHAT)) == staff_messages
        clock.now += HOUR
        await run_job(bot, "digest")
        [digest] = bot.api.sent(STAFF_CHAT)[staff_messages:]
        assert f"#1 · {format_duration(150 * 60, 'fr')}" in digest.result["text"]
        assert "#2 ·" not in digest.result["text"]

        # Ticket 2 answered then reopened: a new state, listed again after the delay.
        await reply_command(bot, "2 Devant la gare.")
        await staff_done(bot, "reopen", "2")
        staff_messages = len(bot.api.sent(STAFF_CHAT))
        await run_job(bot, "digest")
        [digest] = bot.api.sent(STAFF_CHAT)[staff_messages:]
        assert "#2 ·" in digest.result["text"]
        assert card_2


# ---------------------------------------------------------------------------- privacy, /forget


async def test_privacy_mentions_tickets_forget_and_the_configured_retention(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    async with staff_bot(botapi, engine, tmp_path, retention_days=90) as bot:
        privacy = await bot.command(ANNA, "privacy", language_code="en")
    text = privacy["text"]
    assert "/forget" in text
    assert "Closed tickets are deleted automatically after 90 days." in text
    assert "they are deleted automatically after 90 days" in text
    assert "365" not in text


async def test_forget_after_confirmation_leaves_no_trace_in_the_database_file(bot: RunningBot):
    secret = "Zebrafinken-Quartier"
    user = make_user(HANS, f"{secret}-Name", "zebra_user", "de")
    await bot.command(HANS, "language", user=user)
    await bot.send(HANS, f"Was ist KMØ {secret}?", user=user)
    confirmation, card = await ask(bot, HANS, f"{secret}: wo parken?", user)
    staff_reply(bot, f"Antwort zu {secret}.", card["message_id"])
    [*_, answer] = await bot.api.wait_for_message(HANS, count=4)
    await bot.send(HANS, f"{secret} Nachfrage", user=user, reply_to=answer.result["message_id"])
    bot.storage.add_feedback(HANS, "kmo-what", "de", True)
    bot.storage.set_language(HANS, "de")
    assert secret.encode() in raw_bytes(bot.storage.path)  # the check below can see text

    question = await bot.command(HANS, "forget", user=user)
    assert question["text"].startswith("Alles löschen, was über Sie gespeichert ist?")
    assert buttons(question) == [("Ja, löschen", "fg:yes"), ("Abbrechen", "fg:no")]
    cancelled = await bot.tap_and_wait_edit(HANS, question, "fg:no", user=user)
    assert cancelled["text"] == "Es wurde nichts gelöscht."
    assert "reply_markup" not in cancelled
    assert bot.storage.language(HANS) == "de"

    # What the staff chat holds of the user's words: the card and the copied follow-up.
    follow_up = next(m for m in staff_messages(bot) if f"{secret} Nachfrage" in m["text"])
    staff_answer = next(m for m in staff_messages(bot) if m["text"] == f"Antwort zu {secret}.")
    question = await bot.command(HANS, "forget", user=user)
    done = await bot.tap_and_wait_edit(HANS, question, "fg:yes", user=user)
    assert done["text"] == texts.forgotten("de")
    await bot.api.wait_for(lambda c: c.method == "deleteMessages" and c.done)
    deleted = bot.api.deleted_messages.get(STAFF_CHAT, {})
    assert {card["message_id"], follow_up["message_id"]} <= set(deleted)
    left = [m for m in staff_messages(bot) if secret in m.get("text", "")]
    assert left == [staff_answer]  # the team's own words stay

    data = raw_bytes(bot.storage.path)
    assert secret.encode() not in data
    for table in ("users", "questions", "feedback", "tickets", "ticket_messages"):
        assert bot.storage.query(f"SELECT * FROM {table}") == [], table
    # A staff reply under the team's old answer now leads nowhere, and tells the user nothing.
    messages = len(bot.api.sent(HANS))
    staff_reply(bot, "Noch da?", staff_answer["message_id"])
    await settled(bot)
    assert len(bot.api.sent(HANS)) == messages
    assert confirmation


async def test_forget_leaves_cards_telegram_no_longer_lets_the_bot_delete(bot: RunningBot):
    """Telegram lets a bot delete its messages for 48 hours: an older card stays in the staff
    chat (as /privacy says), a recent one goes, and the user is told their data is deleted."""
    _, old_card = await ask(bot, HANS, "Alte Frage zum Campus", HANS_USER)
    _, new_card = await ask(bot, HANS, "Neue Frage zum Campus", HANS_USER)
    bot.api.message(STAFF_CHAT, old_card["message_id"])["date"] -= 49 * 3600

    question = await bot.command(HANS, "forget", user=HANS_USER)
    done = await bot.tap_and_wait_edit(HANS, question, "fg:yes", user=HANS_USER)
    assert done["text"] == texts.forgotten("de")
    await bot.api.wait_for(lambda c: c.method == "deleteMessages" and c.done)
    assert [m["message_id"] for m in staff_messages(bot)] == [old_card["message_id"]]
    assert bot.storage.query("SELECT * FROM tickets") == []


def raw_bytes(db_path: Path) -> bytes:
    parts = [db_path, db_path.with_name(db_path.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


# ---------------------------------------------------------------------------- retention


async def test_the_daily_job_purges_tickets_closed_longer_than_the_retention(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    async with staff_bot(botapi, engine, tmp_path, retention_days=30) as bot:
        for user_id, user in [(HANS, HANS_USER), (ANNA, ANNA_USER), (MALLORY, MALLORY_USER)]:
            await ask(bot, user_id, f"Frage von {user['first_name']}", user)
        desk(bot).close(1)
        desk(bot).close(2)
        clock = Clock(desk(bot).now() + 31 * 86400)
        desk(bot).now = clock
        desk(bot).close(3)
        with bot.storage.transaction() as db:
            db.execute("UPDATE tickets SET closed_at = ? WHERE id = 2", (clock.now - 86400,))

        await run_job(bot, "purge")
        assert [r["id"] for r in bot.storage.query("SELECT id FROM tickets")] == [2, 3]


# ---------------------------------------------------------------------------- configuration


def test_digest_and_retention_settings_from_the_environment():
    settings = Settings.from_env({})
    assert (settings.digest_after_hours, settings.digest_interval_minutes) == (24.0, 60.0)
    assert settings.retention_days == 365
    settings = Settings.from_env(
        {
            "FAQBOT_DIGEST_AFTER_HOURS": "0.5",
            "FAQBOT_DIGEST_INTERVAL_MINUTES": "5",
            "FAQBOT_RETENTION_DAYS": "30",
        }
    )
    assert (settings.digest_after_hours, settings.digest_interval_minutes) == (0.5, 5.0)
    assert settings.retention_days == 30
    for name, value in [
        ("FAQBOT_DIGEST_AFTER_HOURS", "0"),
        ("FAQBOT_DIGEST_INTERVAL_MINUTES", "soon"),
        ("FAQBOT_RETENTION_DAYS", "0"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


# ---------------------------------------------------------------------------- durability


def ticket_row(db_path: Path, ticket_id: int) -> sqlite3.Row | None:
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    except sqlite3.OperationalError:  # the bot has not created its tables yet
        return None
    finally:
        db.close()


def pending_updates(db_path: Path) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT update_id FROM inbox WHERE status = 'pending'").fetchall()
    finally:
        db.close()


async def until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")


def push_staff_reply(botapi: BotApiDouble, card_id: int) -> str:
    """Sophie answers the card in the staff group; the text she wrote."""
    text = "Am Bahnhof gibt es überdachte Stellplätze."
    botapi.push_text(STAFF_CHAT, text, user=SOPHIE_USER, chat_type="supergroup", reply_to=card_id)
    return text


def staff_bot_files(botapi: BotApiDouble, tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """The database, environment (with the staff chat) and log of a real `faqbot run`."""
    db_path = tmp_path / "faqbot.sqlite3"
    env = bot_environment(botapi.url, db_path)
    env["STAFF_CHAT_ID"] = str(STAFF_CHAT)
    return db_path, env, tmp_path / "faqbot.log"


async def test_a_staff_answer_after_a_kill_9_reaches_the_user(botapi: BotApiDouble, tmp_path: Path):
    db_path, env, log_path = staff_bot_files(botapi, tmp_path)

    process = await start_bot(botapi, env, log_path)
    try:
        pushed = botapi.push_command(HANS, "ask", GERMAN_QUESTION, user=HANS_USER)
        [card] = await botapi.wait_for_message(STAFF_CHAT, timeout=20)
        card_id = card.result["message_id"]
        # The card is recorded, and the /ask confirmed to the API (or it would come again).
        await until(lambda: (row := ticket_row(db_path, 1)) and row["staff_message_id"] == card_id)
        await confirmed(botapi, pushed.update["update_id"])
    finally:
        await stop(process, signal.SIGKILL)

    process = await start_bot(botapi, env, log_path)
    try:
        staff_reply_text = push_staff_reply(botapi, card_id)
        [confirmation, answer] = await botapi.wait_for_message(HANS, count=2, timeout=20)
        assert confirmation.result["text"] == texts.ticket_created("de", 1)
        assert answer.result["text"].startswith(f"{HEADER_DE}\n\n{staff_reply_text}")
        await until(lambda: ticket_row(db_path, 1)["status"] == ANSWERED)
    finally:
        assert await stop(process, signal.SIGTERM) == 0
    assert ticket_row(db_path, 2) is None  # the /ask was not handled twice


async def test_an_ask_handled_again_after_its_confirmation_tells_the_user_nothing_twice(
    botapi: BotApiDouble, tmp_path: Path
):
    """A crash after the confirmation was sent but before the update was marked handled:
    the /ask is handled again at the next start, and the user (told already) hears nothing
    more about it until the team answers."""
    db_path, env, log_path = staff_bot_files(botapi, tmp_path)

    process = await start_bot(botapi, env, log_path)
    try:
        pushed = botapi.push_command(HANS, "ask", GERMAN_QUESTION, user=HANS_USER)
        [card] = await botapi.wait_for_message(STAFF_CHAT, timeout=20)
        [confirmation] = await botapi.wait_for_message(HANS, timeout=20)
        assert confirmation.result["text"] == texts.ticket_created("de", 1)
        await confirmed(botapi, pushed.update["update_id"])
    finally:
        assert await stop(process, signal.SIGTERM) == 0
    # What the crash would have left: the update still waiting in the inbox.
    db = sqlite3.connect(db_path)
    with db:
        db.execute(
            "UPDATE inbox SET status = 'pending', payload = ? WHERE update_id = ?",
            (json.dumps(pushed.update), pushed.update["update_id"]),
        )
    db.close()

    process = await start_bot(botapi, env, log_path)
    try:
        await until(lambda: not pending_updates(db_path))
        staff_reply_text = push_staff_reply(botapi, card.result["message_id"])
        [_, answer] = await botapi.wait_for_message(HANS, count=2, timeout=20)
        assert answer.result["text"].startswith(f"{HEADER_DE}\n\n{staff_reply_text}")
    finally:
        assert await stop(process, signal.SIGTERM) == 0
    assert ticket_row(db_path, 2) is None
