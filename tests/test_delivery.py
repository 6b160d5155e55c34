"""What the desk owes users and staff reaches them, through the outbox, against the Bot API
double: media and edited answers from staff, one ticket per question however often "Ask the
team" is tapped, a card for a ticket filed while the staff group was unreachable once it is
back (no restart), and what the inbox keeps of users' words."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.engine import ESCALATE, Engine
from handlers import delivery, texts
from tests.botapi_double import BotApiDouble
from tests.test_telegram_conversation import (
    ESCALATING,
    STAFF_CHAT,
    RunningBot,
    data_of,
    engine,  # noqa: F401  (the module-scoped fixture)
    first,
    running_bot,
)
from tests.test_telegram_escalation import (
    GERMAN_QUESTION,
    HANS,
    HANS_USER,
    HEADER_DE,
    SOPHIE_USER,
    ask,
    desk,
    eventually,
    staff_reply,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:  # noqa: F811
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


async def test_a_photo_from_staff_reaches_the_user_with_its_caption(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    pushed = bot.api.push_photo(
        STAFF_CHAT,
        "Der Plan des Bahnhofs",
        user=SOPHIE_USER,
        chat_type="supergroup",
        reply_to=card["message_id"],
    )
    [copied] = await bot.api.wait_for(lambda c: c.method == "copyMessage" and c.done)
    assert copied.ok and int(copied.params["chat_id"]) == HANS
    received = bot.api.message(HANS, copied.result["message_id"])
    assert "photo" in received
    assert received["caption"].startswith(f"{HEADER_DE}\n\nDer Plan des Bahnhofs")
    await eventually(lambda: bot.api.reactions.get((STAFF_CHAT, pushed.message_id)) == ["👌"])
    [answer] = [m for m in desk(bot).messages(1) if m.direction == "staff"]
    assert answer.text == "Der Plan des Bahnhofs"
    assert answer.user_chat_message_id == copied.result["message_id"]


async def test_a_sticker_from_staff_is_not_passed_on_and_staff_are_told(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    pushed = bot.api.push_sticker(
        STAFF_CHAT, user=SOPHIE_USER, chat_type="supergroup", reply_to=card["message_id"]
    )
    [_, notice] = await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert notice.result["text"] == texts.staff_not_deliverable("fr")
    assert notice.result["reply_to_message"]["message_id"] == pushed.message_id
    assert len(bot.api.sent(HANS)) == 1  # the ticket confirmation only


async def test_an_edited_staff_answer_reaches_the_user_as_a_correction(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    reply = staff_reply(bot, "Am Bahnhof, Gleis 3.", card["message_id"])
    [_, answer] = await bot.api.wait_for_message(HANS, count=2)
    await eventually(lambda: bot.api.reactions.get((STAFF_CHAT, reply)) == ["👌"])

    bot.api.push_edited_text(STAFF_CHAT, reply, "Am Bahnhof, Gleis 1.", user=SOPHIE_USER)
    [_, _, correction] = await bot.api.wait_for_message(HANS, count=3)
    assert correction.result["text"] == (
        "Korrektur des Teams Territoire d'Industrie\n\nAm Bahnhof, Gleis 1."
    )
    assert correction.result["reply_to_message"]["message_id"] == answer.result["message_id"]


async def test_an_edit_of_anything_else_in_the_staff_chat_sends_nothing(bot: RunningBot):
    await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    chatter = bot.api.push_text(STAFF_CHAT, "Kaffee?", user=SOPHIE_USER, chat_type="supergroup")
    await asyncio.sleep(0.3)
    bot.api.push_edited_text(STAFF_CHAT, chatter.message_id, "Tee?", user=SOPHIE_USER)
    bot.api.push_text(HANS, "/help", user=HANS_USER)  # a sentinel handled after the edit
    await bot.api.wait_for_message(HANS, count=2)
    assert len(bot.api.sent(HANS)) == 2 and len(bot.api.sent(STAFF_CHAT)) == 1


async def test_ask_the_team_tapped_three_times_files_one_ticket(bot: RunningBot):
    question = first(bot.engine, ESCALATING, ESCALATE)
    escalated = await bot.send(HANS, question, user=HANS_USER)
    [ask_team] = [d for d in data_of(escalated) if d.startswith("ask:")]
    for _ in range(3):
        await bot.tap(HANS, escalated, ask_team, user=HANS_USER)
    replies = await bot.api.wait_for_message(HANS, count=4)
    # In French, the language Hans wrote his question in (the conversation's), not his
    # German profile's.
    assert [r.result["text"] for r in replies[1:]] == [
        texts.ticket_created("fr", 1),
        texts.already_filed("fr", 1),
        texts.already_filed("fr", 1),
    ]
    assert len(bot.storage.query("SELECT id FROM tickets")) == 1
    await bot.api.wait_for_message(STAFF_CHAT)
    await asyncio.sleep(0.2)
    assert len(bot.api.sent(STAFF_CHAT)) == 1  # one card


async def test_a_card_waits_while_the_staff_group_is_unreachable_then_arrives(bot: RunningBot):
    bot.api.block_chat(STAFF_CHAT, "Forbidden: bot was kicked from the supergroup chat")
    confirmation = await bot.command(HANS, "ask", GERMAN_QUESTION, user=HANS_USER)
    assert confirmation["text"] == texts.ticket_created("de", 1)
    await eventually(
        lambda: (
            [i.error for i in desk(bot).outbox.pending()]
            == ["Forbidden: bot was kicked from the supergroup chat"]
        )
    )
    assert desk(bot).get(1).staff_message_id is None

    bot.api.unblock_chat(STAFF_CHAT)  # the bot is added back: no restart needed
    bot.application.job_queue.run_once(delivery.retry_owed, 0)  # the 15 s job, now
    [card] = await bot.api.wait_for_message(STAFF_CHAT)
    assert card.result["text"].startswith("Ticket n°1")
    # Telegram refused the first try: this one is no duplicate, and says nothing of a resend.
    assert texts.sent_again("fr") not in card.result["text"]
    await eventually(lambda: desk(bot).get(1).staff_message_id == card.result["message_id"])
    assert desk(bot).outbox.backlog() == (0, 0.0)


async def test_the_inbox_keeps_no_user_words_once_an_update_is_handled(bot: RunningBot):
    await bot.send(HANS, "Was ist KMØ Zebrafink?", user=HANS_USER)
    await eventually(lambda: bot.storage.query("SELECT status FROM inbox")[-1]["status"] == "done")
    rows = bot.storage.query("SELECT status, payload, user_id FROM inbox")
    assert [(r["status"], r["payload"], r["user_id"]) for r in rows] == [("done", None, HANS)]
    with sqlite3.connect(bot.storage.path) as db:  # a second reader sees the same
        assert db.execute("SELECT COUNT(*) FROM inbox WHERE payload IS NOT NULL").fetchone() == (0,)
