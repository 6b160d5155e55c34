"""End to end (issue 9, "nothing lost and everyone served"): feedback votes that count once,
an erasure that holds while another process reads the database, questions from groups that
stay out of the group, and /forget in the staff chat's lists.

The real Application polls the Bot API double (see tests/test_telegram_conversation.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.engine import ESCALATE, Engine
from bot.store.retention import purge_question_log
from bot.store.storage import MIGRATIONS, Storage
from handlers import texts
from tests.botapi_double import BOT_USERNAME, BotApiDouble, make_user
from tests.test_telegram_conversation import (
    ANNA,
    ESCALATING,
    STAFF_CHAT,
    RunningBot,
    data_of,
    engine,  # noqa: F401  (the module-scoped fixture)
    first,
    running_bot,
)
from tests.test_telegram_escalation import HANS, ask, eventually, staff_reply
from tests.test_telegram_staff import (
    ANNA_USER,
    desk,
    raw_bytes,
    run_job,
    settled,
    staff_command,
    staff_done,
    staff_messages,
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


# ---------------------------------------------------------------------------- erasure


async def test_forget_leaves_nothing_in_the_file_or_the_wal_once_a_reader_lets_go(
    bot: RunningBot,
):
    """A backup or `faqbot report` reading the database when the user sends /forget keeps
    the WAL from being emptied; once it is done, the user's words leave both files."""
    user = make_user(HANS, "Xanthippe", "xanthippe_ygg", "de", last_name="Yggdrasil")
    words = ["Quokkaquartier", "Wombatweiche", "Okapiofen", "Xanthippe", "Yggdrasil"]
    words.append("xanthippe_ygg")
    await bot.send(HANS, "Was ist KMØ beim Quokkaquartier?", user=user)
    _, card = await ask(bot, HANS, "Quokkaquartier: wo kann ich parken?", user)
    staff_reply(bot, "Okapiofen, am Bahnhof.", card["message_id"])
    [*_, answer] = await bot.api.wait_for_message(HANS, count=3)
    await eventually(lambda: desk(bot).messages(1)[-1].user_chat_message_id is not None)
    await bot.send(HANS, "Wombatweiche?", user=user, reply_to=answer.result["message_id"])
    await settled(bot)
    path = bot.storage.path
    assert [w for w in words if w.encode() not in raw_bytes(path)] == []  # the check can see

    reader = sqlite3.connect(path)  # another process's read transaction (a backup)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM tickets").fetchone() == (1,)
    question = await bot.command(HANS, "forget", user=user)
    done = await bot.tap_and_wait_edit(HANS, question, "fg:yes", user=user)
    assert done["text"] == texts.forgotten("de")
    assert bot.storage.query("SELECT * FROM tickets") == []
    reader.close()

    # A little more traffic from someone else, then the text is gone from both files.
    await bot.send(ANNA, "What is KMØ?")
    await ask(bot, ANNA, "Où garer mon vélo à Mulhouse ?", ANNA_USER)
    for _ in range(100):
        left = [w for w in words if w.encode() in raw_bytes(path)]
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == [], f"still in {path.name} or its -wal after /forget"


def test_the_daily_purge_neither_waits_for_a_reader_nor_leaves_the_text_behind(tmp_path: Path):
    storage = Storage(tmp_path / "faqbot.sqlite3")
    storage.log_question(ANNA, "fr", "Tamanoir-Confidentiel " * 40, ESCALATE, None, 0)
    reader = sqlite3.connect(storage.path)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM questions").fetchall()
    started = time.monotonic()
    assert purge_question_log(storage, older_than_days=1, now=time.time() + 2 * 86400) == 1
    assert time.monotonic() - started < 1  # every other write waits meanwhile
    assert storage.erasure_pending
    reader.close()
    assert storage.complete_erasure() is True
    assert not storage.erasure_pending
    assert b"Tamanoir" not in raw_bytes(storage.path)
    storage.close()


# ---------------------------------------------------------------------------- groups

GROUP, GROUP_TITLE = -4242, "Club des PME du Sundgau"


async def escalated_in_group(bot: RunningBot) -> tuple[str, dict]:
    """Anna mentions the bot in the group with a question the FAQ cannot answer: the
    question, and the bot's reply in the group (with "Ask the team")."""
    question = first(bot.engine, ESCALATING, ESCALATE)
    reply = await bot.send(
        GROUP, f"@{BOT_USERNAME} {question}", user=ANNA_USER, chat_type="group", title=GROUP_TITLE
    )
    assert any(d.startswith("ask:") for d in data_of(reply))
    return question, reply


async def tap_ask(bot: RunningBot, reply: dict) -> None:
    [ask_button] = [d for d in data_of(reply) if d.startswith("ask:")]
    groups = len(bot.api.sent(GROUP))
    await bot.tap(GROUP, reply, ask_button, user=ANNA_USER)
    await bot.api.wait_for_message(GROUP, count=groups + 1)


async def test_asking_the_team_from_a_group_goes_on_in_the_private_chat(bot: RunningBot):
    await bot.command(ANNA, "start", user=ANNA_USER)  # Anna has a private chat with the bot
    question, reply = await escalated_in_group(bot)
    in_group = len(bot.api.sent(GROUP))

    await tap_ask(bot, reply)
    [note] = bot.api.sent(GROUP)[in_group:]
    assert note.result["text"] == texts.written_privately("fr", "Anna")
    [*_, told, confirmation] = await bot.api.wait_for_message(ANNA, count=3)
    assert told.result["text"] == texts.asked_in_group("fr", GROUP_TITLE, question)
    assert told.result["text"].startswith(f"Dans le groupe «\u00a0{GROUP_TITLE}\u00a0»")
    assert confirmation.result["text"] == texts.ticket_created("fr", 1)
    [ticket] = bot.storage.query("SELECT chat_id, asked_in FROM tickets")
    assert tuple(ticket) == (ANNA, GROUP_TITLE)
    [card] = await bot.api.wait_for_message(STAFF_CHAT)
    assert f"Posée dans le groupe «\u00a0{GROUP_TITLE}\u00a0»" in card.result["text"]
    assert question in card.result["text"]

    # The team's answer reaches Anna privately; the group sees nothing more.
    await eventually(lambda: desk(bot).get(1).staff_message_id is not None)
    staff_reply(bot, "Au parking de la gare, bien sûr.", card.result["message_id"])
    [*_, answer] = await bot.api.wait_for_message(ANNA, count=4)
    assert "\n\nAu parking de la gare, bien sûr.\n\n" in answer.result["text"]
    await settled(bot)
    assert len(bot.api.sent(GROUP)) == in_group + 1
    assert not any("gare" in t for t in bot.api.sent_texts(GROUP))


async def test_without_a_private_chat_the_group_gets_a_link_and_no_ticket_is_made(
    bot: RunningBot,
):
    bot.api.block_chat(ANNA, "Forbidden: bot can't initiate conversation with a user")
    question, reply = await escalated_in_group(bot)
    in_group = len(bot.api.sent(GROUP))

    await tap_ask(bot, reply)
    [invitation] = bot.api.sent(GROUP)[in_group:]
    link = f"https://t.me/{BOT_USERNAME}?start=ask"
    assert invitation.result["text"] == texts.open_private_chat("fr", "Anna", link)
    assert link in invitation.result["text"]
    await settled(bot)
    assert bot.storage.query("SELECT * FROM tickets") == []
    assert bot.api.sent(STAFF_CHAT) == []

    # Anna follows the link: the question she asked in the group goes to the team now.
    bot.api.unblock_chat(ANNA)
    told = await bot.command(ANNA, "start", "ask", user=ANNA_USER)
    assert told["text"].endswith(question)
    [_, confirmation] = await bot.api.wait_for_message(ANNA, count=2)
    assert confirmation.result["text"] == texts.ticket_created("fr", 1)
    [card] = await bot.api.wait_for_message(STAFF_CHAT)
    assert f"Posée dans le groupe «\u00a0{GROUP_TITLE}\u00a0»" in card.result["text"]
    [ticket] = bot.storage.query("SELECT chat_id, question FROM tickets")
    assert tuple(ticket) == (ANNA, question)
    assert len(bot.api.sent(GROUP)) == in_group + 1  # nothing more in the group

    # The link used again (or after /forget) has no question left to send: how to use /ask.
    again = await bot.command(ANNA, "start", "ask", user=ANNA_USER)
    assert again["text"] == texts.ask_usage("fr")


def test_tickets_asked_in_a_group_before_the_migration_move_to_the_private_chat(
    tmp_path: Path,
):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        old.executescript(script)
    old.execute("PRAGMA user_version = 3")
    old.execute(
        "INSERT INTO tickets (user_id, chat_id, language, question, created_at)"
        " VALUES (?, ?, 'fr', 'Où se garer ?', 0), (?, ?, 'fr', 'Et ici ?', 0)",
        (ANNA, GROUP, HANS, HANS),
    )
    old.commit()
    old.close()
    storage = Storage(path)
    rows = storage.query("SELECT user_id, chat_id FROM tickets ORDER BY id")
    assert [tuple(r) for r in rows] == [(ANNA, ANNA), (HANS, HANS)]
    storage.close()


# ---------------------------------------------------------------------------- staff lists


async def test_forget_deletes_the_staff_lists_that_quote_the_user(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    """/open, /unanswered and the digest show users' names and questions in the staff chat:
    the ones that quote a user who sends /forget go, the others stay."""
    async with running_bot(botapi, engine, tmp_path, digest_after_hours=0.0001) as bot:
        secret = "Wapitiwiese"
        hans = make_user(HANS, f"{secret}-Hans", "wapiti_h", "de")
        await bot.send(HANS, first(bot.engine, ESCALATING, ESCALATE) + f" {secret}", user=hans)
        await ask(bot, HANS, f"{secret}: wo parken?", hans)
        await ask(bot, ANNA, "Où garer mon vélo à Mulhouse ?", ANNA_USER)
        await asyncio.sleep(0.5)  # both tickets wait longer than the digest's delay now

        listed = await staff_command(bot, "open")
        assert secret in listed["text"] and "Anna" in listed["text"]
        unanswered = await staff_command(bot, "unanswered")
        assert secret in unanswered["text"]
        before = len(bot.api.sent(STAFF_CHAT))
        await run_job(bot, "digest")
        [digest] = bot.api.sent(STAFF_CHAT)[before:]
        assert secret in digest.result["text"]
        await staff_done(bot, "close", "1")
        only_anna = await staff_command(bot, "open")
        assert secret not in only_anna["text"] and "Anna" in only_anna["text"]
        await eventually(lambda: len(bot.storage.query("SELECT * FROM staff_lists")) >= 5)

        question = await bot.command(HANS, "forget", user=hans)
        await bot.tap_and_wait_edit(HANS, question, "fg:yes", user=hans)
        await bot.api.wait_for(lambda c: c.method == "deleteMessages" and c.done)
        deleted = set(bot.api.deleted_messages.get(STAFF_CHAT, {}))
        lists = {listed["message_id"], unanswered["message_id"], digest.result["message_id"]}
        assert lists <= deleted
        assert [m for m in staff_messages(bot) if secret in m.get("text", "")] == []
        assert only_anna["message_id"] in {m["message_id"] for m in staff_messages(bot)}
        # What is left to delete for Anna is her own list only.
        assert desk(bot).staff_copies_of(ANNA)[-1] == only_anna["message_id"]
        assert listed["message_id"] not in desk(bot).staff_copies_of(ANNA)


async def test_privacy_says_which_staff_messages_forget_deletes_and_where_answers_go(
    bot: RunningBot,
):
    promises = {
        "en": ("the lists of waiting and unanswered questions", "even when you asked in a group"),
        "fr": (
            "listes des questions en attente et sans réponse",
            "même si vous avez posé la question dans un groupe",
        ),
        "de": ("die Listen wartender und unbeantworteter Fragen", "auch wenn Sie in einer Gruppe"),
    }
    for language, (lists, groups) in promises.items():
        privacy = await bot.command(ANNA, "privacy", language_code=language)
        assert lists in privacy["text"] and groups in privacy["text"], language
