"""Health that tells the truth about storage (issue 9): `/healthz` is 503, with the reason, when
the database cannot be written or is corrupted, or when undelivered messages wait too long;
staff are told once when storage fails and once when it works again; a staff answer that could
not be stored is reported under it in the staff chat.

How the faults are made, as root (CI runs as root, and root ignores file permissions):

* disk full: SQLite's `PRAGMA max_page_count` on the bot's own connection, lowered to the
  file's size once its free room is used up, so SQLite answers "database or disk is full"
  exactly as on a full disk. A tiny tmpfs would be closer to the real thing but needs the
  right to mount (CAP_SYS_ADMIN), which a CI container rarely has, and a test that skips
  itself there proves nothing;
* read-only: the bot's connection replaced by one opened read-only (`mode=ro`), which SQLite
  refuses writes on whoever the user is ("attempt to write a readonly database"), as on a
  file or volume remounted read-only; `chmod` would not stop root, and `chattr +i` or a
  read-only bind mount need capabilities and file systems CI may not have;
* corrupted: pages in the middle of a copy of a real database overwritten, then the real
  `faqbot run` process started on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.formatting import split_html
from bot.metrics import Metrics
from bot.store.health import UNWRITABLE, StorageHealth
from bot.store.storage import LoggedQuestion, Storage
from bot.telegram.web import Health, WebServer
from handlers import ops, texts
from tests.botapi_double import BotApiDouble
from tests.test_faults import STAFF_CHAT as FAULTS_STAFF_CHAT
from tests.test_health import get, health_server
from tests.test_telegram_conversation import STAFF_CHAT, RunningBot, engine  # noqa: F401
from tests.test_telegram_escalation import GERMAN_QUESTION, HANS, HANS_USER, ask, staff_reply
from tests.test_telegram_restart import bot_environment, start_bot, stop
from tests.test_telegram_staff import settled, staff_bot

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

FAILED_HEADER = "Problème de stockage"  # the staff chat speaks the default language, French
RECOVERED = texts.staff_storage_recovered("fr").removeprefix("✅ ")
# As long as a Telegram message may be: more than one database page, so storing it needs room
# the full database does not have (shorter rows may still fit in a partly filled page, as
# SQLite reuses room inside its pages on a real full disk too).
LONG_ANSWER = ("Voici la réponse détaillée de l'équipe. " * 100)[:4000]


async def healthz(url: str) -> tuple[int, dict]:
    status, _, body = await get(f"{url}/healthz")
    return status, json.loads(body)


def staff_texts(bot: RunningBot) -> list[str]:
    """As staff read them (the HTML rendered by the double)."""
    return [c.result.get("text") or "" for c in bot.api.sent(STAFF_CHAT)]


def storage_alerts(bot: RunningBot) -> list[str]:
    return [t for t in staff_texts(bot) if FAILED_HEADER in t or RECOVERED in t]


async def run_storage_job(bot: RunningBot) -> None:
    """One run of the 30-second storage job, now (it is paused in these tests)."""
    [job] = bot.application.job_queue.get_jobs_by_name(ops.JOB_NAME)
    await job.run(bot.application)


def pause_storage_job(bot: RunningBot) -> None:
    [job] = bot.application.job_queue.get_jobs_by_name(ops.JOB_NAME)
    job.enabled = False


@contextlib.contextmanager
def disk_full(storage: Storage) -> Iterator[None]:
    """The database can grow no more, and its free room is used up (see the docstring)."""
    with storage._lock:
        storage.db.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        pages = storage.db.execute("PRAGMA page_count").fetchone()[0]
        storage.db.execute(f"PRAGMA max_page_count = {pages}")
        while True:
            try:
                storage.db.execute("INSERT INTO filler VALUES (zeroblob(100))")
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
                break
    try:
        yield
    finally:
        with storage._lock:
            storage.db.execute("PRAGMA max_page_count = 1073741823")


@contextlib.contextmanager
def read_only(storage: Storage) -> Iterator[None]:
    """The bot's connection replaced by a read-only one (see the docstring)."""
    with storage._lock:
        writable = storage.db
        ro = sqlite3.connect(
            f"file:{storage.path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
        ro.row_factory = sqlite3.Row
        storage.db = ro
    try:
        yield
    finally:
        with storage._lock:
            storage.db = writable
        ro.close()


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
async def test_a_storage_fault_is_a_503_with_its_reason_and_staff_are_told_once(
    botapi: BotApiDouble,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    fault: str,
):
    make_fault, expected = {
        "disk full": (disk_full, "database or disk is full"),
        "read-only": (read_only, "attempt to write a readonly database"),
    }[fault]
    async with staff_bot(botapi, engine, tmp_path) as bot, health_server(bot) as url:
        pause_storage_job(bot)
        _, card = await ask(bot, HANS, GERMAN_QUESTION, HANS_USER)
        await settled(bot)
        assert (await healthz(url))[0] == 200
        await run_storage_job(bot)
        assert storage_alerts(bot) == []  # nothing to tell while storage works

        with make_fault(bot.storage):
            status, body = await healthz(url)
            assert status == 503, body
            assert body["status"] == "unavailable" and body["db"] == "error"
            assert body["reason"] == f"the database cannot be written: {expected}"

            # Staff are told once, in their language, however many probes fail.
            await run_storage_job(bot)
            await run_storage_job(bot)
            [alert] = storage_alerts(bot)
            assert alert.startswith(f"⚠️ {FAILED_HEADER}\n"), alert
            assert "ne peut plus écrire dans sa base de données" in alert and expected in alert

            # A staff answer that arrives now cannot be written to the inbox: it is not
            # confirmed to Telegram, which keeps it; nothing reaches the user yet.
            sent_to_hans = len(bot.api.sent(HANS))
            pushed = staff_reply(bot, LONG_ANSWER, card["message_id"])
            await asyncio.sleep(0.5)
            assert len(bot.api.sent(HANS)) == sent_to_hans
            assert pushed in [u["message"]["message_id"] for u in bot.api.pending_updates]

        status, body = await healthz(url)
        assert status == 200 and body["db"] == "ok", body
        await run_storage_job(bot)
        await run_storage_job(bot)
        assert storage_alerts(bot)[1:] == [f"✅ {RECOVERED}"]

        # Storage works again: the answer given during the fault goes through, once.
        await bot.api.wait_for_message(HANS, count=sent_to_hans + 1, timeout=40)
        await settled(bot)
        received = " ".join(c.result["text"] for c in bot.api.sent(HANS)[sent_to_hans:])
        assert " ".join(LONG_ANSWER.split()) in " ".join(received.split())
        await settled(bot)
        # Once: as many messages as the answer has parts (the hint may add one).
        language = bot.application.bot_data["desk"].get(1).language
        parts = split_html(texts.staff_answer(language, LONG_ANSWER, 1))
        assert len(bot.api.sent(HANS)) == sent_to_hans + len(parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def corrupt_copy(source: Path, target: Path) -> None:
    """A copy of `source` with three pages in the question log overwritten."""
    target.write_bytes(source.read_bytes())
    page_size = 4096
    pages = target.stat().st_size // page_size
    with target.open("r+b") as fh:
        for page in range(pages - 4, pages - 1):
            fh.seek(page * page_size)
            fh.write(b"\xa5" * page_size)


async def test_the_bot_started_on_a_corrupted_database_says_so(
    botapi: BotApiDouble, tmp_path: Path
):
    original = tmp_path / "original.sqlite3"
    storage = Storage(original)
    storage.log_questions(
        [
            LoggedQuestion(None, "fr", f"question {i} " + "x" * 200, "escalate", None, 0)
            for i in range(300)
        ]
    )
    storage.close()  # the last connection: the WAL is folded into the file
    db_path = tmp_path / "faqbot.sqlite3"
    corrupt_copy(original, db_path)

    port = free_port()
    env = bot_environment(botapi.url, db_path)
    env.update(
        STAFF_CHAT_ID=str(FAULTS_STAFF_CHAT),
        FAQBOT_HEALTH_PORT=str(port),
        FAQBOT_LISTEN="127.0.0.1",
    )
    log_path = tmp_path / "faqbot.log"
    process = await start_bot(botapi, env, log_path)
    try:
        [alert] = await botapi.wait_for_message(FAULTS_STAFF_CHAT, timeout=20)
        text = alert.result["text"]
        assert text.startswith(f"⚠️ {FAILED_HEADER}\n"), text
        assert "base de données du bot est endommagé" in text

        status, body = await healthz(f"http://127.0.0.1:{port}")
        assert status == 503, body
        assert body["reason"].startswith("the database is corrupted: "), body
    finally:
        assert await stop(process, 15) == 0
    log = log_path.read_text(encoding="utf-8")
    assert "database integrity check failed" in log


async def test_healthz_is_503_when_the_outbox_is_stuck_and_metrics_show_the_backlog(
    tmp_path: Path,
):
    storage = Storage(tmp_path / "faqbot.sqlite3")
    backlog = {"value": (0, None)}
    metrics = Metrics()
    metrics.backlog = lambda: backlog["value"]
    health = Health(
        storage, faq_entries=lambda: 35, running=lambda: True, backlog=lambda: backlog["value"]
    )
    server = WebServer(health, metrics)
    server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.port}"
    try:
        status, body = await healthz(url)
        assert status == 200 and (body["outbox"], body["outbox_oldest_s"]) == (0, None)

        backlog["value"] = (12, 42.0)  # a backlog that moves: still healthy
        status, body = await healthz(url)
        assert status == 200 and (body["outbox"], body["outbox_oldest_s"]) == (12, 42.0)

        backlog["value"] = (3, 301.5)  # the oldest message waits for more than 5 minutes
        status, body = await healthz(url)
        assert status == 503 and body["status"] == "unavailable"
        assert body["reason"] == (
            "the outbox is stuck: 3 message(s) undelivered, the oldest for 302 s (more than 300 s)"
        )
        _, _, scraped = await get(f"{url}/metrics")
        assert "faqbot_outbox_backlog 3.0" in scraped
        assert "faqbot_outbox_oldest_seconds 301.5" in scraped

        backlog["value"] = (0, None)
        assert (await healthz(url))[0] == 200
        _, _, scraped = await get(f"{url}/metrics")
        assert "faqbot_outbox_backlog 0.0" in scraped
        assert "faqbot_outbox_oldest_seconds 0.0" in scraped
    finally:
        await server.stop()
        storage.close()


def test_the_probes_see_what_a_select_does_not(tmp_path: Path):
    """A database that answers SELECT can still be unable to store a ticket."""
    storage = Storage(tmp_path / "faqbot.sqlite3")
    health = StorageHealth(storage)
    assert health.probe_write().ok and health.check_integrity().ok
    with disk_full(storage):
        assert storage.query("SELECT COUNT(*) FROM tickets")[0][0] == 0  # reads still work
        state = health.probe_write()
        assert (state.problem, state.detail) == (UNWRITABLE, "database or disk is full")
        # The error a failed write raises is SQLite's, not a failed ROLLBACK hiding it.
        with pytest.raises(sqlite3.OperationalError, match="full"):
            with storage.transaction() as db:
                db.execute("INSERT INTO filler VALUES (zeroblob(20000))")
    assert health.probe_write().ok
    [(probed_at,)] = storage.query("SELECT probed_at FROM storage_probe")
    assert probed_at > 0
    assert storage.query("SELECT COUNT(*) FROM storage_probe")[0][0] == 1
    storage.close()
