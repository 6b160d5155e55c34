"""End to end (issue 9, "nothing lost and everyone served"): feedback votes that count once,
an erasure that holds while another process reads the database, questions from groups that
stay out of the group, and /forget in the staff chat's lists.

The real Application polls the Bot API double (see tests/test_telegram_conversation.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.engine import Engine
from handlers import texts
from tests.botapi_double import BotApiDouble
from tests.test_telegram_conversation import (
    ANNA,
    RunningBot,
    data_of,
    engine,  # noqa: F401  (the module-scoped fixture)
    running_bot,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:  # noqa: F811
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


def votes(bot: RunningBot) -> list[tuple]:
    rows = bot.storage.query(
        "SELECT user_id, chat_id, message_id, faq_id, helpful FROM feedback ORDER BY id"
    )
    return [tuple(r) for r in rows]


async def tap_many(bot: RunningBot, chat_id: int, message: dict, data: str, times: int) -> list:
    """`times` taps pushed at once (an impatient user), each answered: the toasts."""
    ids = [
        bot.api.push_callback(chat_id, message["message_id"], data).update["callback_query"]["id"]
        for _ in range(times)
    ]
    answers = await bot.api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) in ids
        ),
        count=times,
    )
    return [a.params.get("text") for a in answers]


# ---------------------------------------------------------------------------- feedback votes


async def test_twenty_taps_on_one_answer_are_one_vote_which_a_later_tap_changes(bot: RunningBot):
    answer = await bot.send(ANNA, "What is KMØ?", language_code="en")
    assert "fb:1:en:kmo-what" in data_of(answer)

    toasts = await tap_many(bot, ANNA, answer, "fb:1:en:kmo-what", 20)
    assert toasts == [texts.feedback_thanks("en", True)] * 20  # every tap is answered
    assert votes(bot) == [(ANNA, ANNA, answer["message_id"], "kmo-what", 1)]

    # 👎 after 👍 on the same answer replaces the vote.
    toast = await bot.tap(ANNA, answer, "fb:0:en:kmo-what")
    assert toast.params.get("text") == texts.feedback_thanks("en", False)
    assert votes(bot) == [(ANNA, ANNA, answer["message_id"], "kmo-what", 0)]

    # Another answer message is another vote.
    again = await bot.send(ANNA, "What is KMØ?", language_code="en")
    await bot.tap(ANNA, again, "fb:1:en:kmo-what")
    assert votes(bot) == [
        (ANNA, ANNA, answer["message_id"], "kmo-what", 0),
        (ANNA, ANNA, again["message_id"], "kmo-what", 1),
    ]


async def test_a_forged_vote_for_another_entry_than_the_answer_is_refused(bot: RunningBot):
    answer = await bot.send(ANNA, "What is KMØ?", language_code="en")
    assert bot.engine.kb.entries.get("be40-what") is not None
    assert "fb:1:en:be40-what" not in data_of(answer)

    forged = await bot.tap(ANNA, answer, "fb:1:en:be40-what")
    assert forged.params.get("text") == texts.expired_button("en")
    assert votes(bot) == []
    assert "fb:1:en:kmo-what" in data_of(bot.current(ANNA, answer))  # the real buttons stay

    await bot.tap(ANNA, answer, "fb:1:en:kmo-what")
    forged = await bot.tap(ANNA, answer, "fb:0:en:be40-what")
    assert forged.params.get("text") == texts.expired_button("en")
    assert votes(bot) == [(ANNA, ANNA, answer["message_id"], "kmo-what", 1)]

    # A message that is no answer at all (the /help text) takes no vote either.
    help_message = await bot.command(ANNA, "help", language_code="en")
    forged = await bot.tap(ANNA, help_message, "fb:0:en:kmo-what")
    assert forged.params.get("text") == texts.expired_button("en")
    assert len(votes(bot)) == 1
