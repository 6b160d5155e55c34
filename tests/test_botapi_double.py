"""The Bot API double, proven against the real PTB Application over real HTTP (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from tests.botapi_double import BOT_USER_ID, BOT_USERNAME, BotApiDouble, make_user, polling

# PTB itself reads the deprecated int-valued RetryAfter.retry_after when building the error
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

TOKEN = "123:ABC"
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Modifier", callback_data="edit")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text, reply_markup=KEYBOARD)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("C'est noté")
    await query.edit_message_text(f"{query.message.text} ✓")


@contextlib.asynccontextmanager
async def running_app(
    double: BotApiDouble, *handlers, errors: list | None = None, seen: list | None = None
) -> AsyncIterator[Application]:
    """The real Application, polling the double; handlers in group 0, updates seen in -1."""
    app = ApplicationBuilder().token(TOKEN).base_url(f"{double.url}/bot").build()
    if seen is not None:

        async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            seen.append(update)

        app.add_handler(TypeHandler(Update, record), group=-1)
    for handler in handlers:
        app.add_handler(handler)
    if errors is not None:

        async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            errors.append(context.error)

        app.add_error_handler(on_error)
    async with polling(app):
        yield app


async def wait_until(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def echo_handlers():
    return (
        MessageHandler(filters.TEXT & ~filters.COMMAND, echo),
        CallbackQueryHandler(on_button),
    )


# ----------------------------------------------------------------------------- end to end


async def test_pushed_text_is_echoed(botapi: BotApiDouble):
    seen: list[Update] = []
    async with running_app(botapi, *echo_handlers(), seen=seen):
        pushed = botapi.push_text(42, "Bonjour, où est la Maison de l'Industrie ?")
        [call] = await botapi.wait_for_message(42)

    assert call.params["text"] == "Bonjour, où est la Maison de l'Industrie ?"
    assert call.params["chat_id"] == 42
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Modifier", "callback_data": "edit"}]]
    }
    sent = call.result
    assert sent["from"]["id"] == BOT_USER_ID and sent["chat"]["id"] == 42
    assert sent["message_id"] == pushed.message_id + 1
    assert botapi.message(42, sent["message_id"])["reply_markup"] == call.params["reply_markup"]
    assert botapi.sent_texts(42) == ["Bonjour, où est la Maison de l'Industrie ?"]
    # what PTB de_json'ed from the pushed update
    [update] = seen
    assert update.update_id == pushed.update["update_id"]
    assert update.effective_user.language_code == "fr"
    assert update.effective_chat.type == "private"
    # the bootstrap went through the double too
    methods = [c.method for c in botapi.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert "getUpdates" in methods


async def test_callback_edits_the_message_and_is_answered(botapi: BotApiDouble):
    async with running_app(botapi, *echo_handlers()):
        botapi.push_text(42, "Horaires ?")
        [call] = await botapi.wait_for_message(42)
        bot_message_id = call.result["message_id"]
        pushed = botapi.push_callback(42, bot_message_id, "edit")
        [edit] = await botapi.wait_for(lambda c: c.method == "editMessageText" and c.ok)
        await botapi.wait_for(lambda c: c.method == "answerCallbackQuery" and c.ok)

    assert edit.params["message_id"] == bot_message_id
    assert botapi.edits(42) == [edit]
    edited = botapi.message(42, bot_message_id)
    assert edited["text"] == "Horaires ? ✓"
    assert "reply_markup" not in edited and "edit_date" in edited
    query_id = pushed.update["callback_query"]["id"]
    assert botapi.callback_answers[query_id]["text"] == "C'est noté"
    assert pushed.update["callback_query"]["message"]["text"] == "Horaires ?"


async def test_blocked_chat_raises_forbidden_in_the_handler(botapi: BotApiDouble):
    errors: list[Exception] = []
    botapi.block_chat(7)
    async with running_app(botapi, *echo_handlers(), errors=errors):
        botapi.push_text(7, "Salut")
        await wait_until(lambda: errors)

    [error] = errors
    assert isinstance(error, Forbidden)
    assert "bot was blocked by the user" in error.message
    assert botapi.sent(7) == []
    [failed] = botapi.sent(7, include_failed=True)
    assert failed.status == 403 and failed.fault == "blocked"


async def test_fail_next_429_raises_retry_after(botapi: BotApiDouble):
    errors: list[Exception] = []
    botapi.fail_next("sendMessage", 429, retry_after=1)
    async with running_app(botapi, *echo_handlers(), errors=errors):
        botapi.push_text(42, "premier")
        await wait_until(lambda: errors)
        botapi.push_text(42, "second")  # the fault was used up
        await botapi.wait_for_message(42)

    [error] = errors
    assert isinstance(error, RetryAfter)
    assert int(error._retry_after.total_seconds()) == 1
    assert botapi.sent_texts(42) == ["second"]


async def test_offset_handling_never_delivers_an_update_twice(botapi: BotApiDouble):
    seen: list[Update] = []
    before = [botapi.push_text(42, f"avant {i}") for i in range(3)]
    async with running_app(botapi, *echo_handlers(), seen=seen):
        await botapi.wait_for_message(42, count=3)
        after = [botapi.push_text(42, f"après {i}") for i in range(3)]
        await botapi.wait_for_message(42, count=6)
        await asyncio.sleep(0.1)

    pushed_ids = [p.update["update_id"] for p in before + after]
    assert [u.update_id for u in seen] == pushed_ids
    delivered = botapi.delivered_update_ids()
    assert sorted(delivered) == pushed_ids  # each exactly once
    assert botapi.sent_texts(42) == [f"avant {i}" for i in range(3)] + [
        f"après {i}" for i in range(3)
    ]
    assert botapi.pending_updates == []  # confirmed by PTB's final getUpdates(offset=...)


async def test_commands_groups_media_and_raw_updates_are_parsed_by_ptb(botapi: BotApiDouble):
    seen: list[Update] = []
    commands: list[tuple[str, list[str]]] = []

    async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        commands.append((update.effective_message.text, context.args))

    group = -1001234567890
    anna = make_user(555, "Anna", username="anna_m", language_code="de")
    async with running_app(botapi, CommandHandler("start", on_command), seen=seen):
        botapi.push_command(42, "start", "faq")
        botapi.push_command(group, "start", user=anna, chat_type="supergroup", mention=True)
        hello = botapi.push_text(group, "hallo", user=anna, chat_type="supergroup", title="Staff")
        botapi.push_photo(42, caption="mon badge")
        botapi.push_sticker(42)
        botapi.push_voice(42, duration=4)
        botapi.push_location(42)
        botapi.push_document(42, "plan.pdf")
        botapi.push_edited_text(group, hello.message_id, "hallo zusammen")
        raw = botapi.push_raw({"some_future_update": {"answer": 42}})
        await wait_until(lambda: len(seen) == 10)

    assert commands == [("/start faq", ["faq"]), (f"/start@{BOT_USERNAME}", [])]
    cmd_private, cmd_group, text, photo, sticker, voice, location, doc, edited, unknown = seen
    assert cmd_private.effective_user.id == 42
    assert cmd_group.effective_chat.type == "supergroup"
    assert cmd_group.effective_chat.title == f"Test supergroup {group}"
    assert text.effective_user.username == "anna_m"
    assert text.effective_user.language_code == "de"
    assert text.effective_chat.id == group and text.effective_chat.title == "Staff"
    assert photo.message.photo[-1].width == 1280 and photo.message.caption == "mon badge"
    assert sticker.message.sticker.emoji == "👍"
    assert voice.message.voice.to_dict()["duration"] == 4
    assert location.message.location.latitude == pytest.approx(47.7508)
    assert doc.message.document.file_name == "plan.pdf"
    assert edited.edited_message.text == "hallo zusammen"
    assert edited.edited_message.message_id == hello.message_id
    assert unknown.update_id == raw.update["update_id"]
    assert unknown.api_kwargs == {"some_future_update": {"answer": 42}}


async def test_reply_to_a_bot_message_carries_it(botapi: BotApiDouble):
    seen: list[Update] = []
    async with running_app(botapi, *echo_handlers(), seen=seen):
        botapi.push_text(42, "question")
        [call] = await botapi.wait_for_message(42)
        botapi.push_text(42, "merci", reply_to=call.result["message_id"])
        await botapi.wait_for_message(42, count=2)

    reply = seen[-1].message.reply_to_message
    assert reply.from_user.id == BOT_USER_ID and reply.from_user.is_bot
    assert reply.text == "question"
    with pytest.raises(KeyError):
        botapi.push_text(42, "oops", reply_to=999)


# ----------------------------------------------------------------------------- direct calls


@pytest.fixture
async def bot(botapi: BotApiDouble) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{botapi.url}/bot") as the_bot:
        yield the_bot


async def test_get_updates_offset_limit_and_long_poll_over_raw_http(botapi: BotApiDouble):
    async with aiohttp.ClientSession() as http:

        async def get_updates(**params) -> dict:
            async with http.post(f"{botapi.url}/botANY:TOKEN/getUpdates", data=params) as resp:
                return await resp.json()

        ids = [botapi.push_text(9, f"m{i}").update["update_id"] for i in range(3)]
        first = await get_updates(limit="2")
        assert [u["update_id"] for u in first["result"]] == ids[:2]
        again = await get_updates()  # nothing confirmed yet: delivered again
        assert [u["update_id"] for u in again["result"]] == ids
        rest = await get_updates(offset=str(ids[1] + 1))
        assert [u["update_id"] for u in rest["result"]] == ids[2:]
        assert (await get_updates(offset=str(ids[2] + 1)))["result"] == []
        assert botapi.pending_updates == []

        started = time.monotonic()
        poll = asyncio.create_task(get_updates(offset=str(ids[2] + 1), timeout="3"))
        await asyncio.sleep(0.1)
        late = botapi.push_text(9, "late").update["update_id"]
        assert [u["update_id"] for u in (await poll)["result"]] == [late]
        assert time.monotonic() - started < 1.0

        async with http.get(f"{botapi.url}/botANY:TOKEN/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }


async def test_unknown_method_and_basic_methods(bot: Bot, botapi: BotApiDouble):
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name) == (1000, "sudalsace_test_bot", "Sud Alsace")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")

    assert await bot.set_my_commands([("aide", "Aide"), ("start", "Démarrer")])
    assert await bot.set_my_commands([("hilfe", "Hilfe")], language_code="de")
    assert [c.command for c in await bot.get_my_commands(language_code="de")] == ["hilfe"]
    assert [c["command"] for c in botapi.my_commands[""]] == ["aide", "start"]
    assert botapi.commands_for("de") == [{"command": "hilfe", "description": "Hilfe"}]
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([("Aide", "majuscule interdite")])

    msg = await bot.send_message(42, "<b>Gras</b> &amp; normal", parse_mode=ParseMode.HTML)
    assert msg.text == "Gras & normal"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bold", 0, 4)]
    with pytest.raises(BadRequest, match="(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(42, "a <br> b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(42, "*fin*.", parse_mode=ParseMode.MARKDOWN_V2)

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Gras</b> &amp; normal", 42, msg.message_id, parse_mode=ParseMode.HTML
        )
    edited = await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=KEYBOARD)
    assert edited.reply_markup == KEYBOARD
    assert await bot.send_chat_action(42, "typing")
    chat = await bot.get_chat(42)
    assert chat.type == "private"
    assert await bot.delete_message(42, msg.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(42, msg.message_id)
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(
            42,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("long", callback_data="x" * 65)]]
            ),
        )
    assert await bot.close() and await bot.log_out()


async def test_timeout_fault_raises_timed_out(botapi: BotApiDouble):
    botapi.timeout_delay = 0.6
    botapi.fail_next("sendMessage", "timeout")
    fast = ApplicationBuilder().token(TOKEN).base_url(f"{botapi.url}/bot").read_timeout(0.2)
    async with fast.build() as app:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await app.bot.send_message(42, "lent")
        assert time.monotonic() - started < 0.6
        assert (await app.bot.send_message(42, "rapide")).text == "rapide"
    assert botapi.sent_texts(42) == ["rapide"]


async def test_fail_next_for_one_chat_leaves_the_others_alone(bot: Bot, botapi: BotApiDouble):
    botapi.fail_next("sendMessage", 429, retry_after=20, chat_id=-1005550001)
    await bot.send_message(42, "privé")  # another chat: not failed, the fault stays queued
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(-1005550001, "groupe")
    assert int(raised.value._retry_after.total_seconds()) == 20
    await bot.send_message(-1005550001, "groupe, plus tard")  # the fault was used up
    assert botapi.sent_texts(42) == ["privé"]
    assert botapi.sent_texts(-1005550001) == ["groupe, plus tard"]
    [failed] = [c for c in botapi.sent(-1005550001, include_failed=True) if not c.ok]
    assert (failed.status, failed.fault) == (429, 429)


async def test_fail_next_500_and_failure_rate(bot: Bot, botapi: BotApiDouble):
    botapi.fail_next("sendMessage", 500, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="(?i)internal server error"):
            await bot.send_message(42, "x")
    await bot.send_message(42, "ok")

    def run_pattern() -> list[bool]:
        return [c.ok for c in botapi.sent(5, include_failed=True)]

    async def burst() -> None:
        for i in range(20):
            with contextlib.suppress(NetworkError, RetryAfter):
                await bot.send_message(5, f"n{i}")

    botapi.failure_rate(0.4, kinds=(500, 429), seed=3)
    await burst()
    first = run_pattern()
    assert 0 < first.count(False) < 20
    botapi.reset_calls()
    botapi.failure_rate(0.4, kinds=(500, 429), seed=3)
    await burst()
    assert run_pattern() == first  # seeded: reproducible
    botapi.failure_rate(0)


async def test_enforce_limits(bot: Bot, botapi: BotApiDouble):
    botapi.enforce_limits(global_per_s=30, per_chat_per_s=1, per_group_per_min=2)
    await bot.send_message(42, "un")
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "deux")
    await bot.send_message(43, "autre chat")  # per chat
    for i in range(2):
        await bot.send_message(-100777, f"groupe {i}")
    with pytest.raises(RetryAfter) as exc_info:
        await bot.send_message(-100777, "groupe 3")
    assert 55 <= exc_info.value._retry_after.total_seconds() <= 60
    assert botapi.rejected_429 == 2

    botapi.enforce_limits(global_per_s=3, per_chat_per_s=None, per_group_per_min=None)
    results = await asyncio.gather(
        *(bot.send_message(100 + i, "diffusion") for i in range(5)), return_exceptions=True
    )
    assert sum(isinstance(r, RetryAfter) for r in results) == 2
    assert botapi.rejected_429 == 4
    botapi.disable_limits()
    await bot.send_message(42, "libre")


async def test_forum_topics(bot: Bot, botapi: BotApiDouble):
    group = -1005555
    botapi.push_text(group, "hello", chat_type="supergroup")  # the group exists
    topic = await bot.create_forum_topic(group, "Ticket #1")
    assert topic.name == "Ticket #1" and topic.message_thread_id > 0
    sent = await bot.send_message(group, "card", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    # A member writing in the topic replies to its first message, inside the topic.
    pushed = botapi.push_text(
        group, "in the topic", chat_type="supergroup", reply_to=topic.message_thread_id
    )
    message = pushed.update["message"]
    assert message["message_thread_id"] == topic.message_thread_id and message["is_topic_message"]
    assert await bot.close_forum_topic(group, topic.message_thread_id)
    with pytest.raises(BadRequest, match="(?i)topic_not_modified"):
        await bot.close_forum_topic(group, topic.message_thread_id)
    assert await bot.reopen_forum_topic(group, topic.message_thread_id)
    with pytest.raises(BadRequest, match="(?i)topic_id_invalid"):
        await bot.reopen_forum_topic(group, 9999)
    with pytest.raises(BadRequest):
        await bot.create_forum_topic(group, "")
    # A topic deleted by hand: sending into it fails; a bot without the right creates none.
    botapi.delete_forum_topic(group, topic.message_thread_id)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(group, "card", message_thread_id=topic.message_thread_id)
    botapi.no_topic_rights.add(group)
    with pytest.raises(BadRequest, match="(?i)not enough rights"):
        await bot.create_forum_topic(group, "Ticket #2")


async def test_profile_texts_per_language_and_the_menu_button(bot: Bot, botapi: BotApiDouble):
    from telegram import MenuButtonCommands

    assert (await bot.get_my_name()).name == "Sud Alsace"  # the BotFather name
    await bot.set_my_name("Assistant", language_code="fr")
    await bot.set_my_name("Default")
    await bot.set_my_description("Je réponds.", language_code="fr")
    await bot.set_my_short_description("Kurz.", language_code="de")
    assert (await bot.get_my_name(language_code="fr")).name == "Assistant"
    assert (await bot.get_my_name(language_code="de")).name == "Default"  # the fallback
    assert (await bot.get_my_description(language_code="fr")).description == "Je réponds."
    assert (await bot.get_my_description(language_code="en")).description == ""
    assert (await bot.get_my_short_description("de")).short_description == "Kurz."
    assert botapi.profile == {
        ("name", "fr"): "Assistant",
        ("name", ""): "Default",
        ("description", "fr"): "Je réponds.",
        ("short_description", "de"): "Kurz.",
    }
    with pytest.raises(BadRequest, match="(?i)name_invalid"):
        await bot.set_my_name("x" * 65, language_code="en")
    with pytest.raises(BadRequest, match="(?i)short_description_invalid"):
        await bot.set_my_short_description("x" * 121)
    await bot.set_my_name("", language_code="fr")  # removes the French one
    assert (await bot.get_my_name(language_code="fr")).name == "Default"

    await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    assert botapi.menu_buttons == {None: {"type": "commands"}}
    assert (await bot.get_chat_menu_button(chat_id=42)).type == "commands"


async def test_inline_queries_and_their_answers(botapi: BotApiDouble):
    from telegram import (
        InlineQueryResultArticle,
        InlineQueryResultsButton,
        InputTextMessageContent,
    )
    from telegram.ext import InlineQueryHandler

    seen = []

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        seen.append((query.query, query.from_user.language_code, query.chat_type))
        text = "<b>KMØ" if query.query == "bad html" else "<b>KMØ</b> est…"
        results = [
            InlineQueryResultArticle(
                "kmo-what",
                "Qu'est-ce que KMØ ?",
                InputTextMessageContent(text, parse_mode=ParseMode.HTML),
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Ouvrir", url="https://t.me/x_bot?start=e-kmo-what")]]
                ),
            )
        ]
        await query.answer(
            results,
            cache_time=300,
            is_personal=False,
            button=InlineQueryResultsButton("Ouvrir l'assistant", start_parameter="inline"),
        )

    async with running_app(botapi, InlineQueryHandler(answer)) as app:
        pushed = botapi.push_inline_query("kmo", language_code="de", chat_type="group")
        call = await botapi.wait_for_inline_answer(pushed)
        assert call.ok
        recorded = botapi.inline_answers[pushed.update["inline_query"]["id"]]
        assert [r["id"] for r in recorded["results"]] == ["kmo-what"]
        assert recorded["results"][0]["input_message_content"]["message_text"] == "<b>KMØ</b> est…"
        assert recorded["button"] == {"text": "Ouvrir l'assistant", "start_parameter": "inline"}
        assert (recorded["cache_time"], recorded["is_personal"]) == (300, False)

        bad = botapi.push_inline_query("bad html")
        call = await botapi.wait_for_inline_answer(bad)
        assert not call.ok and "can't parse entities" in call.error
        assert app is not None
    assert seen == [("kmo", "de", "group"), ("bad html", "fr", "private")]
