"""Property-based fuzzing of update handling: random, odd and malformed updates, fed to the real
Application (`bot.telegram.app.build_application`), which talks over HTTP to the Bot API double.

One long-lived Application serves every example of the file (building one per example would
cost more than the example). Updates go straight to `Application.process_update`, one at a
time, so that what the bot did about each one can be told apart. Two things differ from
production, for speed only: the AIORateLimiter's throttling is switched off (its retries are
kept; the double enforces no limits here) and this file's SQLite database is not fsynced.

Properties, checked after every single update:

* nothing a handler does raises: the application's error handler is never called;
* the staff chat hears only what somebody asked to be passed on: `/ask`, "Ask the team" on
  one's own question, a reply to one's own ticket; or what staff did in the staff chat;
* a user writing in a private chat never meets silence: every message (text, command, media)
  and every edit gets a reply, except the staff commands, which by design do nothing at all
  outside the staff chat (handlers/staff.py);
* every button tap is answered exactly once (the client's spinner stops), and a tap by
  someone who is not staff changes no ticket, whatever its callback data.

About 5,100 examples in all (see EXAMPLES); the file runs in 35-45 s on two CPUs.

What this fuzzing found, fixed in the bot (each kept as an explicit example below):

* a callback number beyond SQLite's INTEGER (`ask:9999999999999999999`) crashed "Ask the team"
  (OverflowError), and `tk:`/`tx:`/`fa:` for staff: the patterns now take ASCII numbers below
  9,000,000,000,000,000,000 only;
* `/close ²`, `/ticket #①`: `str.isdigit()` accepts them, `int()` does not; staff met silence;
* "Always answer in …" and 👍/👎 tapped twice quickly (or on a message that cannot be edited
  any more): the second removal of the buttons is "message is not modified", and the user got
  "something went wrong".

Not fixed, outside what Telegram sends: a callback query with neither `data` nor
`game_short_name` matches every pattern of python-telegram-bot's CallbackQueryHandler (it
returns True without a match object); button data is never empty, so the generators leave it
out.

Updates that miss fields the Bot API always sends (a chat without a type, a message without
an id) never reach the bot's handlers: python-telegram-bot cannot parse them. What it then does
in long polling is shown (and marked as a known gap) by the last test of this file.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.ext import ContextTypes

from bot.answering.engine import Engine
from bot.answering.knowledge import load_or_raise
from bot.config import Settings
from bot.desk.tickets import Requester
from bot.i18n import LANGUAGES
from bot.store.storage import Storage
from bot.telegram.app import build_application
from bot.telegram.ratelimit import FairRateLimiter
from handlers import callbacks, escalation, staff
from handlers.common import DESK
from handlers.texts import ticket_created
from tests.botapi_double import (
    BOT_USER,
    BOT_USERNAME,
    BotApiDouble,
    Call,
    _auto_entities,
    polling,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

TOKEN = "5151:FUZZ-token-never-real"
STAFF_CHAT = -1005550001
GROUP = -1005550002
SMALL_GROUP = -5550003
CHANNEL = -1005550004
SOPHIE = 901  # the one staff member (STAFF_USER_IDS)
USERS = tuple(range(10_001, 10_041))  # ordinary users; private chat id = user id
ASKER_IDS = itertools.count(50_001)  # a fresh user for each example of the /ask property
ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot
NOW = int(time.time())

EXAMPLES = {"private": 1900, "callbacks": 1700, "mixed": 1000, "asks": 500}
FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)

SEND_METHODS = ("copyMessage", "forwardMessage")


def is_send(call: Call) -> bool:
    return call.method.startswith("send") or call.method in SEND_METHODS


def same_chat(call: Call, chat_id: int) -> bool:
    return str(call.chat_id) == str(chat_id)


# ---------------------------------------------------------------------------- the harness


@dataclass
class Outcome:
    """What the bot did about one update: its requests to the double, the errors it raised."""

    update: dict[str, Any]
    calls: list[Call]
    errors: list[BaseException]

    def sent_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if is_send(c) and c.ok and same_chat(c, chat_id)]

    def staff_posts(self) -> list[Call]:
        """Every attempt to post, edit or react to something in the staff chat, failed or
        not (a command done gets a 👌 on it, its card is edited later by the outbox)."""
        return [
            c
            for c in self.calls
            if (is_send(c) or c.method.startswith("edit") or c.method == "setMessageReaction")
            and same_chat(c, STAFF_CHAT)
        ]

    def answers(self, query_id: str) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "answerCallbackQuery"
            and c.ok
            and str(c.params.get("callback_query_id")) == query_id
        ]

    def describe(self) -> str:
        shown = repr(self.update)
        if len(shown) > 600:
            shown = shown[:600] + "…"
        calls = "\n  ".join(c.describe() for c in self.calls) or "(no request)"
        return f"update {shown}\nerrors {self.errors!r}\nrequests:\n  {calls}"


class Harness:
    """The real Application on its own event loop, fed one update at a time."""

    def __init__(self, db_path: Path, engine: Engine):
        self.loop = asyncio.new_event_loop()
        self.api = BotApiDouble()
        self.loop.run_until_complete(self.api.start())
        self.settings = Settings(
            token=TOKEN,
            api_url=self.api.url,
            staff_chat_id=STAFF_CHAT,
            staff_user_ids=frozenset({SOPHIE}),
            db_path=db_path,
            flood_per_minute=0,  # thousands of updates from a few users: no flood limit here
        )
        self.storage = Storage(db_path)
        self.storage.db.execute("PRAGMA synchronous=OFF")  # speed only: no fsync per write
        self.app = build_application(self.settings, engine, self.storage)
        # Thousands of updates in seconds: no throttling, but the same retries as production.
        self.app.bot._rate_limiter = FairRateLimiter(
            overall_per_second=None, group_per_minute=None, private_chat_interval=0
        )
        self.errors: list[BaseException] = []
        self.app.add_error_handler(self._capture)
        self.loop.run_until_complete(self.app.initialize())
        self.desk = self.app.bot_data[DESK]
        self.engine = engine
        self._update_ids = itertools.count(1)

    async def _capture(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.errors.append(context.error)

    def close(self) -> None:
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.run_until_complete(self.api.stop())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()
        self.storage.close()

    def feed(self, payload: dict[str, Any]) -> Outcome:
        """Hand one update (without update_id) to the bot; what it did about it."""
        data = {"update_id": next(self._update_ids), **payload}
        callback = data.get("callback_query")
        if callback is not None:
            self.api.callback_answers[callback["id"]] = None  # the double knows the query
        start = len(self.api.calls)
        self.errors.clear()
        update = Update.de_json(data, self.app.bot)
        self.loop.run_until_complete(self.app.process_update(update))
        return Outcome(data, self.api.calls[start:], list(self.errors))

    def bot_message(self, chat: dict[str, Any], text: str, data: list[str]) -> dict[str, Any]:
        """A message of the bot in `chat`, with buttons carrying `data`, known to the double."""
        message: dict[str, Any] = {
            "message_id": self.api._allocate_message_id(chat["id"]),
            "from": dict(BOT_USER),
            "chat": chat,
            "date": NOW,
            "text": text,
        }
        # Only data Telegram accepts (1-64 bytes) can be on a button: a message with other data
        # could not exist.
        buttons = [
            [{"text": f"b{i}", "callback_data": d}] for i, d in enumerate(data) if callbacks.fits(d)
        ]
        if buttons:
            message["reply_markup"] = {"inline_keyboard": buttons}
        self.api._store(message)
        return message

    # What the bot is allowed to do, decided before the update is handled ------------------

    def explicit_ask(self, data: dict[str, Any]) -> bool:
        """Whether the update is a request to pass something on to staff."""
        if "callback_query" in data:
            query = data["callback_query"]
            tapped = str(query.get("data") or "")
            presser = query["from"]["id"]
            if re.match(callbacks.MEDIA_TO_TEAM, tapped):  # "Send it to the team"
                return True
            solved = re.match(callbacks.SOLVED, tapped)  # "Solved": closes the presser's own
            if solved:
                ticket = self.desk.for_user(presser, int(solved.group(1)))
                return ticket is not None
            match = re.match(callbacks.ASK_TEAM, tapped)
            if not match:
                return False
            if match.group(1) is None:  # a bare "Ask the team": the presser's last question
                rows = self.storage.query("SELECT 1 FROM questions WHERE user_id = ?", (presser,))
                return bool(rows)
            question_id = int(match.group(1))
            rows = self.storage.query("SELECT user_id FROM questions WHERE id = ?", (question_id,))
            return bool(rows) and rows[0]["user_id"] == presser
        message = data.get("message")
        if message is None or "from" not in message:
            return False
        text = message.get("text")
        chat_id = message["chat"]["id"]
        private = message["chat"]["type"] == "private"
        if command_of(message) == "ask" and private:
            return True
        user_data = self.app.user_data.get(message["from"]["id"]) or {}
        if private and text and user_data.get(escalation.AWAITING_QUESTION):
            return True  # the question a bare /ask asked for
        if private and any(k in message for k in escalation.USER_MEDIA):
            return True  # a photo or a file inside a ticket is copied under its card
        reply = message.get("reply_to_message")
        if reply is None or not text or chat_id == STAFF_CHAT:
            return False
        ticket = self.desk.ticket_for_user_message(chat_id, reply["message_id"])
        return ticket is not None and ticket.user_id == message["from"]["id"]

    def tickets_fingerprint(self, except_user: int | None = None) -> list[tuple]:
        rows = self.storage.query(
            "SELECT id, status, assignee_id, staff_message_id, flagged, closed_at, digested,"
            " (SELECT COUNT(*) FROM ticket_messages m WHERE m.ticket_id = t.id)"
            " FROM tickets t WHERE user_id != ? ORDER BY id",
            (except_user if except_user is not None else -1,),
        )
        return [tuple(r) for r in rows]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    engine = Engine(load_or_raise())
    h = Harness(tmp_path_factory.mktemp("fuzz") / "faqbot.sqlite3", engine)
    # Something for the buttons to act on: questions of some users, tickets with cards.
    for uid in USERS[:8]:
        for question in ("Qu'est-ce que le KMØ ?", "Recette de la tarte flambée"):
            h.storage.log_question(uid, "fr", question, "escalate", None, 0.0)
    for uid in USERS[8:12]:
        ticket = h.desk.escalate(Requester(uid, "Seed"), uid, "fr", "Où garer mon vélo ?")
        card = h.bot_message(staff_chat(), f"Ticket n°{ticket.id}", [f"tk:{ticket.id}"])
        h.desk.record_staff_message(ticket.id, card["message_id"])
        notice = h.bot_message(private_chat(uid), f"ticket #{ticket.id}", [])
        h.desk.record_user_notice(ticket.id, notice["message_id"])
    try:
        yield h
    finally:
        h.close()


# ---------------------------------------------------------------------------- update shapes


def private_chat(uid: int, first_name: str = "Anna") -> dict[str, Any]:
    return {"id": uid, "type": "private", "first_name": first_name}


def staff_chat() -> dict[str, Any]:
    return {"id": STAFF_CHAT, "type": "supergroup", "title": "Équipe"}


def group_chat(chat_id: int) -> dict[str, Any]:
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": "Groupe ‮ test"}


def command_of(message: dict[str, Any]) -> str | None:
    """The command python-telegram-bot's CommandHandler sees in `message` (None: none)."""
    text, entities = message.get("text"), message.get("entities") or []
    if not text or not entities:
        return None
    first = entities[0]
    if first.get("type") != "bot_command" or first.get("offset") != 0:
        return None
    name, _, target = text[1 : first["length"]].partition("@")
    if target and target.lower() != BOT_USERNAME.lower():
        return None
    if "@" in text[1 : first["length"]] and not target:
        return None  # "/open@": addressed to nobody
    return name.lower()


def is_service(message: dict[str, Any]) -> bool:
    return any(k in message for k in ("new_chat_title", "delete_chat_photo", "new_chat_members"))


#: Pieces of text that have broken chat bots before.
FRAGMENTS = [
    # right-to-left scripts and bidirectional controls
    "שלום",
    "مرحبا بكم",
    "\u202e",
    "\u202d",
    "\u200f",
    "\u200e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u061c",
    # zero-width and invisible
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u180e",
    "\u3164",
    # combining marks
    "e\u0301",
    "\u0301",
    "\u0308\u0308\u0308\u0308",
    "Z\u0351\u0352\u0353\u0354\u0355\u0356",
    "\u20dd",
    "\u0336",
    # astral planes (no surrogates: Telegram sends valid UTF-8)
    "😀",
    "👩\u200d👩\u200d👧",
    "🇫🇷",
    "🏳️\u200d🌈",
    "𝕂𝕄Ø",
    "𠀀𠀁",
    "\U0001f9d1\U0001f3fd",
    "\U000e0041",
    "\U0010fffd",
    "𝟙𝟚",
    # control characters and odd whitespace
    "\x00",
    "\x1b[31m",
    "\n",
    "\r\n",
    "\t",
    "\u2028",
    "\u3000",
    " ",
    # markup the bot must escape
    "<b>",
    "</i>",
    "<a href='tg://x'>",
    "&amp;",
    "&",
    "&#0;",
    "<",
    ">",
    '"',
    "*_`[]()~",
    "||",
    "{}",
    "{name}",
    "%s",
    # words the FAQ knows, in three languages
    "KMØ",
    "kmo",
    "formation",
    "Campus",
    "Be 4.0",
    "prix",
    "Weiterbildung",
    "programme",
    "?",
    "Bonjour",
    "merci",
    "Was kostet",
    "industrie",
    "Who can join",
    # mentions, commands, links inside the text
    f"@{BOT_USERNAME}",
    "@other_bot",
    "/start",
    "/ask",
    "https://example.org/?a=<b>",
    "#tag",
    # accents
    "éèàçœ",
    "ßäöü",
    "ÆØÅ",
]
QUESTIONS = [
    "Qu'est-ce que le KMØ ?",
    "Was ist der Campus KMØ?",
    "Who can join the programme?",
    "combien coûte le programme",
    "Recette de la tarte flambée",
    "merci",
    "bonjour",
]
VALID_IDS = [
    "kmo-what",
    "kmo-who",
    "campus-what",
    "assistant-about",
    "kmo",
    "training",
    "programme",
    "assistant",
]

any_char = st.characters(exclude_categories=("Cs",))
fragment_text = st.lists(
    st.sampled_from(FRAGMENTS) | st.text(any_char, max_size=4), max_size=16
).map("".join)
unicode_text = st.text(any_char, max_size=100)
huge_text = st.builds(
    lambda piece, n: (piece * (n // len(piece) + 1))[:n],
    st.sampled_from(FRAGMENTS) | st.text(any_char, min_size=1, max_size=12),
    st.integers(1001, 10_000),
)
near_limit_text = st.builds(lambda n: "é" * n, st.integers(995, 1005))
texts = st.one_of(
    fragment_text,
    unicode_text,
    huge_text,
    near_limit_text,
    st.sampled_from(QUESTIONS),
    st.builds("{} {}".format, st.sampled_from(QUESTIONS), fragment_text),
    st.sampled_from(["", " ", "\u200b", "\n\n", "?", "!!!", "\u3164"]),
)
names = st.text(any_char, min_size=1, max_size=24) | st.sampled_from(
    ["Anna", "‮Mallory", "<b>Bob</b>", "&amp;", "👩\u200d👩\u200d👧", "\u200b", "Z\u0351\u0352"]
    + ["W" * 64, "🇫🇷" * 16, "\u0301" * 64]  # 64: Telegram's longest name
)
language_codes = st.sampled_from(["fr", "de", "en", "es", "pt-br", "de-CH", "", "zz-ZZ", "🙂"])


@st.composite
def users(draw: st.DrawFn, ids: Any = None) -> dict[str, Any]:
    ids = st.sampled_from(USERS) if ids is None else ids
    user: dict[str, Any] = {"id": draw(ids), "is_bot": False, "first_name": draw(names)}
    if draw(st.booleans()):
        user["last_name"] = draw(names)
    if draw(st.booleans()):
        user["username"] = draw(
            st.sampled_from(["anna_k", "Bob_1234", "x" * 32, "sudalsace_test_bot"])
        )
    code = draw(st.none() | language_codes)
    if code is not None:
        user["language_code"] = code
    return user


@st.composite
def entities_for(draw: st.DrawFn, text: str) -> list[dict[str, Any]] | None:
    """What Telegram detects (usually), none at all, or nonsense offsets and lengths."""
    kind = draw(st.sampled_from(["auto", "auto", "auto", "none", "bogus"]))
    if kind == "none":
        return None
    if kind == "auto":
        return _auto_entities(text) or None
    return draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["mention", "bot_command", "url", "bold", "spoiler"]),
                    "offset": st.integers(-3, 12_000),
                    "length": st.integers(0, 12_000),
                }
            ),
            min_size=1,
            max_size=3,
        )
    )


PUBLIC_COMMANDS = ["start", "help", "privacy", "language", "topics", "forget"]
STAFF_COMMANDS = list(staff.COMMANDS)
command_args = st.one_of(
    st.just(""),
    texts,
    st.sampled_from(["#12", "1", "0", "-1", "n°3", "999999999999999999999", "1 2 3", "abc"]),
    st.sampled_from(["²", "#①", "n°³", "٣", "𝟙", "1​", "+1", "1.0", "0x1"]),
    st.sampled_from(VALID_IDS),
    st.builds("{} {}".format, st.integers(-5, 10**20), texts),
)


@st.composite
def command_texts(draw: st.DrawFn, names: list[str]) -> tuple[str, list[dict[str, Any]] | None]:
    name = draw(
        st.sampled_from(names)
        | st.sampled_from(["settings", "START", "Help", "a" * 32, "x_y", "123"])
        | st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True)
    )
    suffix = draw(st.sampled_from(["", "", "", f"@{BOT_USERNAME}", "@other_bot", "@"]))
    token = f"/{name}{suffix}"
    args = draw(command_args)
    text = f"{token} {args}" if args else token
    length = len(token.encode("utf-16-le")) // 2
    if draw(st.integers(0, 9)) == 0:  # a client that did not mark the command
        return text, draw(entities_for(text))
    return text, [{"type": "bot_command", "offset": 0, "length": length}]


@st.composite
def contents(draw: st.DrawFn, commands: list[str]) -> dict[str, Any]:
    """The content of a user's message: text, a command, media, nothing, or a service note."""
    kind = draw(
        st.sampled_from(["text"] * 6 + ["command"] * 3 + ["media"] * 2 + ["empty", "service"])
    )
    if kind == "text":
        text = draw(texts)
        content: dict[str, Any] = {"text": text} if text else {}
        if text and (ents := draw(entities_for(text))):
            content["entities"] = ents
        return content
    if kind == "command":
        text, ents = draw(command_texts(commands))
        content = {"text": text}
        if ents:
            content["entities"] = ents
        return content
    if kind == "media":
        file = {"file_id": "AgAD", "file_unique_id": "AQAD"}
        media = draw(
            st.sampled_from(
                [
                    {"photo": [{**file, "width": 90, "height": 68}]},
                    {
                        "sticker": {
                            **file,
                            "type": "regular",
                            "width": 512,
                            "height": 512,
                            "is_animated": False,
                            "is_video": False,
                        }
                    },  # fmt: skip
                    {"voice": {**file, "duration": 3}},
                    {"document": {**file, "file_name": "‮fdp.exe"}},
                    {"location": {"latitude": 47.75, "longitude": 7.33}},
                    {"contact": {"phone_number": "+33 6", "first_name": "X"}},
                    {"dice": {"emoji": "🎲", "value": 3}},
                ]
            )
        )
        if draw(st.booleans()):
            media["caption"] = draw(texts) or "c"
        return media
    if kind == "service":
        return draw(
            st.sampled_from(
                [{"new_chat_title": "t"}, {"delete_chat_photo": True}, {"new_chat_members": []}]
            )
        )
    return {}


@st.composite
def replied_messages(draw: st.DrawFn, chat: dict[str, Any]) -> dict[str, Any] | None:
    """A message being replied to: often none; small ids may be real messages of the chat."""
    if draw(st.integers(0, 2)):
        return None
    author = draw(st.sampled_from([dict(BOT_USER), {"id": 7, "is_bot": False, "first_name": "Y"}]))
    return {
        "message_id": draw(st.integers(1, 60) | st.integers(-5, 2**31)),
        "date": NOW,
        "chat": chat,
        "from": author,
        "text": draw(st.sampled_from(["ticket #1", "?", "Réponse de l'équipe"])),
    }


def message(
    chat: dict[str, Any],
    sender: dict[str, Any] | None,
    content: dict[str, Any],
    reply: dict[str, Any] | None,
    message_id: int,
) -> dict[str, Any]:
    msg: dict[str, Any] = {"message_id": message_id, "date": NOW, "chat": chat, **content}
    if sender is not None:
        msg["from"] = sender
    if reply is not None:
        msg["reply_to_message"] = reply
    return msg


@st.composite
def private_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A new message (or an edit) in a user's private chat; `from` sometimes missing or not the
    chat's user."""
    user = draw(users())
    owner = user["id"] if draw(st.integers(0, 9)) else draw(st.sampled_from(USERS))
    chat = private_chat(owner, user["first_name"])
    sender = None if draw(st.integers(0, 19)) == 0 else user
    content = draw(contents(PUBLIC_COMMANDS + STAFF_COMMANDS))
    msg = message(
        chat, sender, content, draw(replied_messages(chat)), draw(st.integers(1, 2**31 - 1))
    )
    if draw(st.integers(0, 7)) == 0:
        msg["edit_date"] = NOW + 1
        return {"edited_message": msg}
    return {"message": msg}


# ---------------------------------------------------------------------------- the checks


def check(h: Harness, payload: dict[str, Any], *, staff_author: bool = False) -> Outcome:
    """Feed `payload`, check the properties every update must have, return the outcome."""
    explicit = h.explicit_ask(payload)
    outcome = h.feed(payload)
    assert not outcome.errors, f"a handler failed:\n{outcome.describe()}"
    if not explicit and not staff_author:
        assert not outcome.staff_posts(), f"unasked-for staff message:\n{outcome.describe()}"
    for kind in ("message", "edited_message"):
        msg = payload.get(kind)
        if msg is None or msg["chat"]["type"] != "private" or is_service(msg):
            continue
        replies = outcome.sent_to(msg["chat"]["id"])
        if kind == "message" and command_of(msg) in staff.COMMANDS:
            assert not replies, (
                f"a staff command answered outside the staff chat:\n{outcome.describe()}"
            )
        else:
            assert replies, f"a private message met silence:\n{outcome.describe()}"
    query = payload.get("callback_query")
    if query is not None:
        answered = outcome.answers(query["id"])
        assert len(answered) == 1, f"tap answered {len(answered)} times:\n{outcome.describe()}"
    return outcome


# ---------------------------------------------------------------------------- properties


@settings(FUZZ, max_examples=EXAMPLES["private"])
@given(payload=private_messages())
def test_private_messages_are_always_answered_and_never_reach_staff(harness: Harness, payload):
    check(harness, payload)


CALLBACK_PREFIXES = ["t", "e", "tk", "tx", "ask", "lang", "dl", "fg", "q", "s", "fa", "fb"]
digits = st.one_of(
    st.integers(0, 10**25).map(str),
    st.integers(2**63 - 2, 10**19).map(str),  # around SQLite's largest INTEGER
    st.sampled_from(["", "0", "00", "-1", "1e3", "٣", "١٢", "𝟙", "²", "9223372036854775808"]),
)
ids = (
    st.sampled_from(VALID_IDS)
    | st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
    | st.text(any_char, max_size=10)
)
languages = st.sampled_from(["fr", "de", "en", "xx", "FR", ""])
callback_data = st.one_of(
    st.sampled_from(
        ["t", "ask", "fg:yes", "fg:no", "fg:maybe", "lang:fr", "lang:de", "lang:en", "lang:xx"]
        + ["dl:fr", "dl:de", "dl:en", "dl:", " ", "ask:", "tk:", "fa::", "\u200b"]
    ),
    st.builds("{}:{}".format, st.sampled_from(CALLBACK_PREFIXES), ids | digits),
    st.builds("{}:{}:{}".format, st.sampled_from(["q", "s", "fa"]), languages | digits, ids),
    st.builds("fb:{}:{}:{}".format, st.sampled_from(["0", "1", "2"]), languages, ids),
    st.builds("ask:{}".format, st.integers(1, 40)),  # questions of the seeded users
    st.text(any_char, min_size=1, max_size=80),
    fragment_text.filter(bool),
)
staff_button_data = st.one_of(
    st.builds("{}:{}".format, st.sampled_from(["tk", "tx"]), digits | st.integers(1, 30).map(str)),
    st.builds("fa:{}:{}".format, digits | st.integers(1, 30).map(str), ids),
    st.sampled_from(["tk:1", "tx:2", "fa:1:kmo-what", "x:1"]),
)


@st.composite
def taps(draw: st.DrawFn) -> dict[str, Any]:
    """Where and what a (non-staff) user taps; the message is made when the harness exists."""
    where = draw(st.sampled_from(["own"] * 4 + ["other", "group", "staff", "inline"]))
    presser = draw(users(st.sampled_from(USERS) | st.just(SOPHIE)))
    if where == "staff":
        presser["id"] = draw(st.sampled_from(USERS))  # somebody in the staff chat, not staff
    if where == "staff" or (where == "own" and draw(st.booleans())):
        data = draw(staff_button_data)  # what staff cards carry (tk:, tx:, fa:)
    else:
        data = draw(callback_data)
    return {
        "where": where,
        "presser": presser,
        "data": None if draw(st.integers(0, 40)) == 0 else data,
        "message": draw(st.sampled_from(["known"] * 4 + ["unknown", "inaccessible", "photo"])),
        "buttons": draw(st.lists(callback_data, max_size=3)),
        "other": draw(st.sampled_from(USERS)),
    }


def callback_update(h: Harness, tap: dict[str, Any], query_id: str) -> dict[str, Any]:
    presser = tap["presser"]
    chat = {
        "own": private_chat(presser["id"]),
        "other": private_chat(tap["other"]),
        "group": group_chat(GROUP),
        "staff": staff_chat(),
        "inline": None,
    }[tap["where"]]
    query: dict[str, Any] = {"id": query_id, "from": presser, "chat_instance": "ci"}
    if tap["data"] is None:
        query["game_short_name"] = "game"
    else:
        query["data"] = tap["data"]
    if chat is None:
        query["inline_message_id"] = "AAAA"
    elif tap["message"] == "known":
        query["message"] = h.bot_message(chat, "Menu", [tap["data"] or "", *tap["buttons"]])
    elif tap["message"] == "photo":
        query["message"] = {
            "message_id": h.api._allocate_message_id(chat["id"]),
            "date": NOW,
            "chat": chat,
            "from": dict(BOT_USER),
            "photo": [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 9, "height": 9}],
        }
    elif tap["message"] == "inaccessible":
        query["message"] = {"message_id": 77, "date": 0, "chat": chat}
    else:  # a message the double never saw (deleted, or from before a database reset)
        query["message"] = {"message_id": 999_999, "date": NOW, "chat": chat, "text": "old"}
    return {"callback_query": query}


def own_tap(data: str, message: str = "known") -> dict[str, Any]:
    presser = {"id": USERS[0], "is_bot": False, "first_name": "Anna"}
    return {"where": "own", "presser": presser, "data": data, "message": message,
            "buttons": [], "other": USERS[0]}  # fmt: skip


@settings(FUZZ, max_examples=EXAMPLES["callbacks"])
@given(tap=taps(), number=st.integers(0, 10**9))
# Found by this test, fixed: a number beyond SQLite's INTEGER crashed "Ask the team"...
@example(tap=own_tap("ask:9999999999999999999"), number=1)
# ...and "Always answer in …", 👍/👎 on a message that cannot be edited any more.
@example(tap=own_tap("dl:de", "unknown"), number=2)
@example(tap=own_tap("fb:1:fr:kmo-what", "unknown"), number=3)
def test_any_button_tap_is_answered_once_and_changes_no_ticket(harness: Harness, tap, number):
    payload = callback_update(harness, tap, f"q{number}-{time.monotonic_ns()}")
    presser = tap["presser"]["id"]
    forgetting = tap["data"] == "fg:yes"  # deletes the presser's own tickets, on request
    before = harness.tickets_fingerprint(except_user=presser if forgetting else None)
    explicit = harness.explicit_ask(payload)
    check(harness, payload)
    if not explicit:
        after = harness.tickets_fingerprint(except_user=presser if forgetting else None)
        assert after == before, f"a tap by {presser} (not staff) changed tickets: {tap!r}"


@st.composite
def mixed_updates(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """(update, whether staff wrote it): groups, the staff chat, edits, channels, the rest."""
    kind = draw(
        st.sampled_from(
            ["group"] * 3
            + ["staff_chat_member", "staff", "staff", "staff_tap", "edited_group"]
            + ["private", "channel", "edited_channel", "inline", "unknown", "my_chat_member"]
        )
    )
    mid = draw(st.integers(1, 2**31 - 1))
    if kind in ("group", "edited_group"):
        chat = group_chat(draw(st.sampled_from([GROUP, SMALL_GROUP])))
        if draw(st.integers(0, 9)) == 0:  # an anonymous admin: the group itself speaks
            sender = {"id": ANONYMOUS_ADMIN, "is_bot": True, "first_name": "Group"}
            extra = {"sender_chat": chat}
        else:
            sender, extra = draw(users()), {}
        content = draw(contents(PUBLIC_COMMANDS + STAFF_COMMANDS + ["ask"]))
        if "text" in content and draw(st.booleans()):  # mention the bot
            content["text"] = f"@{BOT_USERNAME} " + content["text"]
            content["entities"] = _auto_entities(content["text"])
        msg = message(chat, sender, {**content, **extra}, draw(replied_messages(chat)), mid)
        if kind == "edited_group":
            return {"edited_message": {**msg, "edit_date": NOW + 1}}, False
        return {"message": msg}, False
    if kind in ("staff_chat_member", "staff"):
        chat = staff_chat()
        is_staff = kind == "staff"
        sender = draw(users(st.just(SOPHIE) if is_staff else st.sampled_from(USERS)))
        content = draw(contents(STAFF_COMMANDS))
        if "text" in content and content["text"].startswith("/"):
            command = command_of(content)
            if command not in (None, *STAFF_COMMANDS):
                content = {"text": "?"}  # public commands answer anywhere: not what this tests
        msg = message(chat, sender, content, draw(replied_messages(chat)), mid)
        return {"message": msg}, is_staff
    if kind == "staff_tap":
        sophie = draw(users(st.just(SOPHIE)))
        data = draw(staff_button_data)
        number = draw(st.integers(0, 10**12))
        query = {"id": f"s{number}-{time.monotonic_ns()}", "from": sophie, "chat_instance": "c"}
        query["data"] = data
        query["message"] = {
            "message_id": draw(st.integers(1, 60)),
            "date": NOW,
            "chat": staff_chat(),
            "text": "Ticket",
            "from": dict(BOT_USER),
        }
        return {"callback_query": query}, True
    if kind == "private":
        return draw(private_messages()), False
    if kind in ("channel", "edited_channel"):
        chat = {"id": CHANNEL, "type": "channel", "title": "Annonces"}
        content = draw(contents(PUBLIC_COMMANDS + ["ask"]))
        post = message(chat, None, {**content, "sender_chat": chat}, None, mid)
        if kind == "edited_channel":
            return {"edited_channel_post": {**post, "edit_date": NOW + 1}}, False
        return {"channel_post": post}, False
    if kind == "inline":
        query = {"id": str(mid), "from": draw(users()), "query": draw(texts), "offset": ""}
        return {"inline_query": query}, False
    if kind == "my_chat_member":
        user = draw(users())
        return {
            "my_chat_member": {
                "chat": group_chat(GROUP),
                "from": user,
                "date": NOW,
                "old_chat_member": {"status": "left", "user": dict(BOT_USER)},
                "new_chat_member": {"status": "member", "user": dict(BOT_USER)},
            }
        }, False
    # An update of a kind this python-telegram-bot does not know yet.
    return {"future_update_kind": {"id": mid, "text": draw(texts)}}, False


def staff_says(text: str) -> dict[str, Any]:
    sophie = {"id": SOPHIE, "is_bot": False, "first_name": "Sophie"}
    command = text.split()[0]
    entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message(staff_chat(), sophie, {"text": text, "entities": entities}, None, 1)}


@settings(FUZZ, max_examples=EXAMPLES["mixed"])
@given(updates=st.lists(mixed_updates(), min_size=1, max_size=3))
# Found by this test, fixed: "²".isdigit() is true, int("²") fails; staff met silence.
@example(updates=[(staff_says("/close ²"), True), (staff_says("/reply #① merci"), True)])
# Found by this test: "/close 02" on a ticket that exists is done with a 👌 on the command.
@example(updates=[(staff_says("/close 02"), True)])
def test_groups_channels_edits_and_staff_chat_noise(harness: Harness, updates):
    for payload, by_staff in updates:
        outcome = check(harness, payload, staff_author=by_staff)
        msg = payload.get("message")
        if by_staff and msg is not None and command_of(msg) in staff.COMMANDS:
            assert outcome.staff_posts(), f"a staff command met silence:\n{outcome.describe()}"
        if {"channel_post", "edited_channel_post", "inline_query", "future_update_kind",
                "my_chat_member"} & payload.keys():  # fmt: skip
            assert not [c for c in outcome.calls if is_send(c)], outcome.describe()


@st.composite
def ask_flows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "how": draw(st.sampled_from(["command", "command", "button"])),
        "text": draw(texts),
        "user": draw(users(st.just(0))),
        "followup": draw(st.none() | texts),
    }


@settings(FUZZ, max_examples=EXAMPLES["asks"])
@given(flow=ask_flows())
def test_asking_the_team_posts_one_card_per_ticket_and_nothing_else(harness: Harness, flow):
    h = harness
    uid = next(ASKER_IDS)
    user = {**flow["user"], "id": uid}
    chat = private_chat(uid, user["first_name"])
    ids = itertools.count(1_000)
    outcomes = []
    if flow["how"] == "command":
        text = f"/ask {flow['text']}".rstrip()
        content = {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": 4}]}
        outcomes.append(check(h, {"message": message(chat, user, content, None, next(ids))}))
    else:
        content = {"text": flow["text"]} if flow["text"] else {"text": "?"}
        asked = check(h, {"message": message(chat, user, content, None, next(ids))})
        outcomes.append(asked)
        reply = asked.sent_to(uid)[-1].result
        data = [
            b["callback_data"]
            for row in reply.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
            if b.get("callback_data", "").startswith("ask")
        ]
        if data:
            query = {"id": f"a{uid}", "from": user, "chat_instance": "c", "data": data[0]}
            outcomes.append(check(h, {"callback_query": {**query, "message": reply}}))
    tickets = h.storage.query("SELECT id, staff_message_id FROM tickets WHERE user_id = ?", (uid,))
    cards = [c for o in outcomes for c in o.staff_posts()]
    assert len(cards) == len(tickets) <= 1, "\n".join(o.describe() for o in outcomes)
    if tickets:
        [ticket] = tickets
        [card] = cards
        assert card.ok and ticket["staff_message_id"] == card.result["message_id"]
        assert f"tk:{ticket['id']}" in str(card.params.get("reply_markup"))
        # The user was told the ticket number once, and that message leads back to the ticket.
        told = {ticket_created(lang, ticket["id"]) for lang in LANGUAGES}
        confirmations = [c for o in outcomes for c in o.sent_to(uid) if c.params["text"] in told]
        assert len(confirmations) == 1, "\n".join(o.describe() for o in outcomes)
        notices = h.storage.query(
            "SELECT user_chat_message_id FROM ticket_messages WHERE ticket_id = ?"
            " AND direction = 'notice'",
            (ticket["id"],),
        )
        assert [n[0] for n in notices] == [confirmations[0].result["message_id"]]
        if flow["followup"] is not None:
            notice = confirmations[0].result["message_id"]
            content = {"text": flow["followup"] or "."}
            if ents := _auto_entities(content["text"]):
                content["entities"] = ents
            reply_to = {"message_id": notice, "date": NOW, "chat": chat, "from": dict(BOT_USER)}
            followup = check(h, {"message": message(chat, user, content, reply_to, next(ids))})
            assert len(followup.staff_posts()) <= 1, followup.describe()


def test_a_second_quick_tap_on_a_one_shot_button_is_not_an_error(harness: Harness):
    """👍 tapped twice before the first tap removed the buttons (or "Always answer in …"): the
    second removal changes nothing, which Telegram answers with an error. Found by the fuzzing
    (the same path as an unknown message), fixed: the user used to get "something went wrong"."""
    chat = private_chat(USERS[0])
    anna = {"id": USERS[0], "is_bot": False, "first_name": "Anna"}
    for data in ("fb:1:fr:kmo-what", "dl:de"):
        tapped = harness.bot_message(chat, "Réponse", [data, "ask"])
        for n in range(2):
            query = {"id": f"twice-{data}-{n}", "from": anna, "chat_instance": "c", "data": data}
            outcome = check(harness, {"callback_query": {**query, "message": tapped}})
            assert not outcome.sent_to(USERS[0]), outcome.describe()
        assert data not in str(harness.api.message(USERS[0], tapped["message_id"]))


# ---------------------------------------------------------------------------- a known gap


async def test_an_unparseable_update_does_not_stop_the_bot(botapi: BotApiDouble, tmp_path, caplog):
    """python-telegram-bot parses a getUpdates batch at once: one update it cannot parse (here
    a chat without a type, which Telegram never sends; in real life a newer Bot API field)
    used to fail every poll, so nobody was answered after it. bot.transport.TolerantBot skips
    it, logs its id (not its content), and the bot goes on."""
    settings_ = Settings(token=TOKEN, api_url=botapi.url, db_path=tmp_path / "f.sqlite3")
    storage = Storage(settings_.db_path)
    application = build_application(settings_, Engine(load_or_raise()), storage)
    async with polling(application):
        poison = botapi.push_raw(
            {"message": {"message_id": 1, "date": NOW, "chat": {"id": 5}, "text": "SECRET"}}
        )
        botapi.push_command(USERS[0], "help")
        await botapi.wait_for_message(USERS[0], timeout=5)
        botapi.push_raw({"message": {"message_id": 2, "date": NOW, "chat": {"id": 5}}})
        await asyncio.sleep(0.5)  # the poison last in its batch: polling still moves on
        botapi.push_command(USERS[1], "help")
        await botapi.wait_for_message(USERS[1], timeout=5)
    storage.close()
    skipped = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert skipped[0].startswith(f"update {poison.update['update_id']} (message)")
    assert len(skipped) == 2  # each read once, not again at every poll
    assert not any("SECRET" in r.getMessage() for r in caplog.records)
