"""End to end, the bot's public face (issue 13, part 2): its profile per language, the home
screen after /start and after a language is chosen, deep links, and inline mode, with the
real Application against the local Bot API double."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.engine import Engine
from bot.answering.knowledge import load_or_raise
from bot.i18n import LANGUAGES
from bot.store.popular import most_asked
from bot.store.storage import LoggedQuestion, Storage
from bot.telegram.app import register_public_face
from handlers import home, texts
from handlers import inline as inline_handlers
from handlers.profile import FIELDS
from tests.botapi_double import BOT_USERNAME, BotApiDouble
from tests.test_telegram_conversation import ANNA, RunningBot, running_bot

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

PROFILE_METHODS = ("setMyName", "setMyDescription", "setMyShortDescription")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_or_raise())


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


# ---------------------------------------------------------------------------- the profile


async def test_profile_texts_per_language_are_set_at_start(bot: RunningBot):
    await register_public_face(bot.application)
    profile = bot.api.profile
    for field in FIELDS:
        for language in LANGUAGES:
            assert profile[(field.name, language)] == field.text(language)
            assert len(field.text(language)) <= field.limit
        assert profile[(field.name, "")] == field.text("fr")  # everyone else: the default
        assert len({field.text(language) for language in LANGUAGES}) == 3  # translated
    assert profile[("name", "de")] == "Assistent des Territoire d'Industrie Sud Alsace"
    assert bot.api.menu_buttons == {None: {"type": "commands"}}
    assert bot.api.commands_for("de")  # the command menus too

    # A restart with the same catalogs reads the texts and sets none of them again.
    bot.api.reset_calls()
    await register_public_face(bot.application)
    assert not [c for c in bot.api.calls if c.method in PROFILE_METHODS]
    assert len([c for c in bot.api.calls if c.method.startswith("getMy")]) == 12


async def test_the_description_says_only_what_the_faq_and_the_bot_do():
    for language in LANGUAGES:
        description = texts.bot_description(language)
        assert not any(s in description for s in ("http", "www", "@", "+33", "20")), description


async def test_a_refused_profile_text_is_logged_and_pauses_nothing(bot: RunningBot, caplog):
    # Telegram limits setMyName hard: a 429 asking to wait for an hour.
    bot.api.fail_next("setMyName", 429, count=4, retry_after=3600)
    with caplog.at_level(logging.WARNING, logger="handlers.profile"):
        started = time.monotonic()
        await register_public_face(bot.application)
        assert time.monotonic() - started < 3  # not retried after an hour
    assert "could not set the bot's name (fr)" in caplog.text
    assert ("name", "fr") not in bot.api.profile
    assert bot.api.profile[("description", "fr")] == texts.bot_description("fr")
    # ... and the bot answers at once: the 429 paused nothing else
    started = time.monotonic()
    reply = await bot.command(ANNA, "help", language_code="en")
    assert reply["text"].startswith("I answer questions")
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------------------- the home screen


def home_rows(message: dict) -> list[list[tuple[str, str]]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [[(b["text"], b.get("callback_data", "")) for b in row] for row in rows]


def log_answers(storage, counts: dict[str, int], *, status: str = "answer", age_days: float = 0):
    questions = [
        LoggedQuestion(ANNA, "fr", "…", status, faq_id, 80.0)
        for faq_id, n in counts.items()
        for _ in range(n)
    ]
    ids = storage.log_questions(questions)
    if age_days:
        with storage.transaction() as db:
            db.executemany(
                "UPDATE questions SET created_at = ? WHERE id = ?",
                [(time.time() - age_days * 86400, i) for i in ids],
            )


async def test_start_shows_the_most_asked_questions_and_the_topics(bot: RunningBot):
    kb = bot.engine.kb
    log_answers(bot.storage, {"be40-visitors": 3, "kmo-what": 2, "campus-what": 1, "kmo-who": 1})
    log_answers(bot.storage, {"training-formlab": 9}, age_days=31)  # too old
    log_answers(bot.storage, {"research-cte": 9}, status="suggest")  # not answered
    reply = await bot.command(ANNA, "start", language_code="de")

    assert "Wählen Sie Ihre Sprache:" in reply["text"]
    assert "/topics" not in reply["text"]
    rows = home_rows(reply)
    assert [data for _, data in rows[0]] == ["lang:fr", "lang:de", "lang:en"]
    asked = ["be40-visitors", "kmo-what", "campus-what"]  # kmo-who: the tie goes by id
    assert rows[1:4] == [[("❓ " + kb.entries[e].title("de"), f"q:de:{e}")] for e in asked]
    assert rows[4:] == [[("📂 " + t.names["de"], f"t:{t.id}")] for t in kb.topics]

    # a question button answers in a new message; a topic button opens it in place
    await bot.tap(ANNA, reply, "q:de:be40-visitors", language_code="de")
    answer = (await bot.api.wait_for_message(ANNA, count=2))[-1]
    assert answer.result["text"].startswith(kb.entries["be40-visitors"].title("de"))
    topic = await bot.tap_and_wait_edit(ANNA, reply, "t:kmo", language_code="de")
    assert topic["text"].startswith(kb.topic("kmo").names["de"])


async def test_a_new_bot_shows_the_fixed_list_and_the_chosen_language(bot: RunningBot):
    kb = bot.engine.kb
    picker = await bot.command(ANNA, "start", language_code="fr")
    assert [data for _, data in home_rows(picker)[1]] == [f"q:fr:{home.FALLBACK[0]}"]

    confirmed = await bot.tap_and_wait_edit(ANNA, picker, "lang:en")
    assert confirmed["text"].startswith("Language set to English.")
    assert "choose one of the most asked questions or a topic below" in confirmed["text"]
    rows = home_rows(confirmed)
    fixed = list(home.FALLBACK[: home.MOST_ASKED])
    assert rows[:3] == [[("❓ " + kb.entries[e].title("en"), f"q:en:{e}")] for e in fixed]
    assert [data for [(_, data)] in rows[3:]] == [f"t:{t.id}" for t in kb.topics]


def test_most_asked_counts_answers_of_the_window(tmp_path):
    storage = Storage(tmp_path / "db.sqlite3")
    log_answers(storage, {"b": 2, "a": 2, "c": 5})
    log_answers(storage, {"d": 7}, age_days=40)
    assert most_asked(storage, 3) == ["c", "a", "b"]
    assert most_asked(storage, 1) == ["c"]
    assert most_asked(storage, 5, days=60) == ["d", "c", "a", "b"]
    plan = " ".join(
        str(tuple(row))
        for row in storage.query(
            "EXPLAIN QUERY PLAN SELECT faq_id, COUNT(*) FROM questions"
            " WHERE status = 'answer' AND created_at >= 0 GROUP BY faq_id"
        )
    )
    assert "questions_status" in plan  # the index, not a scan of the whole log
    storage.close()


async def test_start_with_a_payload_opens_a_topic_an_entry_or_the_welcome(bot: RunningBot):
    kb = bot.engine.kb
    topic = await bot.command(ANNA, "start", "t-kmo", language_code="en")
    assert topic["text"].startswith(kb.topic("kmo").names["en"])
    entry = await bot.command(ANNA, "start", "e-kmo-what", language_code="de")
    assert entry["text"].startswith(kb.entries["kmo-what"].title("de"))
    assert "fb:1:de:kmo-what" in [d for row in home_rows(entry) for _, d in row]
    welcome = await bot.command(ANNA, "start", "inline", language_code="en")
    assert welcome["text"].startswith("Hello Anna!")


# ---------------------------------------------------------------------------- inline mode


async def inline(bot: RunningBot, query: str, **kwargs) -> dict:
    pushed = bot.api.push_inline_query(query, **kwargs)
    call = await bot.api.wait_for_inline_answer(pushed)
    assert call.ok, call.error
    return call.params


def start_links(result: dict) -> list[str]:
    return [b["url"] for row in result["reply_markup"]["inline_keyboard"] for b in row]


async def test_an_inline_query_in_german_gets_german_answers(bot: RunningBot, caplog):
    kb = bot.engine.kb
    question = "Wie viele Besucher hatte Be 4.0?"
    with caplog.at_level(logging.INFO):
        answer = await inline(bot, question, language_code="fr", chat_type="group")
    results = answer["results"]
    assert 1 <= len(results) <= 5
    assert results[0]["id"] == "be40-visitors"
    for result in results:
        entry = kb.entries[result["id"]]
        assert result["type"] == "article"
        assert result["title"] == entry.title("de")
        content = result["input_message_content"]
        assert content["message_text"] == texts.answer(entry, "de")
        assert content["parse_mode"] == "HTML"
        assert start_links(result) == [f"https://t.me/{BOT_USERNAME}?start=e-{entry.id}"]
        assert result["reply_markup"]["inline_keyboard"][0][0]["text"] == "Assistent öffnen"
    assert answer["button"] == {"text": "Assistent öffnen", "start_parameter": "inline"}
    assert (answer["cache_time"], answer["is_personal"]) == (300, False)
    # logged like a question: outcome, entry, language; never the words at INFO
    assert f"inline query: answer be40-visitors, {len(results)} result(s) (de)" in caplog.text
    assert not [r for r in caplog.records if "Besucher" in r.getMessage()]
    assert not bot.storage.query("SELECT * FROM questions")  # keystrokes are not questions


async def test_an_inline_query_without_a_clear_language_uses_the_users(bot: RunningBot):
    answer = await inline(bot, "KMØ", language_code="de")
    assert [r["id"] for r in answer["results"]][0] == "kmo-what"
    assert answer["results"][0]["title"] == bot.engine.kb.entries["kmo-what"].title("de")
    assert answer["is_personal"] is True  # another user's language gives other answers


@pytest.mark.parametrize("query", ["", "  ", "k", "km"])
async def test_an_empty_or_short_inline_query_offers_the_topics(bot: RunningBot, query: str):
    kb = bot.engine.kb
    answer = await inline(bot, query, language_code="en")
    results = answer["results"]
    assert [r["id"] for r in results] == [f"t-{t.id}" for t in kb.topics]
    kmo = results[[t.id for t in kb.topics].index("kmo")]
    assert kmo["title"] == kb.topic("kmo").names["en"]
    assert kb.entries["kmo-what"].title("en") in kmo["input_message_content"]["message_text"]
    assert start_links(kmo) == [f"https://t.me/{BOT_USERNAME}?start=t-kmo"]
    assert answer["is_personal"] is True
    assert answer["button"]["text"] == "Open the assistant"


async def test_a_nonsense_inline_query_gets_no_result_but_the_button(bot: RunningBot):
    answer = await inline(bot, "xqzv wplk", language_code="fr")
    assert answer["results"] == []
    assert answer["button"] == {"text": "Ouvrir l'assistant", "start_parameter": "inline"}
    smalltalk = await inline(bot, "hallo", language_code="de")
    assert smalltalk["results"] == []


def test_an_answer_near_the_limit_is_sent_alone_from_inline_mode(engine: Engine):
    entry = engine.kb.entries["kmo-what"]
    long = dataclasses.replace(entry, answers={**entry.answers, "en": "x " * 2047})
    result = inline_handlers.entry_result(long, "en", BOT_USERNAME)
    assert result.input_message_content.message_text == ("x " * 2047)
    short = inline_handlers.entry_result(entry, "en", BOT_USERNAME)
    assert short.input_message_content.message_text == texts.answer(entry, "en")
