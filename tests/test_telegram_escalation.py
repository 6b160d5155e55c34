"""End to end: questions handed to the team and staff answers routed back to the user.

The real Application polls the Bot API double (see tests/test_telegram_conversation.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.engine import Engine
from bot.answering.knowledge import load_or_raise
from bot.desk.tickets import ANSWERED, OPEN, TicketDesk
from handlers import texts
from tests.botapi_double import BotApiDouble, make_user
from tests.test_telegram_conversation import (
    STAFF_CHAT,
    RunningBot,
    data_of,
    engine,  # noqa: F401  (the module-scoped fixture)
    running_bot,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

HANS = 502
SOPHIE = 901  # a staff member
HANS_USER = make_user(HANS, "Hans", "hans_m", "de", last_name="Müller")
SOPHIE_USER = make_user(SOPHIE, "Sophie", language_code="fr")
GERMAN_QUESTION = "Wo kann ich in Colmar mein Fahrrad parken?"
HEADER_DE = "Antwort des Teams Territoire d'Industrie (Ticket Nr. 1)"


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:  # noqa: F811
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


def desk(bot: RunningBot) -> TicketDesk:
    return TicketDesk(bot.storage)


async def ask(bot: RunningBot, chat_id: int, question: str, user: dict) -> tuple[dict, dict]:
    """/ask <question>: the user's confirmation and the card posted in the staff chat."""
    cards = len(bot.api.sent(STAFF_CHAT))
    confirmation = await bot.command(chat_id, "ask", question, user=user)
    calls = await bot.api.wait_for_message(STAFF_CHAT, count=cards + 1)
    card = calls[cards].result
    # The card is recorded just after Telegram returns it: wait for that before replying.
    for _ in range(200):
        if desk(bot).ticket_for_staff_message(card["message_id"]) is not None:
            break
        await asyncio.sleep(0.01)
    return confirmation, card


async def eventually(condition, timeout: float = 2.0) -> None:
    """The bot records a delivery just after Telegram answers: wait until it has."""
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


def staff_reply(bot: RunningBot, text: str, reply_to: int, chat_id: int = STAFF_CHAT) -> int:
    """A staff member replies to `reply_to`; the id of the staff message."""
    pushed = bot.api.push_text(
        chat_id, text, user=SOPHIE_USER, chat_type="supergroup", reply_to=reply_to
    )
    return pushed.update["message"]["message_id"]


async def test_a_german_user_gets_the_staff_answer_with_a_german_header(bot: RunningBot):
    confirmation, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)

    assert confirmation["text"] == texts.ticket_created("de", 1)
    assert "Ticket Nr. 1" in confirmation["text"]
    assert card["text"].startswith("Ticket n°1")
    assert "Hans Müller (@hans_m)" in card["text"]
    assert "🇩🇪 Deutsch" in card["text"]
    assert GERMAN_QUESTION in card["text"]
    assert data_of(card) == ["tk:1", "tx:1"]
    ticket = desk(bot).get(1)
    assert (ticket.language, ticket.status, ticket.staff_message_id) == (
        "de",
        OPEN,
        card["message_id"],
    )

    staff_reply(bot, "Am Bahnhof gibt es überdachte Stellplätze.", card["message_id"])
    [_, delivered] = await bot.api.wait_for_message(HANS, count=2)
    answer = delivered.result
    assert answer["text"].startswith(f"{HEADER_DE}\n\nAm Bahnhof gibt es überdachte Stellplätze.")
    assert data_of(answer) == ["sv:1", "rc:1"]  # "Solved", "Reply to continue"
    assert any(e["type"] == "bold" for e in answer.get("entities", []))

    await eventually(lambda: desk(bot).messages(1)[-1].user_chat_message_id is not None)
    ticket = desk(bot).get(1)
    assert ticket.status == ANSWERED and ticket.flagged is None
    [staff_message] = [m for m in desk(bot).messages(1) if m.direction == "staff"]
    assert staff_message.author_id == SOPHIE
    assert staff_message.user_chat_message_id == answer["message_id"]
    assert len(bot.api.sent(STAFF_CHAT)) == 1  # no noise in the staff chat


async def test_the_ask_the_team_button_posts_the_logged_question(bot: RunningBot):
    question = "Wo kann ich mein Auto parken?"
    reply = await bot.send(HANS, question, user=HANS_USER)
    [row] = bot.storage.query("SELECT id, language FROM questions")
    ask_button = f"ask:{row['id']}"
    assert ask_button in data_of(reply), "the engine answers this question now: pick another"
    await bot.tap(HANS, reply, ask_button, user=HANS_USER)
    [card] = await bot.api.wait_for_message(STAFF_CHAT)
    assert question in card.result["text"]
    [_, confirmation] = await bot.api.wait_for_message(HANS, count=2)
    assert confirmation.result["text"] == texts.ticket_created("de", 1)


async def test_a_reply_to_the_already_filed_reminder_is_a_follow_up(bot: RunningBot):
    """A second tap on "Ask the team" reminds the user of the ticket; like the confirmation
    (and it may be the only message about the ticket a user gets, when the tap is handled
    again after a crash), a reply to it reaches staff. Found by tests/test_chaos.py."""
    question = "Wo kann ich mein Auto parken?"
    reply = await bot.send(HANS, question, user=HANS_USER)
    [row] = bot.storage.query("SELECT id FROM questions")
    await bot.tap(HANS, reply, f"ask:{row['id']}", user=HANS_USER)
    await bot.api.wait_for_message(HANS, count=2)
    await bot.tap(HANS, reply, f"ask:{row['id']}", user=HANS_USER)
    [*_, reminder] = await bot.api.wait_for_message(HANS, count=3)
    assert reminder.result["text"] == texts.already_filed("de", 1)

    bot.api.push_text(
        HANS, "Und am Samstag?", user=HANS_USER, reply_to=reminder.result["message_id"]
    )
    [_, copy] = await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert "Und am Samstag?" in copy.result["text"]
    assert len(bot.storage.query("SELECT id FROM tickets")) == 1


async def test_a_reply_to_a_confirmation_never_written_down_is_still_a_follow_up(bot: RunningBot):
    """The process may stop after the confirmation reached the user and before its message id
    was written down: the confirmation names its ticket, and a reply to it reaches staff.
    Found by tests/test_chaos.py."""
    question = "Wo kann ich mein Auto parken?"
    reply = await bot.send(HANS, question, user=HANS_USER)
    [row] = bot.storage.query("SELECT id FROM questions")
    await bot.tap(HANS, reply, f"ask:{row['id']}", user=HANS_USER)
    [_, confirmation] = await bot.api.wait_for_message(HANS, count=2)
    notices = "SELECT id FROM ticket_messages WHERE direction = 'notice'"
    await eventually(lambda: bot.storage.query(notices))
    with bot.storage.transaction() as db:  # as if the process had stopped before writing it
        db.execute("DELETE FROM ticket_messages WHERE direction = 'notice'")

    bot.api.push_text(
        HANS, "Und am Samstag?", user=HANS_USER, reply_to=confirmation.result["message_id"]
    )
    [_, copy] = await bot.api.wait_for_message(STAFF_CHAT, count=2)
    assert "Und am Samstag?" in copy.result["text"]
    assert len(bot.storage.query("SELECT id FROM tickets")) == 1


async def test_html_in_the_question_reaches_staff_escaped(bot: RunningBot):
    question = "<b>Prix</b> & tarifs pour une PME ?"
    _, card = await ask(bot, HANS, question, make_user(HANS, "<i>Jo</i> & Co"))

    assert question in card["text"]
    assert "<i>Jo</i> & Co" in card["text"]
    [call] = bot.api.sent(STAFF_CHAT)
    assert "&lt;b&gt;Prix&lt;/b&gt; &amp; tarifs" in call.params["text"]
    bold_texts = [
        card["text"][e["offset"] : e["offset"] + e["length"]]
        for e in card.get("entities", [])
        if e["type"] == "bold"
    ]
    assert bold_texts == ["Ticket n°1"]


async def test_a_user_who_blocked_the_bot_is_reported_under_the_ticket(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    bot.api.block_chat(HANS)

    staff_reply(bot, "Am Bahnhof.", card["message_id"])
    [_, notice] = await bot.api.wait_for_message(STAFF_CHAT, count=2)

    assert notice.result["text"] == texts.staff_undelivered("fr", 1)
    assert notice.result["reply_to_message"]["message_id"] == card["message_id"]
    await eventually(lambda: desk(bot).get(1).flagged is not None)
    ticket = desk(bot).get(1)
    assert ticket.flagged and "blocked" in ticket.flagged


async def test_replies_outside_the_staff_chat_do_nothing(bot: RunningBot):
    other_group = -1009999
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    # A message in another group with the same message id as the card, then a reply to it.
    bot.api.push_text(other_group, "hello", user=SOPHIE_USER, chat_type="supergroup")
    assert card["message_id"] == 1
    staff_reply(bot, "Am Bahnhof.", 1, chat_id=other_group)
    # A reply in the staff chat to something that is not a ticket is left alone too.
    bot.api.push_text(STAFF_CHAT, "note", user=SOPHIE_USER, chat_type="supergroup")
    staff_reply(bot, "just chatting", 2)

    # Something observable afterwards, to be sure the updates above were processed.
    reply = await bot.send(HANS, "Was ist KMØ?", user=HANS_USER)
    assert reply["text"].startswith("Was ist KMØ?")
    assert len(bot.api.sent(HANS)) == 2  # the confirmation and this answer, no staff answer
    assert desk(bot).get(1).status == OPEN
    assert bot.api.sent(other_group) == []
    assert len(bot.api.sent(STAFF_CHAT)) == 1


async def test_a_bare_ask_asks_for_the_question_and_the_next_message_is_the_ticket(
    bot: RunningBot,
):
    prompt = await bot.command(HANS, "ask", user=HANS_USER)
    assert prompt["text"] == texts.ask_prompt("de")
    [call] = [c for c in bot.api.sent(HANS) if c.result["message_id"] == prompt["message_id"]]
    assert call.params["reply_markup"]["force_reply"] is True
    assert bot.storage.query("SELECT * FROM tickets") == []

    confirmation = await bot.send(
        HANS, GERMAN_QUESTION, user=HANS_USER, reply_to=prompt["message_id"]
    )
    assert confirmation["text"].startswith(texts.ticket_created("de", 1))
    [card] = await bot.api.wait_for_message(STAFF_CHAT)
    assert GERMAN_QUESTION in card.result["text"]


async def test_a_banned_user_and_the_limit_are_refused_politely(bot: RunningBot):
    _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
    for n in range(2, 4):
        await ask(bot, HANS, f"{GERMAN_QUESTION} {n}", HANS_USER)
    refused = await bot.command(HANS, "ask", "Noch eine Frage zum Parken", user=HANS_USER)
    assert refused["text"] == texts.ticket_limit("de")

    desk(bot).ban_user_of(1)
    refused = await bot.command(HANS, "ask", "Noch eine Frage zum Parken", user=HANS_USER)
    assert refused["text"] == texts.ticket_banned("de")
    assert len(bot.storage.query("SELECT * FROM tickets")) == 3


async def test_without_a_staff_chat_the_ticket_is_kept_and_the_user_told(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    from tests import test_telegram_conversation as conversation

    monkeypatch.setattr(conversation, "STAFF_CHAT", None)
    async with running_bot(botapi, engine, tmp_path) as bot:
        reply = await bot.command(HANS, "ask", GERMAN_QUESTION, user=HANS_USER)
        assert reply["text"] == texts.team_unreachable("de", 1)
        assert desk(bot).get(1).status == OPEN


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_every_message_a_reply_to_which_is_a_follow_up_names_its_ticket(language):
    from handlers.escalation import TICKET_NUMBER

    for text in (
        texts.ticket_created(language, 12),
        texts.already_filed(language, 12),
        texts.followup_sent(language, 12),
        # the header names the ticket before any number the team writes in its answer
        texts.staff_answer(language, "Siehe auch Ticket #5.", 12),
        texts.staff_faq_answer(language, load_or_raise().entries["kmo-what"], 12),
    ):
        assert TICKET_NUMBER.search(text.replace("<b>", "").replace("</b>", ""))[1] == "12"
