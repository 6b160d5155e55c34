"""Deep links to the bot (`https://t.me/<bot>?start=<payload>`) and their QR codes for print.

A payload names a topic (`t-<topic id>`) or an FAQ entry (`e-<entry id>`); `/start <payload>`
opens it in the user's own language, so one poster serves French, German and English readers.
Telegram allows 1 to 64 characters among A-Z, a-z, 0-9, `_` and `-` in a payload; the FAQ's
ids use lower-case letters, digits and `-`, so they fit as they are. Bare ids (`kmo`,
`kmo-what`), the first posters' form, are still read.

`faqbot links` lists every link; `faqbot qr` draws one as PNG or SVG with segno (see the
README's Dependencies). Nothing here imports Telegram.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.answering.knowledge import KnowledgeBase

TOPIC_PREFIX = "t-"
ENTRY_PREFIX = "e-"
#: The payload of the "Open the assistant" button above inline results: the welcome.
INLINE_PAYLOAD = "inline"
TOPIC, ENTRY = "topic", "entry"

_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Telegram usernames: 5-32 characters, letters, digits and underscores (bots end in "bot").
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
#: The QR codes' error correction: "M" (15% of the code may be damaged or covered) holds up
#: on a printed poster and keeps the code small; segno raises it when that costs no size.
QR_ERROR = "m"
QR_FORMATS = (".png", ".svg")


class LinkError(ValueError):
    """A deep link that cannot be made: the message says why, in one line."""


def topic_payload(topic_id: str) -> str:
    return _checked(TOPIC_PREFIX + topic_id)


def entry_payload(entry_id: str) -> str:
    return _checked(ENTRY_PREFIX + entry_id)


def _checked(payload: str) -> str:
    if not _PAYLOAD.fullmatch(payload):
        raise LinkError(f"{payload!r} cannot be a Telegram start parameter (A-Z a-z 0-9 _ -, ≤64)")
    return payload


def parse_payload(kb: KnowledgeBase, payload: str) -> tuple[str, str] | None:
    """(TOPIC, id) or (ENTRY, id) for the topic or entry a payload names, else None."""
    key = payload.strip().lower()
    if key.startswith(TOPIC_PREFIX) and kb.topic(key.removeprefix(TOPIC_PREFIX)) is not None:
        return TOPIC, key.removeprefix(TOPIC_PREFIX)
    if key.startswith(ENTRY_PREFIX) and key.removeprefix(ENTRY_PREFIX) in kb.entries:
        return ENTRY, key.removeprefix(ENTRY_PREFIX)
    if kb.topic(key) is not None:  # the first posters' bare ids
        return TOPIC, key
    if key in kb.entries:
        return ENTRY, key
    return None


def clean_username(username: str) -> str:
    """The bot's username without '@' or a t.me prefix; LinkError when it is not one."""
    name = username.strip().removeprefix("https://").removeprefix("t.me/").lstrip("@")
    if not _USERNAME.fullmatch(name):
        raise LinkError(f"{username!r} is not a Telegram bot username")
    return name


def deep_link(username: str, payload: str) -> str:
    return f"https://t.me/{clean_username(username)}?start={_checked(payload)}"


@dataclass(frozen=True)
class Link:
    payload: str
    kind: str  # TOPIC or ENTRY
    target: str  # the topic or entry id
    label: str  # the topic's name or the entry's question, in the listing's language
    url: str


def all_links(kb: KnowledgeBase, username: str, language: str = "fr") -> Iterator[Link]:
    """Every topic, each followed by its entries, in the FAQ's order."""
    for topic in kb.topics:
        payload = topic_payload(topic.id)
        yield Link(payload, TOPIC, topic.id, topic.names[language], deep_link(username, payload))
        for entry_id in topic.entry_ids:
            entry = kb.entries.get(entry_id)
            if entry is None:
                continue
            payload = entry_payload(entry_id)
            yield Link(
                payload, ENTRY, entry_id, entry.title(language), deep_link(username, payload)
            )


def find_link(kb: KnowledgeBase, username: str, name: str, language: str = "fr") -> Link:
    """The link of a topic or an entry named by its id or its payload (`kmo`, `t-kmo`,
    `kmo-what`, `e-kmo-what`); LinkError when the FAQ has neither."""
    found = parse_payload(kb, name)
    if found is None:
        raise LinkError(f"no topic or entry {name!r} in the FAQ (faqbot links lists them)")
    kind, target = found
    payload = topic_payload(target) if kind == TOPIC else entry_payload(target)
    if kind == TOPIC:
        label = kb.topic(target).names[language]
    else:
        label = kb.entries[target].title(language)
    return Link(payload, kind, target, label, deep_link(username, payload))


def write_qr(url: str, output: Path, scale: int = 10) -> tuple[int, int]:
    """Draw `url` as a QR code into `output` (.png or .svg, by its suffix), black on white with
    the standard quiet zone of 4 modules; (version, modules per side)."""
    import segno  # only `faqbot qr` needs it

    suffix = output.suffix.lower()
    if suffix not in QR_FORMATS:
        raise LinkError(f"{output}: the QR code is written as .png or .svg, not {suffix or '?'}")
    code = segno.make(url, error=QR_ERROR, micro=False)
    code.save(str(output), scale=scale, border=4, dark="#000", light="#fff")
    return code.version, code.symbol_size(scale=1, border=0)[0]


def username_from_get_me(api_url: str, token: str, timeout: float = 10.0) -> str:
    """The bot's username, from the Bot API's getMe (when no username is configured)."""
    request = urllib.request.Request(f"{api_url}/bot{token}/getMe")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.load(response)
    except OSError as exc:
        raise LinkError(f"getMe failed ({type(exc).__name__}): set TELEGRAM_BOT_USERNAME") from exc
    username = (body.get("result") or {}).get("username") if body.get("ok") else None
    if not username:
        raise LinkError("getMe gave no username: set TELEGRAM_BOT_USERNAME")
    return username
