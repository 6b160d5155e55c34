"""The home screen: after /start and after a language is chosen, the most asked questions and
the topics as buttons (instead of a sentence pointing to /topics).

The most asked questions come from the question log (`bot/store/popular.py`), read at most
every `REFRESH_SECONDS` and kept in `bot_data`; until the log has enough of them (a new bot),
`FALLBACK` fills the list: the first questions a newcomer has, as the FAQ's editors chose.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import InlineKeyboardMarkup
from telegram.ext import ContextTypes

from bot.store.popular import most_asked
from handlers import keyboards
from handlers.common import engine_of, storage_of

log = logging.getLogger(__name__)

MOST_ASKED = 3
REFRESH_SECONDS = 600.0
#: When the question log has fewer than MOST_ASKED answered questions of the last 30 days.
FALLBACK = ("programme-what", "kmo-what", "be40-what", "campus-what")
#: bot_data key: (monotonic time read, entry ids)
POPULAR = "most_asked"
# Read more than shown: entries a reloaded FAQ no longer has are skipped.
_READ = MOST_ASKED + 5


async def most_asked_entries(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    """Up to MOST_ASKED entry ids of the served FAQ, most asked first, then FALLBACK's."""
    kb = engine_of(context).kb
    cached = context.bot_data.get(POPULAR)
    now = time.monotonic()
    if cached is None or now - cached[0] > REFRESH_SECONDS:
        try:
            ids = await asyncio.to_thread(most_asked, storage_of(context), _READ)
        except Exception as exc:  # the home screen never fails on the log: the fixed list
            log.warning("could not read the most asked questions: %s", exc)
            ids = cached[1] if cached else []
        context.bot_data[POPULAR] = cached = (now, ids)
    chosen: list[str] = []
    for entry_id in [*cached[1], *FALLBACK]:
        if entry_id in kb.entries and entry_id not in chosen:
            chosen.append(entry_id)
        if len(chosen) == MOST_ASKED:
            break
    return chosen


async def home_keyboard(
    context: ContextTypes.DEFAULT_TYPE, language: str, *, picker: bool = False
) -> InlineKeyboardMarkup:
    """The most asked questions and the topics, under the language picker after /start."""
    kb = engine_of(context).kb
    entries = await most_asked_entries(context)
    return keyboards.home_keyboard(kb, language, entries, picker=picker)
