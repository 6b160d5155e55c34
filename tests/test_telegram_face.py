"""End to end, the bot's public face (issue 13, part 2): its profile per language, the home
screen after /start and after a language is chosen, deep links, and inline mode, with the
real Application against the local Bot API double."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answering.engine import Engine
from bot.answering.knowledge import load_or_raise
from bot.i18n import LANGUAGES
from bot.telegram.app import register_public_face
from handlers import texts
from handlers.profile import FIELDS
from tests.botapi_double import BotApiDouble
from tests.test_telegram_conversation import ANNA, RunningBot, running_bot

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

PROFILE_METHODS = ("setMyName", "setMyDescription", "setMyShortDescription")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_or_raise())


@pytest_asyncio.fixture
async def bot(botapi: BotApiDouble, engine: Engine, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(botapi, engine, tmp_path) as running:
        yield running


# ---------------------------------------------------------------------------- the profile


async def test_profile_texts_per_language_are_set_at_start(bot: RunningBot):
    await register_public_face(bot.application)
    profile = bot.api.profile
    for field in FIELDS:
        for language in LANGUAGES:
            assert profile[(field.name, language)] == field.text(language)
            assert len(field.text(language)) <= field.limit
        assert profile[(field.name, "")] == field.text("fr")  # everyone else: the default
        assert len({field.text(language) for language in LANGUAGES}) == 3  # translated
    assert profile[("name", "de")] == "Assistent des Territoire d'Industrie Sud Alsace"
    assert bot.api.menu_buttons == {None: {"type": "commands"}}
    assert bot.api.commands_for("de")  # the command menus too

    # A restart with the same catalogs reads the texts and sets none of them again.
    bot.api.reset_calls()
    await register_public_face(bot.application)
    assert not [c for c in bot.api.calls if c.method in PROFILE_METHODS]
    assert len([c for c in bot.api.calls if c.method.startswith("getMy")]) == 12


async def test_the_description_says_only_what_the_faq_and_the_bot_do():
    for language in LANGUAGES:
        description = texts.bot_description(language)
        assert not any(s in description for s in ("http", "www", "@", "+33", "20")), description


async def test_a_refused_profile_text_is_logged_and_pauses_nothing(bot: RunningBot, caplog):
    # Telegram limits setMyName hard: a 429 asking to wait for an hour.
    bot.api.fail_next("setMyName", 429, count=4, retry_after=3600)
    with caplog.at_level(logging.WARNING, logger="handlers.profile"):
        started = time.monotonic()
        await register_public_face(bot.application)
        assert time.monotonic() - started < 3  # not retried after an hour
    assert "could not set the bot's name (fr)" in caplog.text
    assert ("name", "fr") not in bot.api.profile
    assert bot.api.profile[("description", "fr")] == texts.bot_description("fr")
    # ... and the bot answers at once: the 429 paused nothing else
    started = time.monotonic()
    reply = await bot.command(ANNA, "help", language_code="en")
    assert reply["text"].startswith("I answer questions")
    assert time.monotonic() - started < 3
