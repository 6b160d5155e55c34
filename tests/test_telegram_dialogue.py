"""A conversation, not a series of first messages (issue 10), end to end over the Bot API
double: a follow-up answered from the answer before, acknowledgements without a ticket offer,
a gap said plainly with the subject's entry, an off-topic question shown the topics, one
conversation language, and a memory that /forget deletes and a restart keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.dialogue import DialogueState
from bot.answering.engine import Engine, gap_text
from handlers import callbacks, texts
from tests.botapi_double import BotApiDouble, make_user
from tests.test_telegram_conversation import (
    RunningBot,
    data_of,
    engine,  # noqa: F401  (the module-scoped fixture)
    running_bot,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

LEA = 7301
KARL = 7302
KARL_USER = make_user(KARL, "Karl", language_code="fr")  # a French profile, writing English


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:  # noqa: F811
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


def topic_buttons(bot: RunningBot, message: dict) -> bool:
    wanted = {callbacks.topic(t.id) for t in bot.engine.kb.topics}
    return wanted <= set(data_of(message))


async def test_a_follow_up_is_answered_from_the_answer_before(bot: RunningBot):
    kb = bot.engine.kb
    first = await bot.send(LEA, "Qu'est-ce que KMØ ?")
    assert first["text"].startswith(kb.entries["kmo-what"].title("fr"))
    follow_up = await bot.send(LEA, "et pour les étudiants ?")
    assert follow_up["text"].startswith(kb.entries["kmo-who"].title("fr"))
    # Without that context, the same words are about the training offer.
    other = await bot.send(LEA + 1, "et pour les étudiants ?")
    assert not other["text"].startswith(kb.entries["kmo-who"].title("fr"))


@pytest.mark.parametrize("text", ["ok", "super", "ok merci", "alles klar", "got it"])
async def test_an_acknowledgement_gets_a_kind_word_and_no_ticket_offer(bot: RunningBot, text):
    await bot.send(LEA, "Qu'est-ce que KMØ ?")
    reply = await bot.send(LEA, text)
    assert not [d for d in data_of(reply) if d.startswith("ask:")]
    assert "équipe" not in reply["text"]
    logged = bot.storage.query("SELECT status FROM questions ORDER BY id")
    assert [r["status"] for r in logged] == ["answer"]  # not an unanswered question


async def test_help_shows_the_topics(bot: RunningBot):
    reply = await bot.send(LEA, "aide")
    assert reply["text"] == texts.escape(
        "Je réponds aux questions sur le Territoire d'Industrie Sud Alsace à partir de sa FAQ. "
        "Écrivez votre question avec vos mots, ou choisissez un thème\u00a0:"
    )
    assert topic_buttons(bot, reply)


async def test_a_gap_is_said_plainly_with_the_subject_and_the_team(bot: RunningBot):
    reply = await bot.send(LEA, "KMØ est ouvert à quelle heure le samedi ?")
    assert reply["text"].startswith("La FAQ ne le dit pas")
    data = data_of(reply)
    assert [d for d in data if d.startswith("q:fr:kmo-")], data  # the subject's entry
    assert [d for d in data if d.startswith("ask:")], data  # and the team
    [row] = bot.storage.query("SELECT status FROM questions")
    assert row["status"] == "gap"


async def test_an_off_topic_question_is_shown_what_the_assistant_covers(bot: RunningBot):
    reply = await bot.send(LEA, "Tell me a joke", language_code="en")
    assert reply["text"].startswith("That is outside what I know.")
    assert topic_buttons(bot, reply)
    assert not [d for d in data_of(reply) if d.startswith("s:")]  # no random suggestion
    # ...but "Ask the team" last: a question taken for off-topic is never a dead end
    assert data_of(reply)[-1].startswith("ask:")


async def test_an_english_writer_with_a_french_profile_stays_in_english(bot: RunningBot):
    first = await bot.send(KARL, "What is the Be 4.0 fair?", user=KARL_USER)
    assert first["text"].startswith(bot.engine.kb.entries["be40-what"].title("en"))
    thanks = await bot.send(KARL, "ok thanks", user=KARL_USER)
    assert thanks["text"] == texts.escape(
        "You're welcome! Ask me anything else about the Territoire d'Industrie."
    )


async def test_the_conversation_s_memory_is_saved_and_forget_deletes_it(bot: RunningBot):
    await bot.send(LEA, "Qu'est-ce que KMØ ?")
    [row] = bot.storage.query("SELECT state FROM dialogues WHERE chat_id = ?", (LEA,))
    saved = DialogueState.from_json(row["state"])
    assert (saved.entries, saved.topic, saved.language) == (("kmo-what",), "kmo", "fr")
    bot.storage.forget_user(LEA)
    assert bot.storage.query("SELECT * FROM dialogues") == []


async def test_an_english_writer_with_a_french_profile_gets_english_in_a_ticket_round_trip(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    from tests.test_telegram_conversation import STAFF_CHAT
    from tests.test_telegram_escalation import staff_reply
    from tests.test_telegram_staff import staff_bot

    async with staff_bot(botapi, engine, tmp_path) as bot:
        asked = await bot.send(KARL, "Where can I buy stamps in Mulhouse?", user=KARL_USER)
        # outside the programme, said in English; the team can still be asked
        assert asked["text"].startswith("That is outside what I know")
        [ask] = [d for d in data_of(asked) if d.startswith("ask:")]
        await bot.tap(KARL, asked, ask, user=KARL_USER)
        [_, confirmation] = await bot.api.wait_for_message(KARL, count=2)
        assert confirmation.result["text"] == texts.ticket_created("en", 1)
        [card] = await bot.api.wait_for_message(STAFF_CHAT)
        staff_reply(bot, "La Poste, rue de la Gare.", card.result["message_id"])
        [*_, answer] = await bot.api.wait_for_message(KARL, count=3)
        assert answer.result["text"].startswith(
            "Answer from the Territoire d'Industrie team (ticket #1)"
        )
        topics = await bot.command(KARL, "topics", user=KARL_USER)
        assert topics["text"] == texts.topics_menu("en").replace("<b>", "").replace("</b>", "")


async def test_a_compound_question_gets_both_short_answers_in_the_order_asked(bot: RunningBot):
    reply = await bot.send(LEA, "what is Campus Industrie 4.0 and who is inside?")
    kb = bot.engine.kb
    what, members = kb.entries["campus-what"], kb.entries["campus-members"]
    text = reply["text"]
    assert text.startswith(what.title("en"))
    assert what.answers["en"] in text and members.answers["en"] in text
    assert text.index(what.answers["en"]) < text.index(members.title("en"))
    # nothing shown twice: neither answer is offered again as a button
    assert callbacks.related("en", "campus-members") not in data_of(reply)
    assert callbacks.related("en", "campus-what") not in data_of(reply)


async def test_a_compound_question_half_out_of_the_faq_says_so_under_the_other_half(
    bot: RunningBot,
):
    reply = await bot.send(LEA, "Combien de visiteurs au salon Be 4.0 et combien coûte l'entrée ?")
    kb = bot.engine.kb
    visitors = kb.entries["be40-visitors"]
    assert reply["text"].startswith(visitors.title("fr"))
    assert visitors.answers["fr"] in reply["text"]
    assert (
        reply["text"]
        .rstrip()
        .endswith(gap_text("fr", kb.entries["be40-what"].title("fr")).rstrip())
    )
    assert callbacks.related("fr", "be40-what") == data_of(reply)[0]  # what it does say
    assert any(d.startswith("ask:") for d in data_of(reply))  # and "Ask the team"
