"""`faqbot run --webhook` as a real process: the secret token, answers sent through the Bot API
double, /healthz, /metrics, JSON logs without secrets or user text, and SIGTERM that handles
every update already received before exiting 0.

The double plays Telegram's Bot API (setWebhook, sendMessage...); the test plays Telegram's
side of the webhook, posting updates to the bot's /telegram as Telegram would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.answering.knowledge import load_or_raise
from bot.cli import main
from tests.botapi_double import BotApiDouble
from tests.test_telegram_restart import FAQBOT, TOKEN, bot_environment, stop

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

SECRET = "webhook-SECRET_never-real-42"
WEBHOOK_URL = "https://faqbot.example.org/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
QUESTION = "Qu'est-ce que KMØ ?"  # answered with kmo-what
ANNA, BRUNO, CLARA = 701, 702, 703


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WebhookBot:
    process: asyncio.subprocess.Process
    http: aiohttp.ClientSession
    log_path: Path
    pid_path: Path

    async def post(self, update: dict, secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self.http.post("/telegram", json=update, headers=headers) as response:
            return response.status

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


@contextlib.asynccontextmanager
async def webhook_bot(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[WebhookBot]:
    """`faqbot run --webhook` on a free loopback port, ready (its /healthz says 200)."""
    port = free_port()
    env = bot_environment(botapi.url, tmp_path / "faqbot.sqlite3")
    env.update(
        TELEGRAM_WEBHOOK_URL=WEBHOOK_URL,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        FAQBOT_LISTEN="127.0.0.1",
        FAQBOT_PORT=str(port),
    )
    log_path = tmp_path / "faqbot.log"
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(FAQBOT), "run", "--webhook", env=env, stdout=log, stderr=log
        )
    http = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}")
    bot = WebhookBot(process, http, log_path, tmp_path / "faqbot.pid")
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.returncode is None, f"the bot exited:\n{bot.log()}"
            assert time.monotonic() < deadline, f"the bot never became healthy:\n{bot.log()}"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get("/healthz") as response:
                    if response.status == 200 and botapi.webhook_url:
                        break
            await asyncio.sleep(0.05)
        yield bot
    finally:
        await http.close()
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_webhook_end_to_end(botapi: BotApiDouble, tmp_path: Path):
    async with webhook_bot(botapi, tmp_path) as bot:
        [set_webhook] = botapi.calls_to("setWebhook")
        assert set_webhook.params["url"] == WEBHOOK_URL
        assert set_webhook.params["secret_token"] == SECRET
        assert bot.pid_path.read_text().strip() == str(bot.process.pid)

        # Without the secret, or with a wrong one: 403, and the update is never handled.
        assert await bot.post(botapi.push_text(BRUNO, "sans secret").update, secret=None) == 403
        assert await bot.post(botapi.push_text(CLARA, "faux secret").update, "wrong") == 403
        assert await bot.post({"not": "an update"}) == 400
        # An update python-telegram-bot cannot parse: 200 (or Telegram sends it again), skipped.
        unreadable = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 5}}}
        assert await bot.post(unreadable) == 200
        # With it: answered through the Bot API.
        assert await bot.post(botapi.push_text(ANNA, QUESTION).update) == 200
        [answer] = await botapi.wait_for_message(ANNA)
        entry = load_or_raise().entries["kmo-what"]
        assert answer.result["text"].startswith(entry.title("fr"))
        # Updates are handled in order: after the /help below, nothing else is on its way.
        assert await bot.post(botapi.push_command(ANNA, "help").update) == 200
        await botapi.wait_for_message(ANNA, count=2)
        assert botapi.sent(BRUNO) == [] and botapi.sent(CLARA) == []

        async with bot.http.get("/healthz") as response:
            assert response.status == 200
            health = await response.json()
        assert health["status"] == "ok" and health["db"] == "ok"
        assert health["faq_entries"] == len(load_or_raise())
        assert isinstance(health["uptime_s"], int | float) and health["uptime_s"] >= 0

        for _ in range(100):  # the last update is timed once its handler has returned
            async with bot.http.get("/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                metrics = await response.text()
            if "faqbot_update_seconds_count 2.0" in metrics:
                break
            await asyncio.sleep(0.02)
        assert 'faqbot_questions_total{language="fr",outcome="answer"} 1.0' in metrics
        assert 'faqbot_questions_total{language="de",outcome="escalate"} 0.0' in metrics
        assert 'faqbot_webhook_requests_total{result="forbidden"} 2.0' in metrics
        assert 'faqbot_webhook_requests_total{result="accepted"} 2.0' in metrics
        assert 'faqbot_webhook_requests_total{result="skipped"} 1.0' in metrics
        assert "faqbot_update_seconds_count 2.0" in metrics
        assert "faqbot_open_tickets 0.0" in metrics

        assert await stop(bot.process, signal.SIGTERM) == 0
        assert not bot.pid_path.exists()

    log = bot.log()
    lines = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])
    assert any("webhook set" in line["msg"] for line in lines)
    for secret in (TOKEN, TOKEN.split(":")[1], SECRET):
        assert secret not in log
    for user_text in (QUESTION, "sans secret", "faux secret", "Qu'est-ce", "KMØ"):
        assert user_text not in log


async def test_sigterm_handles_every_received_update_then_exits_0(
    botapi: BotApiDouble, tmp_path: Path
):
    async with webhook_bot(botapi, tmp_path) as bot:
        # A slow Telegram: each message takes 0.3 s to send, so updates queue up in the bot.
        users = [801, 802, 803, 804]
        botapi.timeout_delay, botapi.timeout_executes = 0.3, True
        botapi.fail_next("sendMessage", "timeout", count=len(users))
        for user in users:
            assert await bot.post(botapi.push_text(user, QUESTION).update) == 200
        signalled = time.monotonic()
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), 20) == 0

        for user in users:
            [reply] = botapi.sent(user)
            assert reply.ok
        # Most of them were sent after SIGTERM: they were waiting in the queue, not lost.
        assert sum(botapi.sent(user)[0].time > signalled for user in users) >= 2
        with pytest.raises(aiohttp.ClientError):  # no longer listening
            await bot.post(botapi.push_text(ANNA, QUESTION).update)
        assert not bot.pid_path.exists()
    log = [json.loads(line) for line in bot.log().splitlines()]
    assert any(line["msg"].startswith("stopping: no new updates") for line in log)
    assert not [line for line in log if line["level"] in ("ERROR", "CRITICAL")]


def test_webhook_mode_without_its_settings_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run", "--webhook"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET are not set" in err

    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", WEBHOOK_URL)
    assert main(["run", "--webhook"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TELEGRAM_WEBHOOK_SECRET is not set" in err

    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "short")
    assert main(["run", "--webhook"]) == 2
    assert "TELEGRAM_WEBHOOK_SECRET must be 16-256 characters" in capsys.readouterr().err

    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "not allowed: spaces, colons")
    assert main(["run", "--webhook"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TELEGRAM_WEBHOOK_SECRET must be" in err
    assert "not allowed" not in err  # a secret is never echoed

    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://faqbot.example.org/telegram")
    assert main(["run", "--webhook"]) == 2
    assert "must be an https:// URL" in capsys.readouterr().err
