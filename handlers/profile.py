"""The bot's profile in each language: its name, description and short description, from the
catalogs, and the menu button (the command list). Set at every start, like the command menus.

Telegram keeps one text per language (`language_code`) plus a default for every other
language, which is the default language's. It limits how often these may be changed (a 429
there can ask to wait for hours), so each text is read first and only set when it differs:
a restart with the same catalogs sets nothing. A failure is logged and the bot starts anyway
(the previous texts stay); `bot.telegram.ratelimit` keeps such a 429 from pausing the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from telegram import Bot, MenuButtonCommands
from telegram.error import TelegramError
from telegram.ext import Application

from bot.i18n import LANGUAGES
from handlers import texts
from handlers.common import SETTINGS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    name: str  # as in the Bot API: name, description, short_description
    text: Callable[[str], str]  # the text in a language (handlers.texts)
    limit: int

    async def current(self, bot: Bot, language_code: str | None) -> str:
        if self.name == "name":
            return (await bot.get_my_name(language_code=language_code)).name
        if self.name == "description":
            return (await bot.get_my_description(language_code=language_code)).description
        found = await bot.get_my_short_description(language_code=language_code)
        return found.short_description

    async def set(self, bot: Bot, text: str, language_code: str | None) -> None:
        if self.name == "name":
            await bot.set_my_name(text, language_code=language_code)
        elif self.name == "description":
            await bot.set_my_description(text, language_code=language_code)
        else:
            await bot.set_my_short_description(text, language_code=language_code)


FIELDS = (
    Field("name", texts.bot_name, texts.NAME_LIMIT),
    Field("description", texts.bot_description, texts.DESCRIPTION_LIMIT),
    Field("short_description", texts.bot_short_description, texts.SHORT_DESCRIPTION_LIMIT),
)


def profile_texts(default_language: str) -> Iterator[tuple[Field, str | None, str]]:
    """(field, language_code, text) for fr, de, en and the default (None: everyone else)."""
    targets = [(lang, lang) for lang in LANGUAGES] + [(None, default_language)]
    for field in FIELDS:
        for language_code, language in targets:
            yield field, language_code, field.text(language)


async def register_profile(application: Application) -> int:
    """Set the texts that differ from the catalogs' and the menu button; how many were set."""
    bot = application.bot
    changed = 0
    for field, language_code, text in profile_texts(
        application.bot_data[SETTINGS].default_language
    ):
        where = f"{field.name} ({language_code or 'default'})"
        if len(text) > field.limit:  # a translation too long: Telegram would refuse it
            log.warning("the bot's %s has %d characters, over %d", where, len(text), field.limit)
            continue
        try:
            if await field.current(bot, language_code) == text:
                continue
            await field.set(bot, text, language_code)
            changed += 1
        except TelegramError as exc:
            log.warning("could not set the bot's %s: %s", where, exc)
    try:
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    except TelegramError as exc:
        log.warning("could not set the menu button: %s", exc)
    if changed:
        log.info("the bot's profile: %d text(s) updated", changed)
    return changed
