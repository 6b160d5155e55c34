"""The callback data carried by inline buttons: how it is written and the patterns that read it.

Telegram keeps at most 64 bytes per button, and buttons outlive deployments: a message sent
last month can still be tapped. So the data is short, each kind has its own prefix (a new
format gets a new prefix, never a new meaning for an old one), and anything that matches no
pattern below is answered politely by a catch-all handler.

    lang:de            the language picker: make German the user's language
    dl:de              "always answer in German", under an answer given in German
    t                  the /topics menu
    t:kmo              the questions of topic `kmo`
    e:kmo-what         the answer to entry `kmo-what` inside the /topics menu
    q:de:kmo-what      a related question: its answer in German, as a new message
    s:de:kmo-what      a suggestion picked: the "did you mean" message becomes the answer
    fb:1:de:kmo-what   feedback on an answer: 1 helpful, 0 not helpful
    ask / ask:17       ask the team (17: the id of the question in the question log)
    tk:12              staff: "I take it" on the card of ticket 12
    tx:12              staff: close ticket 12
    fa:12:kmo-what     staff: answer ticket 12 with the FAQ entry `kmo-what`
    fg:yes / fg:no     /forget confirmed or cancelled
    sv:12              user: "Solved" under a team answer of ticket 12 (closes it)
    rc:12              user: "Reply to continue" under a team answer of ticket 12
    md:345             user: send the photo or file of message 345 to the team
    lw:a:7 / lw:r:7 / lw:s:7   staff, /learn: add, reject or skip wording candidate 7
"""

from __future__ import annotations

MAX_BYTES = 64

_LANG = r"(fr|de|en)"
_ID = r"([a-z0-9][a-z0-9-]*)"
# A row id: ASCII digits, below 9e18 so that it fits SQLite's INTEGER (max 2**63 - 1).
_NUMBER = r"([0-9]{1,18}|[1-8][0-9]{18})"

LANGUAGE_CHOICE = rf"^lang:{_LANG}$"
DEFAULT_LANGUAGE = rf"^dl:{_LANG}$"
TOPICS = r"^t$"
TOPIC = rf"^t:{_ID}$"
MENU_ENTRY = rf"^e:{_ID}$"
RELATED = rf"^q:{_LANG}:{_ID}$"
SUGGESTION = rf"^s:{_LANG}:{_ID}$"
FEEDBACK = rf"^fb:([01]):{_LANG}:{_ID}$"
ASK_TEAM = rf"^ask(?::{_NUMBER})?$"
STAFF_TAKE = rf"^tk:{_NUMBER}$"
STAFF_CLOSE = rf"^tx:{_NUMBER}$"
STAFF_FAQ_ANSWER = rf"^fa:{_NUMBER}:{_ID}$"
FORGET = r"^fg:(yes|no)$"
SOLVED = rf"^sv:{_NUMBER}$"
REPLY_TO_TICKET = rf"^rc:{_NUMBER}$"
MEDIA_TO_TEAM = rf"^md:{_NUMBER}$"
LEARN = rf"^lw:([ars]):{_NUMBER}$"

FEEDBACK_PREFIX = "fb:"
DEFAULT_LANGUAGE_PREFIX = "dl:"


def fits(data: str) -> bool:
    """Whether Telegram accepts `data` as callback data."""
    return 1 <= len(data.encode("utf-8")) <= MAX_BYTES


def language_choice(language: str) -> str:
    return f"lang:{language}"


def default_language(language: str) -> str:
    return f"dl:{language}"


def topics() -> str:
    return "t"


def topic(topic_id: str) -> str:
    return f"t:{topic_id}"


def menu_entry(entry_id: str) -> str:
    return f"e:{entry_id}"


def related(language: str, entry_id: str) -> str:
    return f"q:{language}:{entry_id}"


def suggestion(language: str, entry_id: str) -> str:
    return f"s:{language}:{entry_id}"


def feedback(helpful: bool, language: str, entry_id: str) -> str:
    return f"fb:{int(helpful)}:{language}:{entry_id}"


def ask_team(question_id: int | None = None) -> str:
    return "ask" if question_id is None else f"ask:{question_id}"


def staff_take(ticket_id: int) -> str:
    return f"tk:{ticket_id}"


def staff_close(ticket_id: int) -> str:
    return f"tx:{ticket_id}"


def staff_faq_answer(ticket_id: int, entry_id: str) -> str:
    return f"fa:{ticket_id}:{entry_id}"


def forget(confirmed: bool) -> str:
    return "fg:yes" if confirmed else "fg:no"


def solved(ticket_id: int) -> str:
    return f"sv:{ticket_id}"


def reply_to_ticket(ticket_id: int) -> str:
    return f"rc:{ticket_id}"


def media_to_team(message_id: int) -> str:
    return f"md:{message_id}"


def learn(action: str, candidate_id: int) -> str:
    return f"lw:{action}:{candidate_id}"
