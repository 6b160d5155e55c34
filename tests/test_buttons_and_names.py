"""Two small defects of issue 9: a button query without data got the language picker's handler
(and a crash: "something went wrong"); direction controls in a user's or staff member's name
reached the staff chat as they were, so a right-to-left override could disguise a name and
turn the rest of the line around."""

from __future__ import annotations

import copy

import pytest

from bot.formatting import strip_bidi
from handlers import texts
from tests.botapi_double import make_user
from tests.test_telegram_conversation import ANNA, STAFF_CHAT, RunningBot, bot, engine  # noqa: F401
from tests.test_telegram_escalation import SOPHIE, ask, eventually
from tests.test_telegram_staff import desk, settled

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

RLO, PDF, LRI, PDI, LRM, RLM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200e", "\u200f"
BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))] + [LRM, RLM]


def push_query_without_data(running: RunningBot, message: dict, data: str | None) -> str:
    """A callback query on `message` whose data is `data` ("" or, None, absent altogether, as
    Telegram sends for a game button); its id."""
    pushed = running.api.push_callback(
        ANNA, message["message_id"], "placeholder", language_code="en"
    )
    query = copy.deepcopy(pushed.update["callback_query"])
    # The placeholder update may already be on its way to the bot: answer it like any other,
    # then send the one under test as a new update.
    query["id"] = f"{query['id']}-bare"
    running.api.callback_answers[query["id"]] = None
    if data is None:
        del query["data"]
    else:
        query["data"] = data
    running.api._enqueue("callback_query", query)
    return query["id"]


@pytest.mark.parametrize("data", ["", None], ids=["empty data", "no data"])
async def test_a_button_without_data_gets_the_expired_button_toast(
    bot: RunningBot,  # noqa: F811
    data: str | None,
):
    reply = await bot.send(ANNA, "What is KMØ?", language_code="en")
    query_id = push_query_without_data(bot, reply, data)
    [answer] = await bot.api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) == query_id
        )
    )
    assert answer.ok and answer.params.get("text") == texts.expired_button("en")
    await settled(bot)
    sent = [c.result["text"] for c in bot.api.sent(ANNA)]
    assert texts.something_went_wrong("en") not in sent
    assert bot.storage.language(ANNA) is None  # and no language was chosen for her


def test_strip_bidi_removes_every_direction_control_and_nothing_else():
    spelled = "Anna Müller-Ørsted 李 عائشة שרה"
    assert strip_bidi("".join(BIDI_CONTROLS) + spelled + "\u061c") == spelled
    assert strip_bidi(spelled) == spelled


async def test_direction_controls_in_names_do_not_reach_the_staff_chat(
    bot: RunningBot,  # noqa: F811
):
    spoof = make_user(ANNA, f"Anna{RLO}gnp.exe", f"anna{RLM}_k", language_code="fr")
    _, card = await ask(bot, ANNA, "Où garer mon vélo près de KMØ ?", spoof)
    assert "De\u00a0: Annagnp.exe (@anna_k)" in card["text"]
    assert not any(c in card["text"] for c in BIDI_CONTROLS)

    staff = make_user(SOPHIE, f"{LRI}Sophie{PDI}{PDF}", language_code="fr")
    bot.api.push_callback(STAFF_CHAT, card["message_id"], "tk:1", user=staff)
    await eventually(lambda: desk(bot).get(1).assignee_name is not None)
    await settled(bot)
    await eventually(lambda: "pris par Sophie" in bot.current(STAFF_CHAT, card)["text"])
    staff_lines = [c.result["text"] for c in bot.api.sent(STAFF_CHAT)]
    staff_lines.append(bot.current(STAFF_CHAT, card)["text"])  # the card, edited in place
    assert not any(c in line for line in staff_lines for c in BIDI_CONTROLS)
