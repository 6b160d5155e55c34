"""At INFO the logs never contain what users wrote, nor their names, nor their user ids: a
whole conversation, every kind of message a user or staff member can send, and not one word
of it in any log record, whichever library logged it. (The token is covered by
tests/test_webhook.py and tests/test_telegram_restart.py, on the real process's log.)"""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

from bot.answering.engine import ESCALATE, Engine
from bot.desk.tickets import TicketLimits
from bot.logs import JsonFormatter
from handlers import texts
from tests.botapi_double import BotApiDouble, make_user
from tests.test_telegram_conversation import (
    ESCALATING,
    STAFF_CHAT,
    buttons,
    data_of,
    engine,  # noqa: F401
    first,
)
from tests.test_telegram_escalation import ask, eventually, staff_reply
from tests.test_telegram_staff import desk, reply_command, settled, staff_bot, staff_command

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

ZOE = 6302914587  # a user id (and private chat id) no timestamp or counter can contain
# Words that only users and staff write: none of them may reach a log line.
NAME, LAST_NAME, USERNAME = "Zéphyrine", "Quintavalle", "zephyrine_q"
PRIVATE = (
    NAME,
    LAST_NAME,
    USERNAME,
    "Qu'est-ce",
    "xylophone",
    "zinzolin",
    "ornithorynque",
    "vermillon",
    "bergamote",
    "capybara",
    "mandragore",
)


async def test_info_logs_hold_no_user_text_through_a_whole_conversation(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO)  # every logger: PTB, httpx, tornado, the bot
    user = make_user(ZOE, NAME, USERNAME, "fr", last_name=LAST_NAME)
    async with staff_bot(botapi, engine, tmp_path) as bot:
        await bot.command(ZOE, "start", user=user)
        answered = await bot.send(ZOE, "Qu'est-ce que KMØ ?", user=user)
        await bot.tap(ZOE, answered, next(d for d in data_of(answered) if d.startswith("fb:1")))
        await bot.send(ZOE, "Qu'est-ce que KMØ xylophone ?", user=user)  # suggestions
        await bot.send(ZOE, "zinzolin", user=user)
        escalating = first(bot.engine, ESCALATING, ESCALATE)
        escalated = await bot.send(ZOE, f"{escalating} capybara", user=user)
        [(_, ask_team)] = [b for b in buttons(escalated) if b[1].startswith("ask:")]
        await bot.tap(ZOE, escalated, ask_team, user=user)
        await botapi.wait_for_message(STAFF_CHAT)

        _, card = await ask(bot, ZOE, "Question privée bergamote ?", user)
        staff_reply(bot, "Réponse ornithorynque.", card["message_id"])
        [*_, answer] = await botapi.wait_for_message(ZOE, count=7)
        await eventually(lambda: desk(bot).messages(2)[-1].user_chat_message_id is not None)
        await bot.send(ZOE, "Et le vermillon ?", user=user, reply_to=answer.result["message_id"])
        await reply_command(bot, "1 Encore mandragore.")
        [asked] = [
            message_id
            for message_id, message in botapi.messages_by_id[ZOE].items()
            if "xylophone" in message.get("text", "")
        ]
        botapi.push_edited_text(ZOE, asked, "xylophone édité", user=user)
        await staff_command(bot, "open")
        # #2 waits for the team (the follow-up); #3 and #4 too: the limit refuses a fifth.
        await ask(bot, ZOE, "Troisième question zinzolin ?", user)
        await ask(bot, ZOE, "Quatrième question zinzolin ?", user)
        refused = await bot.command(ZOE, "ask", "Cinquième question capybara ?", user=user)
        assert refused["text"] == texts.ticket_limit("fr")
        await staff_command(bot, "unanswered")
        await settled(bot)
        forget = await bot.command(ZOE, "forget", user=user)
        await bot.tap_and_wait_edit(ZOE, forget, "fg:yes", user=user)
        await settled(bot)

    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any(r.name == "handlers.conversation" for r in records)  # the capture works
    assert any("ticket #2 created" in r.getMessage() for r in records)
    formatter = JsonFormatter()
    for record in records:
        line = formatter.format(record)  # message, extra fields and traceback
        json.loads(line)
        for word in PRIVATE:
            assert word.lower() not in line.lower(), f"{word!r} in a log line: {line}"
        assert str(ZOE) not in line, f"a user id in a log line: {line}"


HANDLERS = Path(__file__).resolve().parent.parent / "handlers"
LEVELS_SEEN_IN_PRODUCTION = {"info", "warning", "error", "exception", "critical"}


def test_no_log_call_at_info_or_above_names_a_user():
    """Every path, not only the conversation's: a log call at INFO or above in the handlers
    passes nothing whose name says it is about a user (`user.id`, `query.from_user.id`,
    `user_id`, `ticket.user_name`...). DEBUG may (`--verbose`)."""
    found = []
    for path in sorted(HANDLERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS_SEEN_IN_PRODUCTION
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "log"
            ):
                continue
            for arg in [*node.args[1:], *(k.value for k in node.keywords)]:
                if "user" in ast.unparse(arg).lower():
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(arg)}")
    assert found == []


NOEMIE = 97001  # an id found nowhere else in the bot's messages


async def test_info_logs_do_not_name_the_user_refused_a_ticket(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
):
    """A user id is personal data too: the line about a refused ticket says why, not who."""
    caplog.set_level(logging.INFO)
    user = make_user(NOEMIE, "Noémie", language_code="fr")
    limits = TicketLimits(max_open_per_user=1, max_per_hour=5)
    async with staff_bot(botapi, engine, tmp_path, ticket_limits=limits) as bot:
        await ask(bot, NOEMIE, "Question privée bergamote ?", user)
        refused = await bot.command(NOEMIE, "ask", "Encore une question ?", user=user)
        assert refused["text"] == texts.ticket_limit("fr")
        await settled(bot)
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any("ticket refused" in r.getMessage() for r in records)  # the line is still there
    formatter = JsonFormatter()
    for record in records:
        line = formatter.format(record)
        assert str(NOEMIE) not in line, f"a user id in a log line: {line}"
