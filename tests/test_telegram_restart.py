"""`faqbot run` as a real process: configuration errors, command menus, and a language choice
that survives the process being killed and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from tests.botapi_double import BotApiDouble, Call

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

TOKEN = "777:RESTART-token-never-real"
FAQBOT = Path(sys.executable).with_name("faqbot")
ANNA = 601


def bot_environment(api_url: str, db_path: Path) -> dict[str, str]:
    """The test's environment without any real bot setting, plus the double and a temp DB."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "STAFF_", "FAQBOT_"))
    }
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api_url, FAQBOT_DB=str(db_path))
    env.update(FAQBOT_OFFICE_HOURS="off")  # confirmations that do not depend on the hour
    return env


async def arrived(
    api: BotApiDouble, predicate: Callable[[Call], bool], timeout: float = 20.0
) -> Call:
    """The first request matching `predicate`, finished or still in flight (a long poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in api.calls:
            if predicate(call):
                return call
        await asyncio.sleep(0.02)
    raise AssertionError(f"no matching request in {timeout}s; {api.dump_calls()}")


async def confirmed(api: BotApiDouble, update_id: int) -> Call:
    """The bot has told the API it got update `update_id` (a getUpdates with a later offset),
    so a kill now does not make it come again."""
    return await arrived(
        api, lambda c: c.method == "getUpdates" and int(c.params.get("offset") or 0) > update_id
    )


async def start_bot(
    api: BotApiDouble, env: dict[str, str], log_path: Path
) -> asyncio.subprocess.Process:
    """Start `faqbot run` and wait until it polls the double with its new offset."""
    known = set(map(id, api.calls))
    log = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        str(FAQBOT), "run", env=env, stdout=log, stderr=log
    )
    log.close()
    await arrived(api, lambda c: c.method == "getUpdates" and id(c) not in known)
    return process


async def stop(process: asyncio.subprocess.Process, sig: int) -> int:
    if process.returncode is None:
        process.send_signal(sig)
    return await asyncio.wait_for(process.wait(), 15)


async def test_the_language_choice_survives_a_restart(botapi: BotApiDouble, tmp_path: Path):
    env = bot_environment(botapi.url, tmp_path / "faqbot.sqlite3")
    log_path = tmp_path / "faqbot.log"

    process = await start_bot(botapi, env, log_path)
    try:
        # On start, the command menu in each language.
        await botapi.wait_for(lambda c: c.method == "setMyCommands" and c.ok, count=4)
        assert botapi.commands_for("de")[0]["description"] == "Starten und Sprache wählen"
        assert botapi.commands_for("en")[0]["description"] == "Start and choose your language"

        botapi.push_command(ANNA, "start", language_code="fr")
        [welcome] = await botapi.wait_for_message(ANNA)
        assert welcome.result["text"].startswith("Bonjour Anna")
        pushed = botapi.push_callback(ANNA, welcome.result["message_id"], "lang:de")
        await botapi.wait_for(lambda c: c.method == "editMessageText" and c.ok)
        # Wait until the bot has confirmed the tap to the API, so it is not delivered again.
        await confirmed(botapi, pushed.update["update_id"])
    finally:
        await stop(process, signal.SIGKILL)

    process = await start_bot(botapi, env, log_path)
    try:
        botapi.push_command(ANNA, "help", language_code="fr")
        [_, help_reply] = await botapi.wait_for_message(ANNA, count=2)
        assert help_reply.result["text"].startswith("Ich beantworte Fragen")
    finally:
        assert await stop(process, signal.SIGTERM) == 0

    log = log_path.read_text(encoding="utf-8")
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert "Ich beantworte" not in log  # no user-facing text, no user text at INFO


def test_run_without_a_token_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in err
