"""bot.store.group_commit.GroupCommit over the real question log: batching under a burst, nothing
lost, each caller its own id, one bad row fails only its caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.store.group_commit import GroupCommit
from bot.store.storage import LoggedQuestion, Storage


def question(text: str, user_id: int = 1) -> LoggedQuestion:
    return LoggedQuestion(user_id, "fr", text, "answer", "kmo-what", 80.0)


class RecordingLog:
    """Storage.log_questions, recording each batch; the first write can be held open."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def write(self, rows: Sequence[LoggedQuestion]) -> list[int]:
        self.batches.append([r.text for r in rows])
        self.release.wait(5)
        if any(r.text == "bad" for r in rows):
            raise ValueError("a row the database refuses")
        return self.storage.log_questions(rows)


async def arriving_during_a_commit(
    storage: Storage, arriving: list[LoggedQuestion]
) -> tuple[RecordingLog, GroupCommit, asyncio.Task, list[asyncio.Task]]:
    """A first question whose commit is held "on its way to disk" while `arriving` are
    submitted; the caller releases it (`log.release.set()`)."""
    log = RecordingLog(storage)
    log.release.clear()
    commit = GroupCommit(log.write)
    first = asyncio.create_task(commit.submit(question("q0", user_id=100)))
    await asyncio.sleep(0.05)
    tasks = [asyncio.create_task(commit.submit(q)) for q in arriving]
    await asyncio.sleep(0.05)
    return log, commit, first, tasks


@pytest.fixture
def storage(tmp_path: Path):
    store = Storage(tmp_path / "faqbot.sqlite3")
    yield store
    store.close()


async def test_an_idle_log_writes_each_question_at_once(storage: Storage):
    log = RecordingLog(storage)
    commit = GroupCommit(log.write)
    first = await commit.submit(question("qu'est-ce que KMØ ?"))
    second = await commit.submit(question("où est KMØ ?"))
    assert log.batches == [["qu'est-ce que KMØ ?"], ["où est KMØ ?"]]
    rows = storage.query("SELECT id, text FROM questions ORDER BY id")
    assert [(r["id"], r["text"]) for r in rows] == [
        (first, "qu'est-ce que KMØ ?"),
        (second, "où est KMØ ?"),
    ]


async def test_a_burst_goes_in_one_transaction_and_each_caller_gets_its_own_row(
    storage: Storage,
):
    log, _, first, burst = await arriving_during_a_commit(
        storage, [question(f"q{i}", user_id=100 + i) for i in range(1, 20)]
    )
    log.release.set()
    ids = [await first] + [await task for task in burst]

    assert log.batches == [["q0"], [f"q{i}" for i in range(1, 20)]]
    stored = {r["id"]: (r["user_id"], r["text"]) for r in storage.query("SELECT * FROM questions")}
    assert [stored[i] for i in ids] == [(100 + i, f"q{i}") for i in range(20)]


async def test_a_bad_row_fails_only_its_own_caller(storage: Storage):
    log, _, first, [good, bad, other] = await arriving_during_a_commit(
        storage, [question("good"), question("bad"), question("other")]
    )
    log.release.set()

    await first
    with pytest.raises(ValueError, match="refuses"):
        await bad
    texts = {await good: "good", await other: "other"}
    assert log.batches[1] == ["good", "bad", "other"]  # tried together, then one by one
    stored = {r["id"]: r["text"] for r in storage.query("SELECT id, text FROM questions")}
    assert stored == {**texts, min(stored): "q0"}


async def test_a_caller_that_gives_up_does_not_stop_the_others(storage: Storage):
    log, commit, first, [leaving, staying] = await arriving_during_a_commit(
        storage, [question("leaving"), question("staying")]
    )
    leaving.cancel()
    log.release.set()

    await first
    staying_id = await staying
    assert leaving.cancelled()
    texts = [r["text"] for r in storage.query("SELECT text FROM questions ORDER BY id")]
    assert texts == ["q0", "leaving", "staying"]  # written all the same, like before
    assert storage.query("SELECT text FROM questions WHERE id = ?", (staying_id,))[0][0] == (
        "staying"
    )
    # and the next question is written on its own again
    await commit.submit(question("later"))
    assert log.batches[-1] == ["later"]
