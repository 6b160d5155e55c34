"""A bot that cannot start (a token Telegram refuses, an unreachable Bot API) exits with one
clear error, and closes its HTTP clients first: no "Unclosed client session" from aiohttp, in
polling or webhook mode."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.botapi_double import BotApiDouble
from tests.test_storage_health import free_port
from tests.test_telegram_restart import FAQBOT, bot_environment

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

WEBHOOK = {
    "TELEGRAM_WEBHOOK_URL": "https://faqbot.example.org/telegram",
    "TELEGRAM_WEBHOOK_SECRET": "a-secret-of-the-tests-0123456789",
    "FAQBOT_LISTEN": "127.0.0.1",
}


async def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [str(FAQBOT), "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_refused_token_at_start_leaves_no_unclosed_session(
    botapi: BotApiDouble, tmp_path: Path, mode: str
):
    env = bot_environment(botapi.url, tmp_path / "faqbot.sqlite3")
    args: tuple[str, ...] = ()
    if mode == "webhook":
        env.update(WEBHOOK, FAQBOT_PORT=str(free_port()))
        args = ("--webhook",)
    botapi.fail_next("getMe", 401)
    result = await run(env, *args)
    assert result.returncode == 1, result.stderr
    assert [c.method for c in botapi.calls] == ["getMe"]  # it did try, and Telegram said 401
    assert "faqbot: could not start: InvalidToken" in result.stderr, result.stderr
    assert "Unclosed" not in result.stderr, result.stderr
    assert "Traceback (most recent call last)" not in result.stdout


async def test_an_unreachable_bot_api_at_start_leaves_no_unclosed_session(tmp_path: Path):
    env = bot_environment("http://127.0.0.1:9", tmp_path / "faqbot.sqlite3")  # nobody there
    result = await run(env)
    assert result.returncode == 1, result.stderr
    assert "faqbot: could not start: NetworkError" in result.stderr, result.stderr
    assert "Unclosed" not in result.stderr, result.stderr
