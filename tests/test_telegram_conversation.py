"""End to end: the real Application, over real HTTP, against the local Bot API double.

Each test starts the bot built by `build_application` on a fresh SQLite file, talks to
it as Telegram users would (messages, commands, button taps) and checks what came back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.answering.engine import ANSWER, ESCALATE, SUGGEST, Engine, escalation_text
from bot.answering.knowledge import KnowledgeBase, load_or_raise
from bot.config import Settings
from bot.i18n import LANGUAGES, format_number
from bot.store.storage import Storage
from bot.telegram.app import build_application, register_commands
from bot.telegram.ratelimit import NETWORK_RETRIES
from handlers import texts
from handlers.rules import MAX_QUESTION_LENGTH
from tests.botapi_double import BOT_USERNAME, BotApiDouble, Call, make_user, polling

# PTB reads the deprecated int-valued RetryAfter.retry_after when it builds the error.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

TOKEN = "4242:TEST-token-never-real"
STAFF_CHAT = -1001234567890
ANNA = 501  # private chats: the chat id is the user id

# Questions whose outcome the tests need; the first one the engine treats as needed is used,
# so that tuning the engine does not break the conversation tests.
SUGGESTING = [
    "combien coûte le programme",
    "industrie du futur",
    "Comment financer un projet industriel ?",
    "Campus KMØ Be 4.0 formation",
]
ESCALATING = [
    "Quel temps fera-t-il demain à Colmar ?",
    "Où puis-je garer ma voiture ?",
    "Où acheter des timbres ?",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_or_raise())


@dataclass
class RunningBot:
    api: BotApiDouble
    storage: Storage
    engine: Engine
    application: Any

    async def send(self, chat_id: int, text: str, **kwargs: Any) -> dict:
        """Push a text message and return the bot's reply (the Message as delivered)."""
        return await self._reply_to(chat_id, lambda: self.api.push_text(chat_id, text, **kwargs))

    async def command(self, chat_id: int, command: str, *args: Any, **kwargs: Any) -> dict:
        return await self._reply_to(
            chat_id, lambda: self.api.push_command(chat_id, command, *args, **kwargs)
        )

    async def _reply_to(self, chat_id: int, push: Callable[[], Any]) -> dict:
        before = len(self.api.sent(chat_id))
        push()
        calls = await self.api.wait_for_message(chat_id, count=before + 1)
        return calls[before].result

    async def tap(self, chat_id: int, message: dict, data: str, **kwargs: Any) -> Call:
        """Tap a button (by its callback data) and wait until the query is answered."""
        pushed = self.api.push_callback(chat_id, message["message_id"], data, **kwargs)
        query_id = pushed.update["callback_query"]["id"]
        [answer] = await self.api.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and str(c.params.get("callback_query_id")) == query_id
            )
        )
        return answer

    async def tap_and_wait_edit(
        self, chat_id: int, message: dict, data: str, **kwargs: Any
    ) -> dict:
        edits = len(self.api.edits(chat_id))
        await self.tap(chat_id, message, data, **kwargs)
        await self.api.wait_for(
            lambda c: c.method.startswith("edit") and c.ok and c.chat_id == chat_id,
            count=edits + 1,
        )
        return self.api.message(chat_id, message["message_id"])

    def current(self, chat_id: int, message: dict) -> dict:
        return self.api.message(chat_id, message["message_id"])


def buttons(message: dict) -> list[tuple[str, str]]:
    """(label, callback data) of every inline button of a message, row by row."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def data_of(message: dict) -> list[str]:
    return [data for _, data in buttons(message)]


def first(engine: Engine, questions: list[str], status: str) -> str:
    for question in questions:
        if engine.decide(question, language="fr").status == status:
            return question
    pytest.fail(f"none of {questions} gets status {status!r} from the engine any more")


@contextlib.asynccontextmanager
async def running_bot(
    botapi: BotApiDouble, engine: Engine, tmp_path: Path, **overrides: Any
) -> AsyncIterator[RunningBot]:
    """The real Application polling the double, on a fresh database, with a staff chat and
    `overrides` of the settings."""
    settings = Settings(
        token=TOKEN,
        api_url=botapi.url,
        staff_chat_id=STAFF_CHAT,
        db_path=tmp_path / "faqbot.sqlite3",
    )
    settings = replace(settings, **overrides)
    storage = Storage(settings.db_path)
    application = build_application(settings, engine, storage)
    async with polling(application):
        yield RunningBot(botapi, storage, engine, application)
    storage.close()


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


# ---------------------------------------------------------------------------- /start, languages


async def test_start_greets_in_telegram_language_and_offers_the_picker(bot: RunningBot):
    reply = await bot.command(ANNA, "start", language_code="de")

    assert reply["text"].startswith("Hallo Anna!")
    assert "Wählen Sie Ihre Sprache:" in reply["text"]
    assert buttons(reply)[:3] == [
        ("🇫🇷 Français", "lang:fr"),
        ("🇩🇪 Deutsch", "lang:de"),
        ("🇬🇧 English", "lang:en"),
    ]  # then the home screen (tests/test_telegram_face.py)


@pytest.mark.parametrize("language_code", ["es", "pt-br", None])
async def test_start_falls_back_to_french(bot: RunningBot, language_code: str | None):
    reply = await bot.command(ANNA, "start", language_code=language_code)
    assert reply["text"].startswith("Bonjour Anna")
    assert "Choisissez votre langue" in reply["text"]


async def test_picking_a_language_edits_the_picker_and_is_remembered(bot: RunningBot):
    picker = await bot.command(ANNA, "start", language_code="fr")
    confirmed = await bot.tap_and_wait_edit(ANNA, picker, "lang:en")

    assert confirmed["text"].startswith("Language set to English.")
    assert not [d for d in data_of(confirmed) if d.startswith("lang:")]  # the picker is gone
    assert bot.storage.language(ANNA) == "en"
    # Telegram still says French, the stored choice wins.
    help_reply = await bot.command(ANNA, "help", language_code="fr")
    assert help_reply["text"].startswith("I answer questions about")


async def test_language_command_shows_current_language_and_picker(bot: RunningBot):
    reply = await bot.command(ANNA, "language", language_code="en")
    assert reply["text"].startswith("Current language: 🇬🇧 English")
    assert data_of(reply) == ["lang:fr", "lang:de", "lang:en"]
    confirmed = await bot.tap_and_wait_edit(ANNA, reply, "lang:de")
    assert confirmed["text"].startswith("Sprache auf Deutsch eingestellt.")


# ---------------------------------------------------------------------------- questions


async def test_a_question_in_each_language_is_answered_in_that_language(bot: RunningBot):
    kb = bot.engine.kb
    entry = kb.entries["kmo-what"]
    for language, question in [
        ("fr", "Qu'est-ce que KMØ ?"),
        ("de", "Was ist KMØ?"),
        ("en", "What is KMØ?"),
    ]:
        reply = await bot.send(ANNA, question, language_code="fr")
        assert reply["text"] == f"{entry.title(language)}\n\n{entry.answers[language]}"
        data = data_of(reply)
        assert f"fb:1:{language}:kmo-what" in data and f"fb:0:{language}:kmo-what" in data
        assert any(d.startswith("ask:") for d in data)
        for related in entry.related[:3]:
            assert f"q:{language}:{related}" in data
        # Answered in another language than the user's: one tap makes it the default.
        assert (f"dl:{language}" in data) == (language != "fr")

    rows = bot.storage.query("SELECT language, status, faq_id FROM questions ORDER BY id")
    assert [tuple(r) for r in rows] == [(lang, ANSWER, "kmo-what") for lang in LANGUAGES]


async def test_make_the_question_language_the_default(bot: RunningBot):
    reply = await bot.send(ANNA, "Was ist KMØ?", language_code="fr")
    assert "Immer auf Deutsch antworten" in [label for label, _ in buttons(reply)]

    answer = await bot.tap(ANNA, reply, "dl:de")
    assert answer.params.get("text") == "Sprache auf Deutsch eingestellt."
    await bot.api.wait_for(lambda c: c.method == "editMessageReplyMarkup" and c.ok)
    assert "dl:de" not in data_of(bot.current(ANNA, reply))
    assert bot.storage.language(ANNA) == "de"
    assert (await bot.command(ANNA, "help")).get("text", "").startswith("Ich beantworte")


async def test_a_short_ambiguous_question_keeps_the_users_language(bot: RunningBot):
    reply = await bot.send(ANNA, "KMØ", language_code="en")
    assert reply["text"].startswith(bot.engine.kb.entries["kmo-what"].title("en"))
    assert not any(d.startswith("dl:") for d in data_of(reply))


async def test_a_user_of_no_known_language_is_answered_in_the_one_they_write(bot: RunningBot):
    # a Spanish profile, no choice stored: "Hallo" is German enough
    reply = await bot.send(ANNA, "Hallo", language_code="es")
    assert reply["text"].startswith("Hallo!")
    # a French profile: a one-word greeting is not clear enough to leave French
    reply = await bot.send(ANNA + 1, "Hallo", language_code="fr")
    assert reply["text"].startswith("Bonjour")


async def test_a_suggestion_chosen_by_button_becomes_the_answer(bot: RunningBot):
    question = first(bot.engine, SUGGESTING, SUGGEST)
    decision = bot.engine.decide(question, language="fr")
    reply = await bot.send(ANNA, question)

    assert reply["text"] == "Je ne suis pas sûr d'avoir compris. Vouliez-vous dire\u00a0:"
    suggested = [f"s:fr:{c.faq_id}" for c in decision.suggestions]
    [question_id] = [r["id"] for r in bot.storage.query("SELECT id FROM questions")]
    assert data_of(reply) == [*suggested, f"ask:{question_id}"]
    assert buttons(reply)[-1][0] == "Aucune de ces questions — demander à l'équipe"

    chosen = decision.suggestions[0].faq_id
    answered = await bot.tap_and_wait_edit(ANNA, reply, f"s:fr:{chosen}")
    entry = bot.engine.kb.entries[chosen]
    assert answered["text"] == f"{entry.title('fr')}\n\n{entry.answers['fr']}"
    assert f"fb:1:fr:{chosen}" in data_of(answered)
    assert len(bot.api.sent(ANNA)) == 1  # the same message, edited
    [row] = bot.storage.query("SELECT status, faq_id FROM questions")
    assert (row["status"], row["faq_id"]) == (SUGGEST, None)


async def test_a_related_question_is_answered_in_a_new_message(bot: RunningBot):
    reply = await bot.send(ANNA, "What is KMØ?")
    related = bot.engine.kb.entries["kmo-what"].related[0]
    await bot.tap(ANNA, reply, f"q:en:{related}")
    [_, second] = await bot.api.wait_for_message(ANNA, count=2)
    assert second.result["text"].startswith(bot.engine.kb.entries[related].title("en"))


async def test_escalation_offers_the_team_and_is_logged(bot: RunningBot):
    question = first(bot.engine, ESCALATING, ESCALATE)
    reply = await bot.send(ANNA, question)

    assert reply["text"] == escalation_text("fr")
    [row] = bot.storage.query("SELECT id, status, text FROM questions")
    assert (row["status"], row["text"]) == (ESCALATE, question)
    assert buttons(reply) == [("Demander à l'équipe", f"ask:{row['id']}")]

    await bot.tap(ANNA, reply, f"ask:{row['id']}")
    [_, confirmation] = await bot.api.wait_for_message(ANNA, count=2)
    assert confirmation.result["text"] == texts.ticket_created("fr", 1)


async def test_a_burst_of_users_each_get_buttons_for_their_own_question(bot: RunningBot):
    """Questions asked at the same moment are logged together (bot.store.group_commit): every user's
    "Ask the team" button still names that user's own question."""
    asked = {
        1000 + i: f"{question} ({i})"
        for i, question in enumerate(
            ["Qu'est-ce que KMØ ?", "Was ist der Campus Industrie 4.0?", *ESCALATING] * 4
        )
    }
    for chat_id, text in asked.items():
        bot.api.push_text(chat_id, text)
    for chat_id, text in asked.items():
        [reply] = await bot.api.wait_for_message(chat_id)
        [ask] = [d for d in data_of(reply.result) if d.startswith("ask:")]
        [row] = bot.storage.query(
            "SELECT user_id, text FROM questions WHERE id = ?", (int(ask.split(":")[1]),)
        )
        assert (row["user_id"], row["text"]) == (chat_id, text)
    assert len(bot.storage.query("SELECT id FROM questions")) == len(asked)


async def test_smalltalk_is_answered_kindly_and_not_logged(bot: RunningBot):
    reply = await bot.send(ANNA, "merci beaucoup")
    assert reply["text"].startswith("Avec plaisir")
    assert bot.storage.query("SELECT * FROM questions") == []


async def test_feedback_is_stored_once_per_answer(bot: RunningBot):
    reply = await bot.send(ANNA, "Was ist KMØ?", language_code="de")
    answer = await bot.tap(ANNA, reply, "fb:1:de:kmo-what")
    assert answer.params.get("text") == "Danke für Ihre Rückmeldung!"
    await bot.api.wait_for(lambda c: c.method == "editMessageReplyMarkup" and c.ok)
    assert not any(d.startswith("fb:") for d in data_of(bot.current(ANNA, reply)))

    other = await bot.send(ANNA, "What is KMØ?", language_code="de")
    answer = await bot.tap(ANNA, other, "fb:0:en:kmo-what")
    assert answer.params.get("text") == "Thank you. If the answer did not help, tap “Ask the team”."

    rows = bot.storage.query("SELECT user_id, faq_id, language, helpful FROM feedback ORDER BY id")
    assert [tuple(r) for r in rows] == [(ANNA, "kmo-what", "de", 1), (ANNA, "kmo-what", "en", 0)]


# ---------------------------------------------------------------------------- topics, deep links


async def test_topics_menu_navigates_in_place(bot: RunningBot):
    kb = bot.engine.kb
    menu = await bot.command(ANNA, "topics", language_code="en")
    assert data_of(menu) == [f"t:{t.id}" for t in kb.topics]
    assert [label for label, _ in buttons(menu)] == [t.names["en"] for t in kb.topics]

    topic = kb.topic("kmo")
    shown = await bot.tap_and_wait_edit(ANNA, menu, "t:kmo", language_code="en")
    assert shown["text"].startswith(topic.names["en"])
    assert data_of(shown) == [*(f"e:{e}" for e in topic.entry_ids), "t"]

    shown = await bot.tap_and_wait_edit(ANNA, menu, "e:kmo-what", language_code="en")
    entry = kb.entries["kmo-what"]
    assert shown["text"] == f"{entry.title('en')}\n\n{entry.answers['en']}"
    assert buttons(shown) == [("« Back", "t:kmo")]

    shown = await bot.tap_and_wait_edit(ANNA, menu, "t:kmo", language_code="en")
    assert shown["text"].startswith(topic.names["en"])
    shown = await bot.tap_and_wait_edit(ANNA, menu, "t", language_code="en")
    assert data_of(shown) == [f"t:{t.id}" for t in kb.topics]

    assert len(bot.api.sent(ANNA)) == 1  # navigation never sent a new message
    assert len(bot.api.edits(ANNA)) == 4


async def test_deep_links_open_a_topic_or_an_entry(bot: RunningBot):
    kb = bot.engine.kb
    topic = await bot.command(ANNA, "start", "kmo", language_code="de")
    assert topic["text"].startswith(kb.topic("kmo").names["de"])
    assert data_of(topic)[0] == f"e:{kb.topic('kmo').entry_ids[0]}"

    entry = await bot.command(ANNA, "start", "be40-what", language_code="en")
    assert entry["text"].startswith(kb.entries["be40-what"].title("en"))
    assert "fb:1:en:be40-what" in data_of(entry)

    unknown = await bot.command(ANNA, "start", "no-such-poster", language_code="en")
    assert unknown["text"].startswith("Hello Anna!")


# ---------------------------------------------------------------------------- help, privacy


async def test_help_and_privacy_in_the_users_language(bot: RunningBot):
    kb = bot.engine.kb
    help_reply = await bot.command(ANNA, "help", language_code="de")
    assert f"mit einer FAQ aus {len(kb)} Antworten in {len(kb.topics)} Themen" in help_reply["text"]
    assert "/topics — Fragen nach Themen durchsuchen" in help_reply["text"]

    privacy = await bot.command(ANNA, "privacy", language_code="en")
    assert privacy["text"].startswith("What this assistant stores")
    assert f"after {format_number(texts.RETENTION_DAYS, 'en')} days" in privacy["text"]
    assert any(e["type"] == "bold" for e in privacy.get("entities", []))
    # honest about what /forget reaches in the staff group, and what it cannot
    assert "as long as Telegram allows it (48 hours after they were posted)" in privacy["text"]
    privacy = await bot.command(ANNA, "privacy", language_code="de")
    assert "solange Telegram es erlaubt (48 Stunden nach dem Posten)" in privacy["text"]


async def test_command_menus_in_each_language(bot: RunningBot, caplog):
    await register_commands(bot.application)
    menus = {lang: bot.api.commands_for(lang) for lang in LANGUAGES}
    assert [c["command"] for c in menus["de"]] == [
        "start",
        "topics",
        "ask",
        "language",
        "help",
        "privacy",
        "forget",
    ]
    assert menus["fr"][1]["description"] == "Parcourir les questions par thème"
    assert menus["de"][1]["description"] == "Fragen nach Themen durchsuchen"
    assert menus["en"][1]["description"] == "Browse the questions by topic"
    assert bot.api.commands_for("") == menus["fr"]  # everyone else: the default language

    bot.api.fail_next("setMyCommands", 500, count=4)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.app"):
        await register_commands(bot.application)  # logged, not raised
    assert "could not set the fr command menu" in caplog.text


# ---------------------------------------------------------------------------- not questions


async def test_anything_that_is_not_text_gets_a_polite_answer(bot: RunningBot):
    # Photos, voice messages and files outside a ticket: the polite answer offers to send
    # them to the team (see tests/test_desk.py); stickers and locations: type your question.
    offer, expected = texts.media_offer("de"), texts.not_text("de")
    pushes = [
        (lambda: bot.api.push_photo(ANNA, language_code="de"), offer),
        (lambda: bot.api.push_voice(ANNA, language_code="de"), offer),
        (lambda: bot.api.push_sticker(ANNA, language_code="de"), expected),
        (lambda: bot.api.push_document(ANNA, language_code="de"), offer),
        (lambda: bot.api.push_location(ANNA, language_code="de"), expected),
    ]
    for push, text in pushes:
        reply = await bot._reply_to(ANNA, push)
        assert reply["text"] == text


async def test_edits_long_and_empty_messages_get_a_polite_answer(bot: RunningBot):
    first_reply = await bot.send(ANNA, "What is KMØ?", language_code="en")
    user_message_id = first_reply["message_id"] - 1
    edited = await bot._reply_to(
        ANNA, lambda: bot.api.push_edited_text(ANNA, user_message_id, "What is Campus 4.0?")
    )
    assert edited["text"].startswith("I only read new messages")

    too_long = await bot.send(ANNA, "x " * 600, language_code="en")
    assert too_long["text"] == (
        f"Your message is {format_number(1200, 'en')} characters long; I can read up to "
        f"{format_number(MAX_QUESTION_LENGTH, 'en')}. Please ask a shorter question."
    )
    assert "1,200" in too_long["text"]

    emoji_only = await bot.send(ANNA, "👍 ?!", language_code="en")
    assert emoji_only["text"].startswith("Please type your question in words")

    unknown = await bot.command(ANNA, "weather", language_code="en")
    assert unknown["text"].startswith("I don't know this command")

    logged = bot.storage.query("SELECT COUNT(*) AS n FROM questions")[0]["n"]
    assert logged == 1  # only the real question


async def test_numbers_follow_the_users_locale(bot: RunningBot):
    too_long = await bot.send(ANNA, "x" * 3430, language_code="de")
    assert "3.430 Zeichen" in too_long["text"]
    too_long = await bot.send(ANNA, "x" * 3430, language_code="fr")
    assert "3\u202f430 caractères" in too_long["text"]


async def test_stale_or_forged_buttons_get_a_polite_toast(bot: RunningBot):
    reply = await bot.send(ANNA, "What is KMØ?", language_code="en")
    expected = texts.expired_button("en")
    for data in ["zzz", "e:no-such-entry", "t:nope", "fb:7:en:kmo-what", "lang:it", "q:en:nope"]:
        answer = await bot.tap(ANNA, reply, data, language_code="en")
        assert answer.ok and answer.params.get("text") == expected, data
    # still alive and well
    assert (await bot.send(ANNA, "Was ist KMØ?"))["text"].startswith("Was ist KMØ?")


async def test_html_in_questions_and_names_is_escaped(bot: RunningBot):
    user = make_user(ANNA, first_name="<b>Ann & Co</b>", language_code="en")
    reply = await bot.command(ANNA, "start", user=user)
    assert reply["text"].startswith("Hello <b>Ann & Co</b>!")
    assert not reply.get("entities")
    reply = await bot.send(ANNA, "<i>What is KMØ?</i> & more", user=user)
    assert reply["text"].startswith("What is KMØ?")


# ---------------------------------------------------------------------------- groups, errors


async def test_in_groups_only_commands_and_mentions(bot: RunningBot):
    group = -2024
    bot.api.push_text(group, "Was ist KMØ?", chat_type="group", language_code="de")
    reply = await bot.send(
        group, f"@{BOT_USERNAME} Was ist KMØ?", chat_type="group", language_code="de"
    )
    assert reply["text"].startswith("Was ist KMØ?")
    assert len(bot.api.sent(group)) == 1  # the message without a mention got no answer

    bot.api.push_photo(group, chat_type="group")
    reply = await bot.command(group, "help", chat_type="group", language_code="en", mention=True)
    assert reply["text"].startswith("I answer questions")
    assert len(bot.api.sent(group)) == 2

    # The staff chat is the staff's: a mention there is not a user's question.
    bot.api.push_text(STAFF_CHAT, f"@{BOT_USERNAME} Was ist KMØ?", chat_type="supergroup")
    await bot.send(ANNA, "What is KMØ?")
    assert bot.api.sent(STAFF_CHAT) == []


async def test_an_error_is_logged_and_the_bot_keeps_going(bot: RunningBot, caplog):
    bot.api.fail_next("sendMessage", 500, count=1 + NETWORK_RETRIES)
    with caplog.at_level(logging.ERROR, logger="handlers.common"):
        apology = await bot.send(ANNA, "What is KMØ?", language_code="en")
    assert (
        apology["text"] == "Sorry, something went wrong on my side. Please try again in a moment."
    )
    assert "error while handling update" in caplog.text
    assert "What is KMØ" not in caplog.text  # users' words stay out of error logs
    reply = await bot.send(ANNA, "What is KMØ?", language_code="en")
    assert reply["text"].startswith("What is KMØ?")


async def test_a_user_who_blocked_the_bot_is_not_an_error(bot: RunningBot, caplog):
    bot.api.block_chat(ANNA)
    with caplog.at_level(logging.INFO, logger="handlers.common"):
        bot.api.push_text(ANNA, "What is KMØ?")
        await bot.api.wait_for(lambda c: c.method == "sendMessage" and c.fault == "blocked")
        bot.api.unblock_chat(ANNA)
        reply = await bot.send(ANNA, "What is KMØ?")
    assert reply["text"].startswith("What is KMØ?")
    assert "Forbidden" in caplog.text and "ERROR" not in caplog.text


async def test_a_message_longer_than_telegram_allows_is_split(
    botapi: BotApiDouble, engine: Engine, tmp_path: Path
):
    entry = engine.kb.entries["kmo-what"]
    sentence = "KMØ & le Campus <4.0> : une phrase de test. "  # escaping makes it longer
    long_entry = replace(entry, answers={**entry.answers, "fr": sentence * 100})
    kb = KnowledgeBase(engine.kb.topics, {**engine.kb.entries, "kmo-what": long_entry})
    async with running_bot(botapi, Engine(kb), tmp_path) as bot:
        bot.api.push_command(ANNA, "start", "kmo-what")
        first_part, last_part = await bot.api.wait_for_message(ANNA, count=2)

    text = first_part.result["text"] + " " + last_part.result["text"]  # cut at a space
    assert text == f"{entry.title('fr')}\n\n{sentence * 100}".strip()
    assert "reply_markup" not in first_part.result
    assert "fb:1:fr:kmo-what" in data_of(last_part.result)
