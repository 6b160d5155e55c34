"""A local double of the Telegram Bot API for end-to-end tests.

``BotApiDouble`` is a small aiohttp server bound to 127.0.0.1 on a free port.  It answers
``GET``/``POST /bot{token}/{method}`` the way ``api.telegram.org`` does, so the real
python-telegram-bot ``Application`` (HTTPXRequest, Updater, handlers ...) can run against it
over real HTTP, and the tests never reach the real Telegram::

    async with BotApiDouble() as double:
        app = ApplicationBuilder().token("123:ABC").base_url(f"{double.url}/bot").build()
        ...
        double.push_text(42, "Bonjour")
        [call] = await double.wait_for_message(42)

Request decoding follows PTB's ``RequestData``/``HTTPXRequest``: parameters arrive as
``application/x-www-form-urlencoded`` (or ``multipart/form-data`` when files are uploaded)
fields whose string values are sent verbatim and every other value is a JSON-encoded string
(``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``).  ``Call.params`` holds them decoded
back to plain Python values.  ``application/json`` bodies and query strings are accepted too.

Everything runs on the event loop of the test; no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NamedTuple

from aiohttp import web

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USER",
    "BOT_USER_ID",
    "BOT_USERNAME",
    "BotApiDouble",
    "Call",
    "Pushed",
    "make_user",
]

BOT_USER_ID = 1000
BOT_USERNAME = "sudalsace_test_bot"
BOT_FIRST_NAME = "Sud Alsace"
BOT_USER: dict[str, Any] = {
    "id": BOT_USER_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}
#: the author of pushed group messages when no ``user`` is given
DEFAULT_GROUP_USER_ID = 424242

_PATH_RE = re.compile(r"^/bot([^/]+)/([A-Za-z0-9_]+)/?$")
_FILE_PATH_RE = re.compile(r"^/file/bot([^/]+)/(.+)$")

#: parameters that PTB always sends as raw strings: never JSON-decode them (a text "42" or
#: "true" must stay a string)
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "secret_token",
        "ip_address",
        "title",
        "description",
        "short_description",
        "name",
        "emoji",
        "address",
        "question",
        "explanation",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "performer",
        "file_id",
        "photo",
        "document",
        "sticker",
        "voice",
        "video",
        "audio",
        "animation",
        "video_note",
        "thumbnail",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "custom_emoji_id",
        "next_offset",
        "start_parameter",
        "payload",
        "currency",
        "provider_token",
        "game_short_name",
        "error_message",
        "shipping_query_id",
        "pre_checkout_query_id",
        "inline_query_id",
        "web_app_query_id",
        "sticker_format",
        "set_name",
        "format",
    }
)

#: setMyName/setMyDescription/setMyShortDescription: the field each sets, and its limit
_PROFILE_FIELDS = {
    "setmyname": ("name", 64),
    "setmydescription": ("description", 512),
    "setmyshortdescription": ("short_description", 120),
}

#: update types Telegram does not deliver unless asked for explicitly in allowed_updates
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_LIMIT_EXEMPT = frozenset({"sendChatAction"})
_BLOCKABLE_EXTRA = frozenset({"copyMessage", "forwardMessage", "deleteMessage"})


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def make_user(
    user_id: int,
    first_name: str = "Anna",
    username: str | None = None,
    language_code: str | None = "fr",
    *,
    last_name: str | None = None,
    is_bot: bool = False,
) -> dict[str, Any]:
    """A Bot API ``User`` dict."""
    user: dict[str, Any] = {"id": int(user_id), "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


class Pushed(NamedTuple):
    """What the ``push_*`` helpers return: the queued update and the message id it carries."""

    update: dict[str, Any]
    message_id: int | None


@dataclass
class Call:
    """One request the bot made.  ``time`` is ``time.monotonic()`` at arrival."""

    method: str
    params: dict[str, Any]
    time: float
    token: str = ""
    http_method: str = "POST"
    #: HTTP status of the answer, ``None`` while the request is still being served
    status: int | None = None
    #: the ``result`` of a successful answer (e.g. the Message dict of a sendMessage)
    result: Any = None
    #: the ``description`` of an error answer
    error: str | None = None
    #: why it failed when the double made it fail: 500/429/"timeout"/"blocked"/"limit"/...
    fault: str | int | None = None
    #: the client had already hung up when the answer was ready (cancelled long poll)
    client_gone: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """The raw ``text`` (or ``caption``) parameter as the bot sent it."""
        return self.params.get("text", self.params.get("caption"))

    def describe(self, t0: float | None = None) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("text", "caption")}
        head = f"{self.method} {json.dumps(shown, ensure_ascii=False, default=str)}"
        if len(head) > 300:
            head = head[:297] + "..."
        if self.text is not None:
            text = self.text if len(self.text) <= 120 else self.text[:117] + "..."
            head += f" text={text!r}"
        when = f"+{self.time - t0:.3f}s " if t0 is not None else ""
        if self.status is None:
            state = "in flight"
        elif self.ok:
            state = "200"
        else:
            state = f"{self.status} {self.error!r}"
        if self.fault is not None:
            state += f" [fault={self.fault}]"
        return f"{when}{head} -> {state}"


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _too_many(retry_after: int) -> _ApiError:
    retry_after = max(1, int(retry_after))
    return _ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _error_for_status(status: int, retry_after: int = 1, description: str | None = None):
    if status == 429:
        err = _too_many(retry_after)
        if description:
            err.description = description
        return err
    if description is None:
        description = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status)
        if description is None:
            try:
                description = HTTPStatus(status).phrase
            except ValueError:
                description = "Error"
    return _ApiError(status, description)


def _decode_param(name: str, raw: str) -> Any:
    """Undo PTB's RequestParameter.json_value: strings verbatim, everything else JSON."""
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _len16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _as_chat_key(chat_id: Any) -> int | str:
    if isinstance(chat_id, bool):
        raise _bad_request("chat not found")
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, float) and chat_id.is_integer():
        return int(chat_id)
    if isinstance(chat_id, str):
        with contextlib.suppress(ValueError):
            return int(chat_id)
        return chat_id
    raise _bad_request("chat not found")


def _same_chat(a: Any, b: Any) -> bool:
    try:
        return _as_chat_key(a) == _as_chat_key(b)
    except _ApiError:
        return False


def _required_chat_key(params: dict[str, Any]) -> Any:
    """The `chat_id` parameter as a chat key; a 400 like Telegram's when it is missing."""
    if params.get("chat_id") in (None, ""):
        raise _bad_request("chat_id is empty")
    return _as_chat_key(params["chat_id"])


@contextlib.asynccontextmanager
async def polling(application: Any) -> AsyncIterator[Any]:
    """A python-telegram-bot Application initialised, started and polling (no pause between
    polls), then stopped: every update it fetched is handled before the block ends."""
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


# Telegram lets a bot delete a message for 48 hours after it was sent.
DELETE_WINDOW = 48 * 3600


def _as_int(value: Any, error: str) -> int:
    if isinstance(value, bool):
        raise _bad_request(error)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(error) from None


def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
    # "the Message object in this field will not contain further reply_to_message fields"
    msg = copy.deepcopy(message)
    msg.pop("reply_to_message", None)
    return msg


# --------------------------------------------------------------------------------------------
# formatting (parse_mode) — enough of tdlib's parsers to produce entities and its errors
# --------------------------------------------------------------------------------------------


class _ParseError(Exception):
    pass


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.len16 = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.len16 += _len16(text)

    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _entity(etype: str, start: int, end: int, **extra: Any) -> dict[str, Any] | None:
    if end <= start:
        return None
    ent: dict[str, Any] = {"type": etype, "offset": start, "length": end - start}
    ent.update({k: v for k, v in extra.items() if v})
    return ent


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _html_unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name[0] == "#":
            try:
                code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
                return chr(code)
            except (ValueError, OverflowError):
                return m.group(0)
        return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name]

    return _HTML_ENTITY_RE.sub(repl, text)


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _TextBuilder()
    stack: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    spaces = " \t\r\n"
    while i < n:
        c = text[i]
        if c == "&":
            m = _HTML_ENTITY_RE.match(text, i)
            if m:
                out.add(_html_unescape(m.group(0)))
                i = m.end()
                continue
            out.add(c)
            i += 1
            continue
        if c != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        byte = _byte_offset(text, i)
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end == -1:
                raise _ParseError(f"Unclosed end tag at byte offset {byte}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _ParseError(f"Unexpected end tag at byte offset {byte}")
            top = stack[-1]
            if name != top["name"]:
                raise _ParseError(
                    f'Unmatched end tag at byte offset {byte}, expected "</{top["name"]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
            attrs = top["attrs"]
            etype = _HTML_TAGS[name]
            if name == "a":
                ent = _entity(etype, top["start"], out.len16, url=attrs.get("href", ""))
                if not attrs.get("href"):
                    ent = None
            elif name == "tg-emoji":
                ent = _entity(etype, top["start"], out.len16, custom_emoji_id=attrs.get("emoji-id"))
            elif name == "blockquote" and "expandable" in attrs:
                ent = _entity("expandable_blockquote", top["start"], out.len16)
            elif (
                name == "code"
                and stack
                and stack[-1]["name"] == "pre"
                and stack[-1]["start"] == top["start"]
                and attrs.get("class", "").startswith("language-")
            ):
                stack[-1]["language"] = attrs["class"][len("language-") :]
                ent = None
            elif name == "pre":
                ent = _entity(etype, top["start"], out.len16, language=top.get("language"))
            else:
                ent = _entity(etype, top["start"], out.len16)
            if ent:
                entities.append(ent)
            i = end + 1
            continue
        # start tag
        j = i + 1
        while j < n and text[j] not in spaces and text[j] != ">":
            j += 1
        name = text[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise _ParseError(f'Unsupported start tag "{name}" at byte offset {byte}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j] in spaces:
                j += 1
            if j >= n:
                raise _ParseError(f"Unclosed start tag at byte offset {byte}")
            if text[j] == ">":
                j += 1
                break
            k = j
            while k < n and text[k] not in spaces and text[k] not in "=>":
                k += 1
            attr = text[j:k].lower()
            if not attr:
                raise _ParseError(f'Empty attribute name in the tag "{name}" at byte offset {byte}')
            j = k
            while j < n and text[j] in spaces:
                j += 1
            value = ""
            if j < n and text[j] == "=":
                j += 1
                while j < n and text[j] in spaces:
                    j += 1
                if j >= n:
                    raise _ParseError(f"Unclosed start tag at byte offset {byte}")
                if text[j] in "\"'":
                    close = text.find(text[j], j + 1)
                    if close == -1:
                        raise _ParseError(f"Unclosed start tag at byte offset {byte}")
                    value = text[j + 1 : close]
                    j = close + 1
                else:
                    k = j
                    while k < n and text[k] not in spaces and text[k] != ">":
                        k += 1
                    value = text[j:k]
                    j = k
            attrs[attr] = _html_unescape(value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise _ParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte}'
            )
        stack.append({"name": name, "start": out.len16, "attrs": attrs})
        i = j
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["name"]}"')
    return out.text(), _sorted_entities(entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _TextBuilder()
    stack: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    quote_start: int | None = None
    i, n = 0, len(text)

    def reserved(ch: str) -> _ParseError:
        return _ParseError(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    while i < n:
        c = text[i]
        top = stack[-1]["type"] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if top == "code":
            if c == "`":
                ent = stack.pop()
                if e := _entity("code", ent["start"], out.len16):
                    entities.append(e)
            else:
                out.add(c)
            i += 1
            continue
        if top == "pre":
            if text.startswith("```", i):
                ent = stack.pop()
                if e := _entity("pre", ent["start"], out.len16, language=ent.get("language")):
                    entities.append(e)
                i += 3
            else:
                out.add(c)
                i += 1
            continue
        at_line_start = i == 0 or text[i - 1] == "\n"
        if c == ">" and at_line_start and not stack:
            if quote_start is None:
                quote_start = out.len16
            i += 1
            continue
        if c == "\n" and quote_start is not None and not text.startswith(">", i + 1):
            if e := _entity("blockquote", quote_start, out.len16):
                entities.append(e)
            quote_start = None
        if c not in _MDV2_RESERVED:
            out.add(c)
            i += 1
            continue
        is_end = False
        if top == "bold":
            is_end = c == "*"
        elif top == "italic":
            is_end = c == "_" and not text.startswith("__", i)
        elif top == "underline":
            is_end = text.startswith("__", i)
        elif top == "strikethrough":
            is_end = c == "~"
        elif top == "spoiler":
            is_end = text.startswith("||", i)
        elif top in ("text_link", "custom_emoji"):
            is_end = c == "]"
        byte = _byte_offset(text, i)
        if not is_end:
            entry: dict[str, Any] = {"start": out.len16, "byte": byte}
            if c == "_":
                if text.startswith("__", i):
                    entry["type"], i = "underline", i + 2
                else:
                    entry["type"], i = "italic", i + 1
            elif c == "*":
                entry["type"], i = "bold", i + 1
            elif c == "~":
                entry["type"], i = "strikethrough", i + 1
            elif c == "|" and text.startswith("||", i):
                entry["type"], i = "spoiler", i + 2
            elif c == "[":
                entry["type"], i = "text_link", i + 1
            elif c == "!" and text.startswith("![", i):
                entry["type"], i = "custom_emoji", i + 2
            elif c == "`":
                if text.startswith("```", i):
                    entry["type"], i = "pre", i + 3
                    newline = text.find("\n", i)
                    close = text.find("```", i)
                    if newline != -1 and (close == -1 or newline < close):
                        language = text[i:newline]
                        if language and not any(ch.isspace() for ch in language):
                            entry["language"] = language
                        if language == "" or "language" in entry:
                            i = newline + 1
                else:
                    entry["type"], i = "code", i + 1
            else:
                raise reserved(c)
            if any(e["type"] == entry["type"] for e in stack):
                raise _ParseError(
                    f"Can't use nested {_MDV2_NAMES[entry['type']]} entities at byte offset {byte}"
                )
            stack.append(entry)
            continue
        ent = stack.pop()
        etype = ent["type"]
        i += 2 if etype in ("underline", "spoiler") else 1
        if etype in ("text_link", "custom_emoji"):
            url = ""
            if i < n and text[i] == "(":
                j = i + 1
                chars: list[str] = []
                while j < n and text[j] != ")":
                    if text[j] == "\\" and j + 1 < n and 0 < ord(text[j + 1]) <= 126:
                        chars.append(text[j + 1])
                        j += 2
                        continue
                    chars.append(text[j])
                    j += 1
                if j >= n:
                    raise _ParseError(f"Can't find end of a URL at byte offset {byte}")
                url = "".join(chars)
                i = j + 1
            if etype == "custom_emoji":
                m = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if not m:
                    raise _ParseError(
                        f"Custom emoji URL must have an emoji identifier at byte offset {byte}"
                    )
                e = _entity(etype, ent["start"], out.len16, custom_emoji_id=m.group(1))
            else:
                e = _entity(etype, ent["start"], out.len16, url=url) if url else None
        else:
            e = _entity(etype, ent["start"], out.len16)
        if e:
            entities.append(e)
    if stack:
        ent = stack[-1]
        raise _ParseError(
            f"Can't find end of {_MDV2_NAMES[ent['type']]} entity at byte offset {ent['byte']}"
        )
    if quote_start is not None and (e := _entity("blockquote", quote_start, out.len16)):
        entities.append(e)
    return out.text(), _sorted_entities(entities)


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``Markdown``: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out = _TextBuilder()
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        byte = _byte_offset(text, i)
        missing = _ParseError(f"Can't find end of the entity starting at byte offset {byte}")
        if c == "[":
            close = text.find("]", i + 1)
            if close == -1:
                raise missing
            if close + 1 < n and text[close + 1] == "(":
                url_end = text.find(")", close + 2)
                if url_end == -1:
                    raise missing
                start = out.len16
                out.add(text[i + 1 : close])
                if e := _entity("text_link", start, out.len16, url=text[close + 2 : url_end]):
                    entities.append(e)
                i = url_end + 1
            else:
                out.add(text[i : close + 1])
                i = close + 1
            continue
        delim = "```" if text.startswith("```", i) else c
        close = text.find(delim, i + len(delim))
        if close == -1:
            raise missing
        inner = text[i + len(delim) : close]
        language = None
        if delim == "```" and "\n" in inner:
            first, rest = inner.split("\n", 1)
            if first and not any(ch.isspace() for ch in first):
                language, inner = first, rest
        start = out.len16
        out.add(inner)
        etype = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[delim]
        if e := _entity(etype, start, out.len16, language=language):
            entities.append(e)
        i = close + len(delim)
    return out.text(), _sorted_entities(entities)


def _format(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[dict[str, Any]]]:
    if entities:
        if not isinstance(entities, list):
            raise _bad_request("can't parse entities JSON object")
        return text, list(entities)
    if not parse_mode:
        return text, []
    mode = str(parse_mode).lower()
    parser = {
        "html": _parse_html,
        "markdownv2": _parse_markdown_v2,
        "markdown": _parse_markdown,
    }.get(mode)
    if parser is None:
        raise _bad_request("unsupported parse_mode")
    try:
        return parser(text)
    except _ParseError as exc:
        raise _bad_request(f"can't parse entities: {exc}") from None


_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<url>https?://[^\s<>\"]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31})"
    r"|(?P<hashtag>(?<![\w#])#[^\W\d][\w]*)"
)


def _auto_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram detects by itself in a user's plain text."""
    entities = []
    for m in _AUTO_ENTITY_RE.finditer(text):
        etype = m.lastgroup or "url"
        entities.append(
            {
                "type": etype,
                "offset": _len16(text[: m.start()]),
                "length": _len16(m.group(0)),
            }
        )
    return entities


# --------------------------------------------------------------------------------------------
# the double
# --------------------------------------------------------------------------------------------


class BotApiDouble:
    """Local Bot API server.  See the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_delay: float = 6.0,
        strict_chats: bool = False,
    ) -> None:
        self.host = host
        self._port = port
        #: how long a "timeout" fault keeps the request hanging; must exceed the client's
        #: read timeout (PTB's default is 5 s; build the bot with a smaller read_timeout)
        self.timeout_delay = timeout_delay
        #: when True a "timeout" fault executes the call after the delay (like Telegram may
        #: do for a request the client gave up on); when False it is dropped
        self.timeout_executes = False
        #: when True sending to a chat never seen (no push, no register_chat) answers
        #: 400 "chat not found"; when False such chats are created on the fly
        self.strict_chats = strict_chats

        self.calls: list[Call] = []
        #: chat_id -> message_id -> current Message dict (user and bot messages; edits applied,
        #: deleted messages removed)
        self.messages_by_id: dict[int | str, dict[int, dict[str, Any]]] = {}
        self.deleted_messages: dict[int | str, dict[int, dict[str, Any]]] = {}
        # (chat, message id) -> the emoji the bot reacted with (setMessageReaction)
        self.reactions: dict[tuple[int | str, int], list[str]] = {}
        # Forum topics: (chat, message_thread_id) -> {message_thread_id, name, icon_color, closed}.
        self.forum_topics: dict[tuple[int | str, int], dict[str, Any]] = {}
        #: chats (forums) where the bot may not manage topics (no "Manage topics" right)
        self.no_topic_rights: set[int | str] = set()
        #: chats that are forums (a topic was created there): a send to a thread they do not
        #: have (a topic deleted by hand) answers 400 "message thread not found"
        self.forums: set[int | str] = set()
        self.chats: dict[int | str, dict[str, Any]] = {}
        #: callback_query_id -> answerCallbackQuery params (None while unanswered)
        self.callback_answers: dict[str, dict[str, Any] | None] = {}
        #: (scope key, language_code) -> commands; see commands_for()
        self.my_commands_by_scope: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.bot_settings: dict[str, Any] = {}
        #: (field, language_code) -> text: the bot's name, description and short description
        #: per language ("" = the default), as setMyName/setMyDescription/... left them
        self.profile: dict[tuple[str, str], str] = {}
        #: chat id (None = the default) -> the menu button (setChatMenuButton)
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        #: inline_query_id -> answerInlineQuery params (None while unanswered)
        self.inline_answers: dict[str, dict[str, Any] | None] = {}
        self.webhook_url = ""
        self.files: dict[str, dict[str, Any]] = {}
        self.rejected_429 = 0

        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] | None = None
        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(7_000_000_000_001)
        self._inline_ids = itertools.count(8_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._next_message_id: dict[int | str, int] = {}
        self._poll_generation = 0

        self._blocked: dict[int | str, str] = {}
        # method -> faults to serve: (status, retry_after, description, chat key or None)
        self._fail_next: dict[str, deque[tuple[int | str, int, str | None, Any]]] = {}
        self._failure_p = 0.0
        self._failure_kinds: tuple[int | str, ...] = ()
        self._failure_rng = random.Random(0)
        self._failure_retry_after = 1
        self._failure_methods: frozenset[str] | None = None
        self._limits: dict[str, float | None] | None = None
        self._sent_global: deque[float] = deque()
        self._sent_per_chat: dict[int | str, deque[float]] = {}

        self._updates_changed = asyncio.Event()
        self._calls_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._t0 = time.monotonic()

        self._methods: dict[str, tuple[str, Callable[[Call], Any]]] = {}
        for name, handler in {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_media,
            "sendDocument": self._send_media,
            "sendSticker": self._send_media,
            "sendVoice": self._send_media,
            "sendAudio": self._send_media,
            "sendVideo": self._send_media,
            "sendLocation": self._send_media,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "setMessageReaction": self._set_message_reaction,
            "createForumTopic": self._create_forum_topic,
            "closeForumTopic": self._close_forum_topic,
            "reopenForumTopic": self._reopen_forum_topic,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
            "setMyDescription": self._set_profile,
            "setMyShortDescription": self._set_profile,
            "setMyName": self._set_profile,
            "getMyDescription": self._get_profile,
            "getMyShortDescription": self._get_profile,
            "getMyName": self._get_profile,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "answerInlineQuery": self._answer_inline_query,
            "setMyDefaultAdministratorRights": self._setting,
        }.items():
            self._methods[name.lower()] = (name, handler)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> BotApiDouble:
        if self._runner is not None:
            return self
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]
        self._t0 = time.monotonic()
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing.set()
        self._wake_pollers()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiDouble:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The Bot API root, e.g. ``http://127.0.0.1:PORT``; bots use ``f"{url}/bot"``."""
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Shortcut for ``f"{url}/bot"`` (what ``ApplicationBuilder.base_url`` wants)."""
        return f"{self.url}/bot"

    # ---------------------------------------------------------------- call inspection

    def calls_to(self, method: str, chat_id: Any = None, *, include_failed: bool = True):
        """Finished calls of ``method`` (optionally to one chat)."""
        return [
            c
            for c in self.calls
            if c.method == method
            and c.done
            and (include_failed or c.ok)
            and (chat_id is None or _same_chat(c.chat_id, chat_id))
        ]

    def sent(self, chat_id: Any = None, *, include_failed: bool = False) -> list[Call]:
        """sendMessage calls (by default only the successful ones, i.e. delivered messages)."""
        return self.calls_to("sendMessage", chat_id, include_failed=include_failed)

    def sent_texts(self, chat_id: Any = None) -> list[str]:
        """The ``text`` parameter of the delivered sendMessage calls."""
        return [c.params.get("text", "") for c in self.sent(chat_id)]

    def edits(self, chat_id: Any = None, *, include_failed: bool = False) -> list[Call]:
        """editMessage* calls (by default only the successful ones)."""
        return [
            c
            for c in self.calls
            if c.method.startswith("edit")
            and c.done
            and (include_failed or c.ok)
            and (chat_id is None or _same_chat(c.chat_id, chat_id))
        ]

    def message(self, chat_id: Any, message_id: int) -> dict[str, Any]:
        """The current state of message ``message_id`` in chat ``chat_id`` (KeyError if none)."""
        return self.messages_by_id[_as_chat_key(chat_id)][int(message_id)]

    def commands_for(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]] | None:
        """What setMyCommands recorded for that language/scope (None if never set)."""
        return self.my_commands_by_scope.get((self._scope_key(scope), language_code or ""))

    @property
    def my_commands(self) -> dict[str, list[dict[str, Any]]]:
        """language_code ("" = all languages) -> commands, for the default scope."""
        return {
            lang: cmds
            for (scope, lang), cmds in self.my_commands_by_scope.items()
            if scope == "default"
        }

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def delivered_update_ids(self) -> list[int]:
        """update_ids of all getUpdates answers that reached the client, in order (an id that
        shows up twice was delivered twice)."""
        ids: list[int] = []
        for c in self.calls:
            if c.method == "getUpdates" and c.ok and not c.client_gone:
                ids.extend(u["update_id"] for u in c.result)
        return ids

    def dump_calls(self, last: int = 30) -> str:
        interesting = [c for c in self.calls if c.method != "getUpdates"]
        polls = len(self.calls) - len(interesting)
        lines = [c.describe(self._t0) for c in interesting[-last:]]
        head = f"{len(interesting)} calls (+{polls} getUpdates)"
        if len(interesting) > last:
            head += f", last {last}"
        return head + ":\n  " + "\n  ".join(lines) if lines else head

    async def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = 5.0, *, count: int = 1
    ) -> list[Call]:
        """Wait until at least ``count`` finished calls match ``predicate``; return them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._calls_changed
            matches = [c for c in self.calls if c.done and predicate(c)]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} matching call(s), "
                    f"got {len(matches)}; {self.dump_calls()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_message(
        self, chat_id: Any, count: int = 1, timeout: float = 5.0
    ) -> list[Call]:
        """Wait until ``count`` messages were delivered to ``chat_id``; return the sendMessage
        calls to that chat."""
        return await self.wait_for(
            lambda c: c.method == "sendMessage" and c.ok and _same_chat(c.chat_id, chat_id),
            timeout,
            count=count,
        )

    def reset_calls(self) -> None:
        self.calls.clear()

    # ---------------------------------------------------------------- fault injection

    def block_chat(self, chat_id: Any, description: str | None = None) -> None:
        """Every send/edit to ``chat_id`` answers 403 (user blocked the bot / bot kicked)."""
        key = _as_chat_key(chat_id)
        if description is None:
            chat_type = self.chats.get(key, {}).get("type")
            if chat_type is None and isinstance(key, int) and key < 0:
                chat_type = "supergroup" if str(key).startswith("-100") else "group"
            if chat_type == "group":
                description = "Forbidden: bot was kicked from the group chat"
            elif chat_type in ("supergroup", "channel"):
                description = f"Forbidden: bot was kicked from the {chat_type} chat"
            else:
                description = "Forbidden: bot was blocked by the user"
        self._blocked[key] = description

    def unblock_chat(self, chat_id: Any) -> None:
        self._blocked.pop(_as_chat_key(chat_id), None)

    def fail_next(
        self,
        method: str,
        status: int | str = 500,
        count: int = 1,
        retry_after: int = 1,
        description: str | None = None,
        *,
        chat_id: Any = None,
    ) -> None:
        """Make the next ``count`` calls to ``method`` ("*" = any method but getUpdates) fail
        with HTTP ``status`` (500, 429 with ``retry_after``, 400 ... or "timeout").  With
        ``chat_id``, only calls to that chat fail (e.g. a 429 for the staff group alone, while
        private chats are served as usual)."""
        queue = self._fail_next.setdefault(method.lower(), deque())
        chat_key = None if chat_id is None else _as_chat_key(chat_id)
        for _ in range(count):
            queue.append((status, retry_after, description, chat_key))

    def failure_rate(
        self,
        p: float,
        kinds: Sequence[int | str] = (500, 429, "timeout"),
        seed: int = 0,
        *,
        retry_after: int = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Fail a share ``p`` of send*/edit* calls (or of ``methods``) at random (seeded) with
        one of ``kinds``.  ``p=0`` switches it off."""
        self._failure_p = float(p)
        self._failure_kinds = tuple(kinds)
        self._failure_rng = random.Random(seed)
        self._failure_retry_after = retry_after
        self._failure_methods = frozenset(m.lower() for m in methods) if methods else None

    def enforce_limits(
        self,
        global_per_s: float | None = 30,
        per_chat_per_s: float | None = 1,
        per_group_per_min: float | None = 20,
    ) -> None:
        """Answer 429 (retry_after = time until the window frees up) to message sends beyond
        Telegram's limits: ``global_per_s`` over all chats, ``per_chat_per_s`` per private chat,
        ``per_group_per_min`` per group/supergroup (sliding windows; sendChatAction and edits
        are not counted).  Each rejection increments ``rejected_429``.  ``None`` disables one
        limit; ``disable_limits()`` all of them."""
        self._limits = {
            "global_per_s": global_per_s,
            "per_chat_per_s": per_chat_per_s,
            "per_group_per_min": per_group_per_min,
        }
        self._sent_global.clear()
        self._sent_per_chat.clear()

    def disable_limits(self) -> None:
        self._limits = None

    def clear_faults(self) -> None:
        """Undo block_chat/fail_next/failure_rate/enforce_limits."""
        self._blocked.clear()
        self._fail_next.clear()
        self._failure_p = 0.0
        self._limits = None

    # ---------------------------------------------------------------- chats & pushes

    make_user = staticmethod(make_user)

    def register_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        user: dict[str, Any] | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Declare a chat (type inferred from the id's sign: "private" for positive ids, a
        "supergroup" for -100..., "group" otherwise).  Returns the Chat dict."""
        chat_id = int(chat_id)
        if chat_type is None or (chat_type == "private" and chat_id < 0):
            if chat_id > 0:
                chat_type = "private"
            else:
                chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        if chat_type == "private" and chat_id < 0:
            raise ValueError(f"a private chat needs a positive id, got {chat_id}")
        if chat_type != "private" and chat_id > 0:
            raise ValueError(f"a {chat_type} needs a negative id, got {chat_id}")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            user = user or make_user(chat_id)
            chat["first_name"] = user.get("first_name", "Anna")
            if user.get("last_name"):
                chat["last_name"] = user["last_name"]
            if user.get("username"):
                chat["username"] = user["username"]
        else:
            chat["title"] = title or f"Test {chat_type} {chat_id}"
            if username:
                chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def _chat_for_push(
        self, chat_id: int, chat_type: str, title: str | None, user: dict[str, Any] | None
    ) -> dict[str, Any]:
        key = int(chat_id)
        existing = self.chats.get(key)
        if existing is not None and (title is None or existing.get("title") == title):
            return existing
        return self.register_chat(key, chat_type, title=title, user=user)

    def _default_user(self, chat: dict[str, Any], language_code: str | None) -> dict[str, Any]:
        if chat["type"] == "private":
            return make_user(
                chat["id"],
                chat.get("first_name", "Anna"),
                chat.get("username"),
                language_code,
                last_name=chat.get("last_name"),
            )
        return make_user(DEFAULT_GROUP_USER_ID, language_code=language_code)

    def _allocate_message_id(self, chat_key: int | str) -> int:
        mid = self._next_message_id.get(chat_key, 1)
        self._next_message_id[chat_key] = mid + 1
        return mid

    def _store(self, message: dict[str, Any]) -> None:
        self.messages_by_id.setdefault(message["chat"]["id"], {})[message["message_id"]] = message

    def _lookup(self, chat_id: Any, message_id: int) -> dict[str, Any]:
        key = _as_chat_key(chat_id)
        try:
            return self.messages_by_id[key][int(message_id)]
        except KeyError:
            known = sorted(self.messages_by_id.get(key, {}))
            raise KeyError(
                f"no message {message_id} in chat {chat_id} (known ids: {known})"
            ) from None

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._wake_pollers()
        return update

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _user_message(
        self,
        chat_id: int,
        content: dict[str, Any],
        *,
        user: dict[str, Any] | None,
        language_code: str | None,
        chat_type: str,
        title: str | None,
        reply_to: int | None,
    ) -> dict[str, Any]:
        chat = self._chat_for_push(chat_id, chat_type, title, user)
        sender = user or self._default_user(chat, language_code)
        message: dict[str, Any] = {
            "message_id": self._allocate_message_id(chat["id"]),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            target = self._lookup(chat["id"], reply_to)
            message["reply_to_message"] = _without_reply(target)
            if target.get("message_thread_id") and chat["type"] == "supergroup":
                # In a forum, a message written in a topic replies to the topic's first
                # message (or to one inside it), and belongs to that topic.
                message["message_thread_id"] = target["message_thread_id"]
                message["is_topic_message"] = True
        message.update(content)
        self._store(message)
        return message

    def _push_message(self, chat_id: int, content: dict[str, Any], **kwargs: Any) -> Pushed:
        message = self._user_message(chat_id, content, **kwargs)
        update = self._enqueue("message", copy.deepcopy(message))
        return Pushed(update, message["message_id"])

    def push_text(
        self,
        chat_id: int,
        text: str,
        user: dict[str, Any] | None = None,
        language_code: str | None = "fr",
        chat_type: str = "private",
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        *,
        title: str | None = None,
    ) -> Pushed:
        """Queue a text message from a user.  ``user`` defaults to the private chat's user (or a
        group member) with ``language_code``; a given ``user`` is used as is.  ``reply_to`` is
        the message_id of a message in that chat (e.g. one the bot sent).  ``entities`` default
        to what Telegram detects itself (bot commands, URLs, @mentions, #hashtags)."""
        content: dict[str, Any] = {"text": text}
        ents = _auto_entities(text) if entities is None else entities
        if ents:
            content["entities"] = ents
        return self._push_message(
            chat_id,
            content,
            user=user,
            language_code=language_code,
            chat_type=chat_type,
            title=title,
            reply_to=reply_to,
        )

    def push_command(
        self,
        chat_id: int,
        command: str,
        args: str | Sequence[str] | None = None,
        user: dict[str, Any] | None = None,
        language_code: str | None = "fr",
        chat_type: str = "private",
        reply_to: int | None = None,
        *,
        title: str | None = None,
        mention: bool = False,
    ) -> Pushed:
        """Queue ``/command [args]`` with its bot_command entity (``mention=True`` appends
        ``@sudalsace_test_bot``, as Telegram clients do in groups)."""
        command = command.strip()
        if " " in command and args is None:
            command, args = command.split(" ", 1)
        token = "/" + command.lstrip("/")
        if mention and "@" not in token:
            token += f"@{BOT_USERNAME}"
        if args is not None and not isinstance(args, str):
            args = " ".join(args)
        text = f"{token} {args}" if args else token
        entities = [{"type": "bot_command", "offset": 0, "length": _len16(token)}]
        return self.push_text(
            chat_id,
            text,
            user=user,
            language_code=language_code,
            chat_type=chat_type,
            reply_to=reply_to,
            entities=entities,
            title=title,
        )

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        user: dict[str, Any] | None = None,
        *,
        language_code: str | None = "fr",
    ) -> Pushed:
        """Queue a callback_query for a button of message ``message_id`` (KeyError if there is no
        such message); the query carries the message as it currently is."""
        message = self._lookup(chat_id, message_id)
        chat = message["chat"]
        sender = user or self._default_user(chat, language_code)
        query_id = str(next(self._callback_ids))
        self.callback_answers[query_id] = None
        query = {
            "id": query_id,
            "from": sender,
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(hash(("chat_instance", chat["id"]))) % 10**18),
            "data": data,
        }
        update = self._enqueue("callback_query", query)
        return Pushed(update, int(message_id))

    def push_inline_query(
        self,
        query: str,
        user: dict[str, Any] | None = None,
        *,
        language_code: str | None = "fr",
        chat_type: str | None = "private",
        offset: str = "",
        user_id: int = 501,
    ) -> Pushed:
        """Queue an inline_query: a user typed ``@bot <query>`` in a chat of ``chat_type``
        (sender, private, group, supergroup or channel; None when Telegram does not say).
        ``Pushed.update["inline_query"]["id"]`` is the id answerInlineQuery must answer."""
        sender = user or make_user(user_id, language_code=language_code)
        query_id = str(next(self._inline_ids))
        self.inline_answers[query_id] = None
        payload: dict[str, Any] = {
            "id": query_id,
            "from": sender,
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            payload["chat_type"] = chat_type
        return Pushed(self._enqueue("inline_query", payload), None)

    async def wait_for_inline_answer(self, pushed: Pushed, timeout: float = 5.0) -> Call:
        """The answerInlineQuery call that answered the pushed inline query."""
        query_id = pushed.update["inline_query"]["id"]
        [call] = await self.wait_for(
            lambda c: (
                c.method == "answerInlineQuery" and str(c.params.get("inline_query_id")) == query_id
            ),
            timeout,
        )
        return call

    def push_edited_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        user: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> Pushed:
        """Queue an edited_message: the user edited their message ``message_id``."""
        message = copy.deepcopy(self._lookup(chat_id, message_id))
        if user is not None:
            message["from"] = user
        message["text"] = text
        ents = _auto_entities(text) if entities is None else entities
        message.pop("entities", None)
        if ents:
            message["entities"] = ents
        message["edit_date"] = max(int(time.time()), message["date"])
        self._store(message)
        update = self._enqueue("edited_message", copy.deepcopy(message))
        return Pushed(update, int(message_id))

    def _new_file(self, kind: str, ext: str, size: int, **extra: Any) -> dict[str, Any]:
        n = next(self._file_ids)
        info = {
            "file_id": f"{kind[:4].capitalize()}ACAgQAAxkBAAI{n:08d}",
            "file_unique_id": f"AQAD{kind[:3]}{n:06d}",
            "file_size": size,
            **extra,
        }
        self.files[info["file_id"]] = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_size": size,
            "file_path": f"{kind}s/file_{n}.{ext}",
        }
        return info

    def _media_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "user": kwargs.get("user"),
            "language_code": kwargs.get("language_code", "fr"),
            "chat_type": kwargs.get("chat_type", "private"),
            "title": kwargs.get("title"),
            "reply_to": kwargs.get("reply_to"),
        }

    @staticmethod
    def _caption(content: dict[str, Any], caption: str | None) -> dict[str, Any]:
        if caption:
            content["caption"] = caption
            if ents := _auto_entities(caption):
                content["caption_entities"] = ents
        return content

    def push_photo(
        self,
        chat_id: int,
        caption: str | None = None,
        *,
        width: int = 1280,
        height: int = 960,
        **kwargs: Any,
    ) -> Pushed:
        """Queue a photo (three PhotoSizes).  kwargs: user, language_code, chat_type, title,
        reply_to (same meaning as in push_text)."""
        sizes = []
        for scale in (0.0703125, 0.25, 1.0):
            w, h = max(1, int(width * scale)), max(1, int(height * scale))
            sizes.append(self._new_file("photo", "jpg", w * h // 10, width=w, height=h))
        content = self._caption({"photo": sizes}, caption)
        return self._push_message(chat_id, content, **self._media_kwargs(kwargs))

    def push_sticker(self, chat_id: int, emoji: str = "👍", **kwargs: Any) -> Pushed:
        sticker = self._new_file(
            "sticker",
            "webp",
            24_000,
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            type="regular",
            emoji=emoji,
            set_name="TestStickers",
        )
        return self._push_message(chat_id, {"sticker": sticker}, **self._media_kwargs(kwargs))

    def push_voice(self, chat_id: int, duration: int = 3, **kwargs: Any) -> Pushed:
        voice = self._new_file(
            "voice", "oga", 4_000 * duration, duration=duration, mime_type="audio/ogg"
        )
        return self._push_message(chat_id, {"voice": voice}, **self._media_kwargs(kwargs))

    def push_location(
        self, chat_id: int, latitude: float = 47.7508, longitude: float = 7.3359, **kwargs: Any
    ) -> Pushed:
        """Default position: Mulhouse."""
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._push_message(chat_id, content, **self._media_kwargs(kwargs))

    def push_document(
        self,
        chat_id: int,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        *,
        file_size: int = 52_000,
        **kwargs: Any,
    ) -> Pushed:
        document = self._new_file(
            "document",
            file_name.rsplit(".", 1)[-1] if "." in file_name else "bin",
            file_size,
            file_name=file_name,
            mime_type=mime_type,
        )
        content = self._caption({"document": document}, caption)
        return self._push_message(chat_id, content, **self._media_kwargs(kwargs))

    def push_raw(self, update: dict[str, Any]) -> Pushed:
        """Queue an arbitrary (possibly malformed) update; an ``update_id`` is added if
        missing.  Returns the message_id found in it, if any."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._wake_pollers()
        message_id = None
        for value in update.values():
            if isinstance(value, dict):
                inner = value.get("message", value)
                if isinstance(inner, dict) and isinstance(inner.get("message_id"), int):
                    message_id = inner["message_id"]
                    break
        return Pushed(update, message_id)

    # ---------------------------------------------------------------- HTTP plumbing

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        params: dict[str, Any] = {}
        files: dict[str, dict[str, Any]] = {}
        for key, value in request.query.items():
            params[key] = _decode_param(key, value)
        if request.method != "POST" or not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON encoded request") from None
            if isinstance(body, dict):
                params.update(body)
            return params, files
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    files[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(content),
                        "content": content,
                    }
                else:
                    params[key] = _decode_param(key, value)
        return params, files

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        file_match = _FILE_PATH_RE.match(request.path)
        if file_match and request.method == "GET":
            path = file_match.group(2)
            for info in self.files.values():
                if info["file_path"] == path:
                    return web.Response(body=info.get("content", b"\0" * info["file_size"]))
            return web.json_response(_ApiError(404, "Not Found").body(), status=404)
        match = _PATH_RE.match(request.path)
        if not match:
            return web.json_response(_ApiError(404, "Not Found").body(), status=404)
        token, raw_method = match.groups()
        known = self._methods.get(raw_method.lower())
        call = Call(
            method=known[0] if known else raw_method,
            params={},
            time=time.monotonic(),
            token=token,
            http_method=request.method,
        )
        self.calls.append(call)
        try:
            call.params, call.files = await self._read_params(request)
            self._notify_calls()
            if known is None:
                raise _ApiError(404, "Not Found")
            result = await self._process(call, known[1])
        except _ApiError as err:
            call.error = err.description
            status, body = err.code, err.body()
        else:
            call.result = result
            status, body = 200, {"ok": True, "result": result}
        transport = request.transport
        call.client_gone = transport is None or transport.is_closing()
        call.status = status
        self._notify_calls()
        return web.json_response(body, status=status)

    def _notify_calls(self) -> None:
        self._calls_changed.set()
        self._calls_changed = asyncio.Event()

    async def _sleep(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    async def _process(self, call: Call, handler: Callable[[Call], Any]) -> Any:
        fault = self._pick_fault(call.method, call.params.get("chat_id"))
        if fault is not None:
            kind, retry_after, description = fault
            call.fault = kind
            if kind == "timeout":
                delay = self.timeout_delay
                if call.method == "getUpdates":
                    delay += float(call.params.get("timeout") or 0)
                await self._sleep(delay)
                if not self.timeout_executes or self._closing.is_set():
                    raise _error_for_status(502)
            else:
                raise _error_for_status(int(kind), retry_after, description)
        self._check_blocked(call)
        self._check_limits(call)
        result = handler(call)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    @staticmethod
    def _is_send(method: str) -> bool:
        return method.startswith("send") or method in ("copyMessage", "forwardMessage")

    def _pick_fault(
        self, method: str, chat_id: Any = None
    ) -> tuple[int | str, int, str | None] | None:
        for key in (method.lower(), "*"):
            if key == "*" and method == "getUpdates":
                continue
            queue = self._fail_next.get(key)
            for fault in queue or ():
                status, retry_after, description, chat_key = fault
                if chat_key is None or _same_chat(chat_key, chat_id):
                    queue.remove(fault)
                    return status, retry_after, description
        if self._failure_p > 0 and self._failure_kinds:
            if self._failure_methods is not None:
                eligible = method.lower() in self._failure_methods
            else:
                eligible = self._is_send(method) or method.startswith("edit")
            if eligible and self._failure_rng.random() < self._failure_p:
                kind = self._failure_rng.choice(self._failure_kinds)
                return kind, self._failure_retry_after, None
        return None

    def _check_blocked(self, call: Call) -> None:
        if not self._blocked or "chat_id" not in call.params:
            return
        if not (
            self._is_send(call.method)
            or call.method.startswith("edit")
            or call.method in _BLOCKABLE_EXTRA
        ):
            return
        try:
            key = _as_chat_key(call.params["chat_id"])
        except _ApiError:
            return
        if key in self._blocked:
            call.fault = "blocked"
            raise _ApiError(403, self._blocked[key])

    def _check_limits(self, call: Call) -> None:
        if self._limits is None or not self._is_send(call.method):
            return
        if call.method in _LIMIT_EXEMPT or "chat_id" not in call.params:
            return
        try:
            key = _as_chat_key(call.params["chat_id"])
        except _ApiError:
            return
        now = time.monotonic()
        is_group = isinstance(key, str) or key < 0
        chat_window, chat_limit = (
            (60.0, self._limits["per_group_per_min"])
            if is_group
            else (1.0, self._limits["per_chat_per_s"])
        )
        global_limit = self._limits["global_per_s"]
        chat_log = self._sent_per_chat.setdefault(key, deque())
        while self._sent_global and self._sent_global[0] <= now - 1.0:
            self._sent_global.popleft()
        while chat_log and chat_log[0] <= now - chat_window:
            chat_log.popleft()
        waits = []
        if global_limit is not None and len(self._sent_global) >= global_limit:
            waits.append(self._sent_global[-int(global_limit)] + 1.0 - now)
        if chat_limit is not None and len(chat_log) >= chat_limit:
            waits.append(chat_log[-int(chat_limit)] + chat_window - now)
        if waits:
            self.rejected_429 += 1
            call.fault = "limit"
            raise _too_many(math.ceil(max(waits)))
        self._sent_global.append(now)
        chat_log.append(now)

    # ---------------------------------------------------------------- methods

    @staticmethod
    def _true(call: Call) -> bool:
        return True

    def _get_me(self, call: Call) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _setting(self, call: Call) -> bool:
        self.bot_settings[call.method] = call.params
        return True

    def _set_profile(self, call: Call) -> bool:
        field_name, limit = _PROFILE_FIELDS[call.method.lower()]
        text = call.params.get(field_name) or ""
        if not isinstance(text, str) or _len16(text) > limit:
            raise _bad_request(f"{field_name.upper()}_INVALID")
        language = call.params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("LANGUAGE_CODE_INVALID")
        self.bot_settings[call.method] = call.params
        if text:
            self.profile[(field_name, language)] = text
        else:  # an empty text removes that language's own one
            self.profile.pop((field_name, language), None)
        return True

    def _get_profile(self, call: Call) -> dict[str, str]:
        field_name, _limit = _PROFILE_FIELDS["set" + call.method.lower().removeprefix("get")]
        language = call.params.get("language_code") or ""
        text = self.profile.get((field_name, language), self.profile.get((field_name, ""), ""))
        if field_name == "name" and not text:
            text = BOT_FIRST_NAME
        return {field_name: text}

    def _set_chat_menu_button(self, call: Call) -> bool:
        button = call.params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad_request("can't parse menu button")
        self.bot_settings[call.method] = call.params
        chat = call.params.get("chat_id")
        self.menu_buttons[None if chat is None else _as_chat_key(chat)] = copy.deepcopy(button)
        return True

    def _get_chat_menu_button(self, call: Call) -> dict[str, Any]:
        chat = call.params.get("chat_id")
        key = None if chat is None else _as_chat_key(chat)
        return copy.deepcopy(
            self.menu_buttons.get(key, self.menu_buttons.get(None, {"type": "commands"}))
        )

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u.get("update_id", 0) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        kept = []
        for update in self._updates:
            kinds = [k for k in update if k != "update_id"]
            kind = kinds[0] if kinds else None
            if kind is not None and (
                (allowed and kind not in allowed) or (not allowed and kind in _OPT_IN_UPDATES)
            ):
                continue  # Telegram drops updates the bot did not subscribe to
            kept.append(update)
        self._updates = kept
        return copy.deepcopy(kept[:limit])

    async def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        params = call.params
        offset = _as_int(params.get("offset") or 0, "wrong offset specified")
        limit = min(100, max(1, _as_int(params.get("limit") or 100, "wrong limit specified")))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if allowed else None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # an older long poll still waiting gets a 409 below
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._updates_changed
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing.is_set():
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _drop_pending_if_asked(self, call: Call) -> None:
        if call.params.get("drop_pending_updates"):
            self._updates.clear()

    def _delete_webhook(self, call: Call) -> bool:
        self._drop_pending_if_asked(call)
        self.webhook_url = ""
        return True

    def _set_webhook(self, call: Call) -> bool:
        url = call.params.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._drop_pending_if_asked(call)
        self.webhook_url = url
        if "allowed_updates" in call.params:
            self._allowed_updates = call.params["allowed_updates"] or None
        return True

    def _get_webhook_info(self, call: Call) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
        return info

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return "default"
        if isinstance(scope, dict):
            if scope.get("type", "default") == "default" and len(scope) == 1:
                return "default"
            return json.dumps(scope, sort_keys=True)
        return str(scope)

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands specified")
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad_request("can't parse BotCommand")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = str(cmd.get("description", "")).strip()
            if not description or len(description) > 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        lang = call.params.get("language_code") or ""
        key = (self._scope_key(call.params.get("scope")), lang)
        self.my_commands_by_scope[key] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        lang = call.params.get("language_code") or ""
        key = (self._scope_key(call.params.get("scope")), lang)
        return copy.deepcopy(self.my_commands_by_scope.get(key, []))

    def _delete_my_commands(self, call: Call) -> bool:
        lang = call.params.get("language_code") or ""
        self.my_commands_by_scope.pop((self._scope_key(call.params.get("scope")), lang), None)
        return True

    def _known_chat(self, key: Any) -> dict[str, Any] | None:
        """The chat with that id, or with that @username; None if the double has none."""
        chat = self.chats.get(key)
        if chat is None and isinstance(key, str):
            name = key.lstrip("@").lower()
            chat = next(
                (c for c in self.chats.values() if str(c.get("username", "")).lower() == name),
                None,
            )
        return chat

    def _chat_for_send(self, call: Call) -> dict[str, Any]:
        key = _required_chat_key(call.params)
        chat = self._known_chat(key)
        if chat is None:
            if self.strict_chats or isinstance(key, str) or key == 0:
                raise _bad_request("chat not found")
            chat = self.register_chat(key)
        return chat

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup; return it if it belongs in the Message (inline keyboards)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or any(not isinstance(r, list) for r in rows):
            raise _bad_request(
                "can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of "
                "Arrays"
            )
        actions = (
            "url",
            "callback_data",
            "web_app",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
                if not any(a in button for a in actions):
                    raise _bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if "callback_data" in button:
                    data = str(button["callback_data"]).encode("utf-8")
                    if not 1 <= len(data) <= 64:
                        raise _bad_request("BUTTON_DATA_INVALID")
                if "url" in button and not re.match(
                    r"^(https?|tg)://", str(button["url"]), re.IGNORECASE
                ):
                    raise _bad_request(
                        f"inline keyboard button URL '{button['url']}' is invalid: "
                        "Unsupported URL protocol"
                    )
        if not rows or not any(rows):
            return None
        return copy.deepcopy(markup)

    def _reply_target(self, call: Call, chat: dict[str, Any]) -> dict[str, Any] | None:
        params = call.params
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        if not reply:
            return None
        if not isinstance(reply, dict) or "message_id" not in reply:
            raise _bad_request("can't parse reply parameters JSON object")
        chat_key = _as_chat_key(reply.get("chat_id", chat["id"]))
        message_id = _as_int(reply["message_id"], "message to be replied not found")
        target = self.messages_by_id.get(chat_key, {}).get(message_id)
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise _bad_request("message to be replied not found")
        return _without_reply(target)

    def _base_message(self, call: Call, chat: dict[str, Any]) -> dict[str, Any]:
        target = self._reply_target(call, chat)  # validate before using up a message_id
        message: dict[str, Any] = {
            "message_id": self._allocate_message_id(chat["id"]),
            "from": dict(BOT_USER),
            "chat": chat,
            "date": int(time.time()),
        }
        if call.params.get("message_thread_id") and chat["type"] == "supergroup":
            thread_id = _as_int(call.params["message_thread_id"], "message thread not found")
            key = _as_chat_key(chat["id"])
            if key in self.forums and (key, thread_id) not in self.forum_topics:
                raise _bad_request("message thread not found")
            message["message_thread_id"] = thread_id
        if target is not None:
            message["reply_to_message"] = target
        return message

    @staticmethod
    def _formatted_text(params: dict[str, Any], limit: int, *, caption: bool) -> dict[str, Any]:
        key = "caption" if caption else "text"
        raw = params.get(key)
        if raw is None or raw == "":
            if caption:
                return {}
            raise _bad_request("message text is empty")
        raw = str(raw)
        text, entities = _format(
            raw, params.get("parse_mode"), params.get("caption_entities" if caption else "entities")
        )
        if not text.strip():
            if caption:
                return {}
            raise _bad_request("text must be non-empty")
        if len(text) > limit:
            raise _bad_request("message caption is too long" if caption else "message is too long")
        out: dict[str, Any] = {key: text}
        if entities:
            out["caption_entities" if caption else "entities"] = entities
        return out

    def _finish_send(self, call: Call, message: dict[str, Any]) -> dict[str, Any]:
        markup = self._check_markup(call.params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        if call.params.get("link_preview_options") and "text" in message:
            message["link_preview_options"] = call.params["link_preview_options"]
        self._store(message)
        return copy.deepcopy(message)

    def _send_message(self, call: Call) -> dict[str, Any]:
        chat = self._chat_for_send(call)
        content = self._formatted_text(call.params, 4096, caption=False)
        self._check_markup(call.params.get("reply_markup"))
        message = self._base_message(call, chat)
        message.update(content)
        return self._finish_send(call, message)

    def _input_file(self, call: Call, field_name: str) -> tuple[str | None, int, str | None]:
        value = call.params.get(field_name)
        upload = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value[len("attach://") :])
        elif field_name in call.files:
            upload = call.files[field_name]
        if upload is not None:
            return upload.get("filename"), upload["size"], upload.get("content_type")
        if isinstance(value, str) and value:
            known = self.files.get(value)
            return None, known["file_size"] if known else 10_000, None
        raise _bad_request(f"there is no {field_name} in the request")

    def _send_media(self, call: Call) -> dict[str, Any]:
        chat = self._chat_for_send(call)
        kind = call.method[len("send") :].lower()
        params = call.params
        if kind == "location":
            try:
                location = {
                    "latitude": float(params["latitude"]),
                    "longitude": float(params["longitude"]),
                }
            except (KeyError, TypeError, ValueError):
                raise _bad_request("wrong latitude or longitude specified") from None
            content: dict[str, Any] = {"location": location}
        else:
            filename, size, mime = self._input_file(call, kind)
            uploaded = filename is not None or mime is not None
            if kind == "photo":
                content = {
                    "photo": [
                        self._new_file("photo", "jpg", max(1, size // 20), width=90, height=68),
                        self._new_file("photo", "jpg", size, width=1280, height=960),
                    ]
                }
            elif kind == "document":
                name = filename or "document"
                extra: dict[str, Any] = {"file_name": name}
                if mime or not uploaded:
                    extra["mime_type"] = mime or "application/octet-stream"
                content = {"document": self._new_file("document", "bin", size, **extra)}
            elif kind == "sticker":
                content = {
                    "sticker": self._new_file(
                        "sticker",
                        "webp",
                        size,
                        width=512,
                        height=512,
                        is_animated=False,
                        is_video=False,
                        type="regular",
                    )
                }
            elif kind == "voice":
                content = {
                    "voice": self._new_file(
                        "voice",
                        "oga",
                        size,
                        duration=int(params.get("duration") or 1),
                        mime_type="audio/ogg",
                    )
                }
            elif kind == "audio":
                content = {
                    "audio": self._new_file(
                        "audio",
                        "mp3",
                        size,
                        duration=int(params.get("duration") or 1),
                        mime_type=mime or "audio/mpeg",
                    )
                }
            else:  # video
                content = {
                    "video": self._new_file(
                        "video",
                        "mp4",
                        size,
                        width=int(params.get("width") or 640),
                        height=int(params.get("height") or 360),
                        duration=int(params.get("duration") or 1),
                        mime_type="video/mp4",
                    )
                }
            if uploaded:
                key = next(iter(content))
                stored = content[key][-1] if isinstance(content[key], list) else content[key]
                upload = call.files.get(kind) or next(iter(call.files.values()), None)
                if upload is not None:
                    self.files[stored["file_id"]]["content"] = upload["content"]
            content.update(self._formatted_text(params, 1024, caption=True))
        message = self._base_message(call, chat)
        message.update(content)
        return self._finish_send(call, message)

    _CONTENT_KEYS = (
        "text",
        "entities",
        "caption",
        "caption_entities",
        "photo",
        "document",
        "sticker",
        "voice",
        "audio",
        "video",
        "animation",
        "location",
        "venue",
        "contact",
        "link_preview_options",
    )

    def _source_message(self, call: Call, error: str) -> dict[str, Any]:
        from_chat = call.params.get("from_chat_id")
        message_id = call.params.get("message_id")
        try:
            return self._lookup(from_chat, _as_int(message_id, error))
        except (KeyError, _ApiError):
            raise _bad_request(error) from None

    def _forward_message(self, call: Call) -> dict[str, Any]:
        chat = self._chat_for_send(call)
        source = self._source_message(call, "message to forward not found")
        message = self._base_message(call, chat)
        sender = source.get("from")
        if source["chat"]["type"] == "channel" or not sender:
            origin = {"type": "chat", "date": source["date"], "sender_chat": source["chat"]}
        else:
            origin = {"type": "user", "date": source["date"], "sender_user": sender}
        message["forward_origin"] = origin
        message.update({k: copy.deepcopy(v) for k, v in source.items() if k in self._CONTENT_KEYS})
        self._store(message)
        return copy.deepcopy(message)

    def _copy_message(self, call: Call) -> dict[str, Any]:
        chat = self._chat_for_send(call)
        source = self._source_message(call, "message to copy not found")
        message = self._base_message(call, chat)
        message.update({k: copy.deepcopy(v) for k, v in source.items() if k in self._CONTENT_KEYS})
        if "caption" in call.params:
            message.pop("caption", None)
            message.pop("caption_entities", None)
            message.update(self._formatted_text(call.params, 1024, caption=True))
        self._finish_send(call, message)
        return {"message_id": message["message_id"]}

    def _message_to_edit(self, call: Call) -> dict[str, Any] | None:
        params = call.params
        if params.get("inline_message_id"):
            return None
        if params.get("chat_id") in (None, ""):
            raise _bad_request("chat_id is empty")
        if params.get("message_id") in (None, ""):
            raise _bad_request("message identifier is not specified")
        chat_key = _as_chat_key(params["chat_id"])
        message_id = _as_int(params["message_id"], "message to edit not found")
        message = self.messages_by_id.get(chat_key, {}).get(message_id)
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != BOT_USER_ID:
            raise _bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: dict[str, Any], changes: dict[str, Any], markup: Any) -> Any:
        new = copy.deepcopy(message)
        for key, value in changes.items():
            if value is None:
                new.pop(key, None)
            else:
                new[key] = value
        if markup is None:
            new.pop("reply_markup", None)
        else:
            new["reply_markup"] = markup
        compare = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(new.get(k) == message.get(k) for k in compare):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new["edit_date"] = max(int(time.time()), message["date"])
        self._store(new)
        return copy.deepcopy(new)

    def _edit_message_text(self, call: Call) -> Any:
        content = self._formatted_text(call.params, 4096, caption=False)
        markup = self._check_markup(call.params.get("reply_markup"))
        message = self._message_to_edit(call)
        if message is None:
            return True
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        changes = {"text": content["text"], "entities": content.get("entities")}
        if call.params.get("link_preview_options"):
            changes["link_preview_options"] = call.params["link_preview_options"]
        return self._apply_edit(message, changes, markup)

    def _edit_message_caption(self, call: Call) -> Any:
        content = self._formatted_text(call.params, 1024, caption=True)
        markup = self._check_markup(call.params.get("reply_markup"))
        message = self._message_to_edit(call)
        if message is None:
            return True
        if "text" in message:
            raise _bad_request("there is no caption in the message to edit")
        changes = {
            "caption": content.get("caption"),
            "caption_entities": content.get("caption_entities"),
        }
        return self._apply_edit(message, changes, markup)

    def _edit_message_reply_markup(self, call: Call) -> Any:
        markup = self._check_markup(call.params.get("reply_markup"))
        message = self._message_to_edit(call)
        if message is None:
            return True
        return self._apply_edit(message, {}, markup)

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id") or "")
        if query_id not in self.callback_answers or self.callback_answers[query_id] is not None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(call.params)
        return True

    def _answer_inline_query(self, call: Call) -> bool:
        """Checks what Telegram checks of the answer (ids, article fields, the message text's
        formatting and keyboards, the button, cache_time) and records it."""
        params = call.params
        query_id = str(params.get("inline_query_id") or "")
        if query_id not in self.inline_answers or self.inline_answers[query_id] is not None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request("can't parse inline query results JSON object")
        if len(results) > 50:
            raise _bad_request("RESULTS_TOO_MUCH")
        ids = set()
        for result in results:
            rid = str(result.get("id", "")) if isinstance(result, dict) else ""
            if not 1 <= len(rid.encode("utf-8")) <= 64:
                raise _bad_request("RESULT_ID_INVALID")
            if rid in ids:
                raise _bad_request("RESULT_ID_DUPLICATE")
            ids.add(rid)
            if result.get("type") != "article":
                continue  # only articles are checked in depth
            if not str(result.get("title") or "").strip():
                raise _bad_request("RESULT_TITLE_EMPTY")
            content = result.get("input_message_content") or {}
            text = content.get("message_text")
            if not isinstance(text, str) or not text.strip():
                raise _bad_request("MESSAGE_EMPTY")
            plain, _entities = _format(text, content.get("parse_mode"), content.get("entities"))
            if _len16(plain) > 4096:
                raise _bad_request("MESSAGE_TOO_LONG")
            self._check_markup(result.get("reply_markup"))
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise _bad_request("BUTTON_TEXT_INVALID")
            start = button.get("start_parameter")
            if "web_app" not in button and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(start)):
                raise _bad_request("START_PARAM_INVALID")
        cache_time = params.get("cache_time")
        if cache_time is not None and (not isinstance(cache_time, int) or cache_time < 0):
            raise _bad_request("CACHE_TIME_INVALID")
        self.inline_answers[query_id] = copy.deepcopy(params)
        return True

    _CHAT_ACTIONS = frozenset(
        {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }
    )

    def _send_chat_action(self, call: Call) -> bool:
        self._chat_for_send(call)
        if call.params.get("action") not in self._CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _delete_message(self, call: Call) -> bool:
        params = call.params
        chat_key = _required_chat_key(params)
        message_id = _as_int(params.get("message_id"), "message identifier is not specified")
        message = self.messages_by_id.get(chat_key, {}).get(message_id)
        if message is None:
            raise _bad_request("message to delete not found")
        if message.get("date", 0) < time.time() - DELETE_WINDOW:
            raise _bad_request("message can't be deleted for everyone")
        self._remove_message(chat_key, message_id)
        return True

    def _delete_messages(self, call: Call) -> bool:
        """Up to 100 ids; those not found or older than Telegram's 48 hours are skipped."""
        params = call.params
        chat_key = _required_chat_key(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad_request("message identifiers are not specified")
        chat_messages = self.messages_by_id.get(chat_key, {})
        for raw in ids:
            message_id = _as_int(raw, "message identifier is not specified")
            message = chat_messages.get(message_id)
            if message is not None and message.get("date", 0) >= time.time() - DELETE_WINDOW:
                self._remove_message(chat_key, message_id)
        return True

    # Telegram's default reactions (a bot may set one of them on a message it can see).
    REACTIONS = frozenset("👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🙏 👌 🕊 🤝 ✍ 🫡 💯 👀".split())

    def _set_message_reaction(self, call: Call) -> bool:
        """The bot's reaction to a message (replaces its previous one; [] removes it)."""
        params = call.params
        chat_key = _required_chat_key(params)
        message_id = _as_int(params.get("message_id"), "message identifier is not specified")
        if message_id not in self.messages_by_id.get(chat_key, {}):
            raise _bad_request("message to react not found")
        reaction = params.get("reaction") or []
        if not isinstance(reaction, list):
            raise _bad_request("can't parse reaction types json object")
        emojis = []
        for item in reaction:
            if not isinstance(item, dict) or item.get("type") != "emoji":
                raise _bad_request("REACTION_INVALID")
            if item.get("emoji") not in self.REACTIONS:
                raise _bad_request("REACTION_INVALID")
            emojis.append(item["emoji"])
        if len(emojis) > 1:
            raise _bad_request("REACTIONS_TOO_MANY")
        self.reactions[(chat_key, message_id)] = emojis
        return True

    # Forum topics (a supergroup with topics on): each topic starts with a service message
    # whose id is the topic's message_thread_id.

    def _create_forum_topic(self, call: Call) -> dict[str, Any]:
        chat = self._chat_for_send(call)
        name = str(call.params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise _bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        if chat["type"] != "supergroup":
            raise _bad_request("the chat is not a forum")
        if _as_chat_key(chat["id"]) in self.no_topic_rights:
            raise _bad_request("not enough rights to create a topic")
        self.forums.add(_as_chat_key(chat["id"]))
        thread_id = self._allocate_message_id(chat["id"])
        topic = {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}
        self._store(
            {
                "message_id": thread_id,
                "from": dict(BOT_USER),
                "chat": chat,
                "date": int(time.time()),
                "message_thread_id": thread_id,
                "is_topic_message": True,
                "forum_topic_created": {"name": name, "icon_color": 7322096},
            }
        )
        self.forum_topics[(_as_chat_key(chat["id"]), thread_id)] = {**topic, "closed": False}
        return topic

    def delete_forum_topic(self, chat_id: Any, thread_id: int) -> None:
        """A member deletes a topic by hand: it and its messages are gone."""
        key = _as_chat_key(chat_id)
        self.forum_topics.pop((key, thread_id), None)
        for message_id, message in list(self.messages_by_id.get(key, {}).items()):
            if message.get("message_thread_id") == thread_id:
                self._remove_message(key, message_id)

    def _forum_topic(self, call: Call) -> dict[str, Any]:
        key = (
            _required_chat_key(call.params),
            _as_int(call.params.get("message_thread_id"), "TOPIC_ID_INVALID"),
        )
        topic = self.forum_topics.get(key)
        if topic is None:
            raise _bad_request("TOPIC_ID_INVALID")
        return topic

    def _close_forum_topic(self, call: Call) -> bool:
        topic = self._forum_topic(call)
        if topic["closed"]:
            raise _bad_request("TOPIC_NOT_MODIFIED")
        topic["closed"] = True
        return True

    def _reopen_forum_topic(self, call: Call) -> bool:
        topic = self._forum_topic(call)
        if not topic["closed"]:
            raise _bad_request("TOPIC_NOT_MODIFIED")
        topic["closed"] = False
        return True

    def _remove_message(self, chat_key: Any, message_id: int) -> None:
        message = self.messages_by_id[chat_key].pop(message_id)
        self.deleted_messages.setdefault(chat_key, {})[message_id] = message

    def _get_chat(self, call: Call) -> dict[str, Any]:
        chat = self._known_chat(_required_chat_key(call.params))
        if chat is None:
            raise _bad_request("chat not found")
        return {
            **chat,
            "accent_color_id": abs(int(chat["id"])) % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_file(self, call: Call) -> dict[str, Any]:
        info = self.files.get(str(call.params.get("file_id") or ""))
        if info is None:
            raise _bad_request("invalid file_id")
        return {k: v for k, v in info.items() if k != "content"}
