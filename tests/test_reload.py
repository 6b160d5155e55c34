"""Reloading an edited FAQ without a restart: `/reload` in the staff chat, and `faqbot reload`
(the check, then SIGHUP to the running `faqbot run`). A FAQ with errors never goes live: the
previous one keeps answering, and staff (or the command line) are told why, with file:line.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from bot.answering.engine import Engine
from bot.answering.knowledge import DEFAULT_FAQ_DIR
from bot.cli import NO_BOT, main
from handlers.common import ENGINE, METRICS
from tests.botapi_double import BotApiDouble
from tests.test_telegram_conversation import ANNA, STAFF_CHAT, engine  # noqa: F401
from tests.test_telegram_escalation import SOPHIE
from tests.test_telegram_restart import FAQBOT, bot_environment, start_bot, stop
from tests.test_telegram_staff import MALLORY_USER, settled, staff_bot, staff_command
from tests.test_webhook import free_port

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

QUESTION = "Qu'est-ce que KMØ ?"  # answered with kmo-what
OLD_START = "La Cité du Numérique KMØ, située à Mulhouse"
NEW_START = "Version rechargée. La Cité du Numérique KMØ, située à Mulhouse"
KMO_WHAT_LINE = 9  # the line of "- id: kmo-what" in faq/kmo.yaml


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    """A copy of the bundled FAQ that the test may edit."""
    copy = tmp_path / "faq"
    shutil.copytree(DEFAULT_FAQ_DIR, copy)
    assert (copy / "kmo.yaml").read_text(encoding="utf-8").splitlines()[
        KMO_WHAT_LINE - 1
    ].strip() == "- id: kmo-what"
    return copy


def edit(faq: Path, old: str, new: str) -> None:
    path = faq / "kmo.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def edit_answer(faq: Path) -> None:
    edit(faq, OLD_START, NEW_START)


def break_it(faq: Path) -> None:
    """An unknown related id (with HTML in it) on kmo-what: an error at kmo.yaml:9."""
    edit(
        faq,
        "related: [kmo-who, kmo-cross-border, sudalsace-m2a]",
        "related: [kmo-who, '<b>nowhere</b>']",
    )


def answer_text(reply: dict) -> str:
    """The answer's text without its title line."""
    return reply["text"].split("\n\n", 1)[1]


# ---------------------------------------------------------------------------- /reload


async def test_reload_by_staff_serves_the_edited_faq(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    faq: Path,
):
    async with staff_bot(botapi, engine, tmp_path, faq_dir=faq) as bot:
        before = await bot.send(ANNA, QUESTION)
        assert answer_text(before).startswith(OLD_START)

        edit_answer(faq)
        assert answer_text(await bot.send(ANNA, QUESTION)).startswith(OLD_START)  # not yet
        reply = await staff_command(bot, "reload")
        assert reply["text"].startswith("FAQ rechargée\n")
        assert "35 réponses réparties en 8 thèmes" in reply["text"]
        assert answer_text(await bot.send(ANNA, QUESTION)).startswith(NEW_START)

        metrics = bot.application.bot_data[METRICS].render()[0].decode()
        assert 'faqbot_faq_reloads_total{result="ok"} 1.0' in metrics


async def test_a_broken_faq_is_refused_and_the_previous_one_stays_live(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    faq: Path,
):
    async with staff_bot(botapi, engine, tmp_path, faq_dir=faq) as bot:
        edit_answer(faq)
        break_it(faq)
        served = bot.application.bot_data[ENGINE]
        staff_before = len(botapi.sent(STAFF_CHAT))
        reply = await staff_command(bot, "reload")

        lines = reply["text"].splitlines()
        assert (
            lines[0] == "La FAQ n'a pas été rechargée\u00a0: la version actuelle reste en service."
        )
        assert lines[1].startswith("Erreurs\u00a0: 1.")
        assert lines[2] == (
            f"• faq/kmo.yaml:{KMO_WHAT_LINE} entry 'kmo-what': unknown related id '<b>nowhere</b>'"
        )
        # The HTML of the FAQ file was escaped, not interpreted.
        [call] = botapi.sent(STAFF_CHAT)[staff_before:]
        assert "&lt;b&gt;nowhere&lt;/b&gt;" in call.params["text"]
        assert f"<code>faq/kmo.yaml:{KMO_WHAT_LINE}</code>" in call.params["text"]

        assert bot.application.bot_data[ENGINE] is served
        assert answer_text(await bot.send(ANNA, QUESTION)).startswith(OLD_START)
        metrics = bot.application.bot_data[METRICS].render()[0].decode()
        assert 'faqbot_faq_reloads_total{result="refused"} 1.0' in metrics


async def test_reload_does_nothing_for_anyone_but_staff(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    faq: Path,
):
    staff_users = frozenset({SOPHIE})
    async with staff_bot(botapi, engine, tmp_path, faq_dir=faq, staff_user_ids=staff_users) as bot:
        edit_answer(faq)
        served = bot.application.bot_data[ENGINE]
        botapi.push_command(STAFF_CHAT, "reload", user=MALLORY_USER, chat_type="supergroup")
        botapi.push_command(ANNA, "reload")  # a private chat: not even "unknown command"
        await settled(bot)
        assert botapi.sent(STAFF_CHAT) == [] and botapi.sent(ANNA) == []
        assert bot.application.bot_data[ENGINE] is served
        assert answer_text(await bot.send(ANNA, QUESTION)).startswith(OLD_START)


# ---------------------------------------------------------------------------- faqbot reload


def reload_environment(monkeypatch, faq: Path, pid_file: Path) -> None:
    monkeypatch.setenv("FAQBOT_FAQ_DIR", str(faq))
    monkeypatch.setenv("FAQBOT_PID_FILE", str(pid_file))


def test_faqbot_reload_refuses_a_broken_faq(monkeypatch, capsys, faq: Path, tmp_path: Path):
    break_it(faq)
    reload_environment(monkeypatch, faq, tmp_path / "faqbot.pid")
    assert main(["reload"]) == 1  # before even looking for a bot
    out, err = capsys.readouterr()
    assert f"{faq}/kmo.yaml:{KMO_WHAT_LINE}: error: entry 'kmo-what': unknown related id" in out
    assert "FAILED: 1 error(s)" in out
    assert "the running bot keeps serving the current one" in err


def test_faqbot_reload_says_when_no_bot_is_running(monkeypatch, capsys, faq: Path, tmp_path):
    pid_file = tmp_path / "faqbot.pid"
    reload_environment(monkeypatch, faq, pid_file)
    assert main(["reload"]) == NO_BOT
    assert f"no bot is running (no pid file at {pid_file})" in capsys.readouterr().err

    # A pid file left by a bot that was killed: its process is gone.
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    pid_file.write_text(f"{dead}\n")
    assert main(["reload"]) == NO_BOT
    assert "stale pid file" in capsys.readouterr().err


async def test_faqbot_reload_makes_the_running_bot_serve_the_edited_faq(
    botapi: BotApiDouble, tmp_path: Path, faq: Path
):
    """The real processes: `faqbot run` (polling, with its health server) and `faqbot reload`."""
    health_port = free_port()
    env = bot_environment(botapi.url, tmp_path / "faqbot.sqlite3")
    env.update(
        FAQBOT_FAQ_DIR=str(faq), FAQBOT_HEALTH_PORT=str(health_port), FAQBOT_LISTEN="127.0.0.1"
    )
    pid_file = tmp_path / "faqbot.pid"  # the default: next to FAQBOT_DB
    log_path = tmp_path / "faqbot.log"
    process = await start_bot(botapi, env, log_path)
    http = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{health_port}")
    try:
        async with http.get("/healthz") as response:  # polling mode, FAQBOT_HEALTH_PORT set
            assert response.status == 200
            health = await response.json()
        assert (health["status"], health["db"], health["faq_entries"]) == ("ok", "ok", 35)
        await wait_for_file(pid_file)
        assert pid_file.read_text().strip() == str(process.pid)

        botapi.push_text(ANNA, QUESTION)
        [old] = await botapi.wait_for_message(ANNA)
        assert answer_text(old.result).startswith(OLD_START)

        edit_answer(faq)
        reload = await asyncio.create_subprocess_exec(
            str(FAQBOT),
            "reload",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(reload.communicate(), 30)
        assert reload.returncode == 0, err.decode()
        assert "OK: 0 error(s)" in out.decode()
        assert f"Reload requested: the bot (pid {process.pid})" in out.decode()
        await wait_for_log(log_path, "FAQ reloaded")

        botapi.push_text(ANNA, QUESTION)
        [_, new] = await botapi.wait_for_message(ANNA, count=2)
        assert answer_text(new.result).startswith(NEW_START)

        async with http.get("/metrics") as response:
            metrics = await response.text()
        assert 'faqbot_faq_reloads_total{result="ok"} 1.0' in metrics
        assert 'faqbot_questions_total{language="fr",outcome="answer"} 2.0' in metrics
        assert process.returncode is None  # SIGHUP did not end it
    finally:
        await http.close()
        assert await stop(process, signal.SIGTERM) == 0
    assert not pid_file.exists()
    with pytest.raises(aiohttp.ClientError):  # the health server is gone with the bot
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{health_port}/healthz")


async def wait_for_file(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.02)


async def wait_for_log(path: Path, text: str, timeout: float = 20.0) -> dict:
    """The first JSON log line whose message contains `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if text in record["msg"]:
                return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {text!r} in the log:\n{path.read_text(encoding='utf-8')}")
