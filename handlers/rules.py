"""The conversation's small decisions, kept free of Telegram so they are easy to test."""

from __future__ import annotations

import re

from bot.answering.text import fold
from bot.i18n import LANGUAGES

#: Longer messages are not questions the FAQ can answer; the user is asked to shorten them.
MAX_QUESTION_LENGTH = 1000

TOO_LONG, EMPTY = "too_long", "empty"


def language_from_code(language_code: str | None, default: str | None) -> str | None:
    """fr, de or en from Telegram's IETF `language_code` ("de-CH" -> de); `default` otherwise."""
    primary = (language_code or "").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else default


def question_problem(text: str | None) -> str | None:
    """TOO_LONG or EMPTY when a text message cannot be treated as a question, else None."""
    if text is not None and len(text) > MAX_QUESTION_LENGTH:
        return TOO_LONG
    if text is None or not fold(text):
        return EMPTY
    return None


def strip_mention(text: str, bot_username: str) -> str | None:
    """The text without `@bot_username`, or None when the bot is not mentioned in it."""
    pattern = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
    if not bot_username or not pattern.search(text):
        return None
    return " ".join(pattern.sub(" ", text).split())
