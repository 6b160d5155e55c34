"""One bot per database: a second `faqbot run` on the same database refuses to start, with one
line on stderr, while the first keeps serving; a bot that was killed does not block the next."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from bot.store.lock import exclusive_database, lock_path
from tests.botapi_double import BotApiDouble
from tests.test_telegram_restart import FAQBOT, bot_environment, start_bot, stop

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

USER = 611


async def second_run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [str(FAQBOT), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_second_bot_on_the_same_database_refuses_to_start(
    botapi: BotApiDouble, tmp_path: Path
):
    db_path = tmp_path / "faqbot.sqlite3"
    env = bot_environment(botapi.url, db_path)
    log_path = tmp_path / "first.log"
    first = await start_bot(botapi, env, log_path)
    try:
        polls_before = sum(c.method == "getUpdates" for c in botapi.calls)
        result = await second_run(env)
        assert result.returncode in (1, 2), result
        assert "Traceback" not in result.stderr + result.stdout, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "already running" in lines[0] and str(db_path) in lines[0], lines[0]
        assert f"pid {first.pid}" in lines[0], lines[0]
        # The second one never talked to Telegram: every getUpdates since is the first bot's.
        assert not [c for c in botapi.calls if c.method == "getMe"][1:], botapi.dump_calls()

        # The first bot still answers.
        botapi.push_command(USER, "help", language_code="en")
        [reply] = await botapi.wait_for_message(USER)
        assert reply.ok
        assert sum(c.method == "getUpdates" for c in botapi.calls) > polls_before
    finally:
        assert await stop(first, signal.SIGTERM) == 0
    assert not lock_path(db_path).exists()  # a bot that stops leaves no lock file

    # Once the first has stopped, a new bot starts; killed, it does not block the next one.
    second = await start_bot(botapi, env, tmp_path / "second.log")
    await stop(second, signal.SIGKILL)
    assert lock_path(db_path).exists()  # left behind by the kill, but nobody holds it
    third = await start_bot(botapi, env, tmp_path / "third.log")
    assert await stop(third, signal.SIGTERM) == 0


def test_the_lock_is_exclusive_within_one_process_too(tmp_path: Path):
    """`flock` locks belong to an open file: a second attempt is refused even from the same
    process (the tests build many bots in one process)."""
    db_path = tmp_path / "faqbot.sqlite3"
    with exclusive_database(db_path):
        with pytest.raises(Exception, match="already running"):
            with exclusive_database(db_path):
                pass
    with exclusive_database(db_path):
        pass
