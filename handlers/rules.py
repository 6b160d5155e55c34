"""The conversation's small decisions, kept free of Telegram so they are easy to test."""

from __future__ import annotations

import re

from bot.answering.language import LanguageGuess
from bot.answering.text import fold
from bot.i18n import LANGUAGES

#: Longer messages are not questions the FAQ can answer; the user is asked to shorten them.
MAX_QUESTION_LENGTH = 1000

#: A question is "clearly" in another language when its best language has at least this much
#: evidence and twice as much as any other (see `bot.answering.language.detect_language` scores).
CLEAR_LANGUAGE_SCORE = 2.0
CLEAR_LANGUAGE_RATIO = 2.0

TOO_LONG, EMPTY = "too_long", "empty"


def language_from_code(language_code: str | None, default: str) -> str:
    """fr, de or en from Telegram's IETF `language_code` ("de-CH" -> de); `default` otherwise."""
    primary = (language_code or "").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else default


def reply_language(guess: LanguageGuess, preferred: str) -> str:
    """The language to answer in: the question's own when it is clearly another one.

    Short or mixed questions ("KMØ ?", "formation") carry too little evidence; they are
    answered in the user's language rather than flipping between languages.
    """
    best = guess.language
    if best == preferred or best not in LANGUAGES:
        return preferred
    score = guess.scores.get(best, 0.0)
    runner_up = max((s for lang, s in guess.scores.items() if lang != best), default=0.0)
    if score >= CLEAR_LANGUAGE_SCORE and score >= CLEAR_LANGUAGE_RATIO * runner_up:
        return best
    return preferred


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
