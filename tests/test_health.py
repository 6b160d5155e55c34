"""/healthz and /metrics: the polling-mode health server (FAQBOT_HEALTH_PORT), what each
endpoint reports, 503 when the bot stops or the database does not answer, and metrics owned
by each application (several bots in one process do not share counters)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from bot.answering.engine import Engine
from bot.config import Settings
from bot.metrics import Metrics
from bot.store.storage import Storage
from bot.telegram.app import Service, build_application
from bot.telegram.web import Health, WebServer
from handlers.common import METRICS, SETTINGS
from tests.botapi_double import BotApiDouble
from tests.test_telegram_conversation import ANNA, TOKEN, RunningBot, engine  # noqa: F401
from tests.test_telegram_escalation import GERMAN_QUESTION, HANS, HANS_USER, ask
from tests.test_telegram_staff import staff_bot

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")


@contextlib.asynccontextmanager
async def health_server(bot: RunningBot) -> AsyncIterator[str]:
    """What `faqbot run` adds in polling mode with FAQBOT_HEALTH_PORT: its base URL."""
    settings = replace(bot.application.bot_data[SETTINGS], listen="127.0.0.1", health_port=0)
    service = Service(bot.application, settings, webhook=False)
    await service.post_init(bot.application)
    try:
        assert settings.pid_path.read_text().strip().isdigit()
        yield f"http://127.0.0.1:{service.server.port}"
    finally:
        await service.post_shutdown(bot.application)
    assert not settings.pid_path.exists()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_polling_mode_health_and_metrics(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    async with staff_bot(botapi, engine, tmp_path) as bot, health_server(bot) as url:
        status, content_type, body = await get(f"{url}/healthz")
        assert status == 200 and content_type.startswith("application/json")
        assert '"status": "ok"' in body and f'"faq_entries": {len(engine.kb)}' in body

        await bot.send(ANNA, "Qu'est-ce que KMØ ?")
        await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)  # one ticket waiting for staff
        status, content_type, metrics = await get(f"{url}/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert 'faqbot_questions_total{language="fr",outcome="answer"} 1.0' in metrics
        assert "faqbot_open_tickets 1.0" in metrics  # read from the database at the scrape
        assert f"faqbot_faq_entries {float(len(engine.kb))}" in metrics
        count = next(
            line for line in metrics.splitlines() if line.startswith("faqbot_update_seconds_count")
        )
        assert float(count.split()[1]) >= 1  # the question's update, at least, was timed
        assert "/telegram" not in metrics

        # No webhook route in polling mode.
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/telegram", json={"update_id": 1}) as response:
                assert response.status == 404

        # Polling stopped: the bot is no longer healthy.
        await bot.application.updater.stop()
        status, _, body = await get(f"{url}/healthz")
        assert status == 503 and '"reason": "the bot is not running"' in body
        await bot.application.updater.start_polling(poll_interval=0, timeout=1)


async def test_healthz_is_503_when_the_database_does_not_answer(tmp_path: Path):
    storage = Storage(tmp_path / "faqbot.sqlite3")
    health = Health(storage, faq_entries=lambda: 35, running=lambda: True)
    server = WebServer(health, Metrics())
    server.start("127.0.0.1", 0)
    try:
        status, _, body = await get(f"http://127.0.0.1:{server.port}/healthz")
        assert status == 200
        storage.close()
        status, _, body = await get(f"http://127.0.0.1:{server.port}/healthz")
        assert status == 503
        assert '"db": "error"' in body and '"status": "unavailable"' in body
        # /metrics still answers (with the last values it could read).
        status, _, _ = await get(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200
    finally:
        await server.stop()


def test_each_application_owns_its_metrics(engine: Engine, tmp_path: Path):  # noqa: F811
    settings = Settings(token=TOKEN, db_path=tmp_path / "faqbot.sqlite3")
    storage = Storage(settings.db_path)
    first = build_application(settings, engine, storage)
    second = build_application(settings, engine, storage)
    first.bot_data[METRICS].question("de", "answer")
    assert first.bot_data[METRICS].registry is not second.bot_data[METRICS].registry
    assert b'{language="de",outcome="answer"} 1.0' in first.bot_data[METRICS].render()[0]
    assert b'{language="de",outcome="answer"} 0.0' in second.bot_data[METRICS].render()[0]
    storage.close()
