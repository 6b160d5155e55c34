"""The pieces of the update path, each on its own: the inbox, the flood limit, the per-chat
processor (strict order, slots given back while a chat waits, a stop that starts nothing new)
and the rate limiter's per-chat 429 pause."""

from __future__ import annotations

import asyncio
import datetime
import time
from pathlib import Path

import pytest
from telegram import Chat, Message, Update
from telegram.error import RetryAfter

from bot.flood import ALLOW, DROP, WARN, FloodLimit
from bot.store.inbox import DONE, Inbox, Received
from bot.store.storage import Storage
from bot.telegram.ratelimit import FairRateLimiter
from bot.telegram.scheduling import PerChatUpdateProcessor, yielded_slot

# --- the inbox ----------------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "faqbot.sqlite3")


def received(update_id: int, user_id: int = 7, text: str = "Was ist KMØ?") -> Received:
    return Received(update_id, user_id, {"update_id": update_id, "message": {"text": text}})


def test_an_update_is_accepted_once(storage: Storage):
    inbox = Inbox(storage)
    assert inbox.accept([received(1), received(2)]) == {1, 2}
    assert inbox.accept([received(2), received(3)]) == {3}  # 2: Telegram delivered it again
    assert [u["update_id"] for u in inbox.pending()] == [1, 2, 3]
    inbox.finish([1, 2])
    assert inbox.accept([received(1)]) == set()  # handled: still recognised
    assert [u["update_id"] for u in inbox.pending()] == [3]
    rows = storage.query("SELECT update_id, status, payload FROM inbox ORDER BY update_id")
    assert [(r[0], r[1], r[2]) for r in rows][:2] == [(1, DONE, None), (2, DONE, None)]


def test_handled_updates_are_purged_after_two_days_and_forget_deletes_the_rest(
    storage: Storage,
):
    inbox = Inbox(storage)
    inbox.accept([received(1), received(2, user_id=8)])
    inbox.finish([1])
    assert inbox.purge(time.time() + 3 * 86400) == 1
    storage.forget_user(8)
    assert inbox.pending() == [] and storage.query("SELECT * FROM inbox") == []


# --- the flood limit ----------------------------------------------------------------------


def test_a_flood_gets_one_notice_then_silence_for_the_rest_of_the_minute():
    limit = FloodLimit(per_minute=3)
    verdicts = [limit.check(7, 1000.0 + i * 0.01) for i in range(6)]
    assert verdicts == [ALLOW, ALLOW, ALLOW, WARN, DROP, DROP]
    assert limit.check(8, 1000.1) == ALLOW  # another user is not concerned
    assert limit.check(7, 1061.0) == ALLOW  # a minute later: read again
    assert FloodLimit(per_minute=0).check(7, 1000.0) == ALLOW  # 0: no limit


# --- the processor ------------------------------------------------------------------------


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.datetime.now(), chat, text="x"))


async def test_a_chat_s_updates_run_strictly_in_order():
    """The woken second update still needs the chat's lock when the first one ends: a third
    one arriving at that moment must queue behind it, not beside it."""
    processor = PerChatUpdateProcessor(8)
    events: list[str] = []
    first_done = asyncio.Event()

    async def handle(name: str, seconds: float, done: asyncio.Event | None = None):
        events.append(f"start {name}")
        await asyncio.sleep(seconds)
        events.append(f"end {name}")
        if done:
            done.set()

    one = asyncio.create_task(processor.process_update(update(1, 5), handle("1", 0.05, first_done)))
    two = asyncio.create_task(processor.process_update(update(2, 5), handle("2", 0.05)))
    await first_done.wait()
    three = asyncio.create_task(processor.process_update(update(3, 5), handle("3", 0)))
    await asyncio.gather(one, two, three)
    assert events == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    assert processor.chats_queued == 0 and processor.current_concurrent_updates == 0


async def test_a_chat_waiting_for_its_pace_gives_its_slot_to_others():
    """One slot only: a busy chat whose five updates each wait 0.2 s for their pace does not
    make another chat wait a second."""
    processor = PerChatUpdateProcessor(1)
    answered: dict[str, float] = {}
    started = time.monotonic()

    async def paced(name: str):
        async with yielded_slot():
            await asyncio.sleep(0.2)
        answered[name] = time.monotonic() - started

    busy = [processor.process_update(update(i, 5), paced(f"busy {i}")) for i in range(5)]
    tasks = [asyncio.create_task(c) for c in busy]
    await asyncio.sleep(0.01)
    await processor.process_update(update(99, 6), paced("other"))
    await asyncio.gather(*tasks)
    assert answered["other"] < answered["busy 1"] < answered["busy 4"]


async def test_after_a_stop_queued_updates_do_not_start():
    processor = PerChatUpdateProcessor(4)
    ran: list[int] = []

    async def handle(i: int):
        await asyncio.sleep(0.05)
        ran.append(i)

    tasks = [asyncio.create_task(processor.process_update(update(i, 5), handle(i))) for i in (1, 2)]
    await asyncio.sleep(0.01)
    processor.begin_stop(grace=5)
    await asyncio.gather(*tasks)
    assert ran == [1]  # the running one finished; the queued one is left for the inbox


# --- the rate limiter ---------------------------------------------------------------------


async def test_a_429_in_the_staff_group_does_not_hold_a_private_chat():
    limiter = FairRateLimiter()
    sent: list[tuple[str, float]] = []
    started = time.monotonic()
    tries = {"group": 0}

    async def to_group():
        tries["group"] += 1
        if tries["group"] == 1:
            raise RetryAfter(datetime.timedelta(seconds=2))
        sent.append(("group", time.monotonic() - started))
        return True

    async def to_user():
        sent.append(("user", time.monotonic() - started))
        return True

    group = asyncio.create_task(
        limiter.process_request(to_group, (), {}, "sendMessage", {"chat_id": -1001}, None)
    )
    await asyncio.sleep(0.05)  # the group's 429 has come back
    await limiter.process_request(to_user, (), {}, "sendMessage", {"chat_id": 42}, None)
    await group
    (user_at,) = [t for who, t in sent if who == "user"]
    (group_at,) = [t for who, t in sent if who == "group"]
    assert user_at < 1.0  # the user did not wait for the group's pause
    assert group_at >= 2.0  # the group did, as Telegram asked
