"""Fair scheduling of updates: each chat's updates strictly in order, chats served in turn,
and no chat holding the bot's concurrency while it waits for its own turn or rate limit.

`PerChatUpdateProcessor` is python-telegram-bot's `BaseUpdateProcessor` for concurrent updates:

* An update first waits for its chat's lock (asyncio locks are FIFO: a chat's updates run in the
  order they arrived), and only then for one of the `max_concurrent_updates` slots. A user who
  sends 500 messages therefore holds at most one slot; the others queue behind their chat's
  lock, not in front of everybody else. Slots are handed out first come, first served, and
  each chat has at most one update asking for one: chats are served round-robin.
* A handler that must wait for its chat's pace (one message a second to a private chat, 20 a
  minute to a group, a 429 pause) gives its slot back while it waits (`yielded_slot`, used by
  `bot.telegram.ratelimit.FairRateLimiter`).
* `begin_stop`: updates not yet started are left alone (they are in the inbox, handled at the
  next start); the ones running get `grace` seconds, then are cancelled (also left pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)


class Slot:
    """One of the processor's concurrency slots, held by the update running in this task."""

    def __init__(self, semaphore: asyncio.Semaphore):
        self._semaphore = semaphore
        self.held = False

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._semaphore.release()


_CURRENT_SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("slot", default=None)


@contextlib.asynccontextmanager
async def yielded_slot() -> AsyncIterator[None]:
    """Give this task's slot back for the duration of a wait, take one again afterwards (at
    the back of the queue: others were waiting too). Outside an update: does nothing."""
    slot = _CURRENT_SLOT.get()
    if slot is None or not slot.held:
        yield
        return
    slot.release()
    try:
        yield
    finally:
        await slot.acquire()


@dataclass
class _ChatQueue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0  # updates of this chat running or waiting for the lock


def chat_key(update: object) -> int | None:
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat.id if chat is not None else None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats concurrently, each chat's strictly in order (see above)."""

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[int, _ChatQueue] = {}
        self._running: set[asyncio.Task] = set()
        self._active = 0
        self.stopping = False

    @property
    def current_concurrent_updates(self) -> int:
        """Updates running or waiting for their turn (0: the bot is idle)."""
        return self._active

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        self._active += 1
        try:
            if key is None:
                await self._run(coroutine)
                return
            queue = self._chats.setdefault(key, _ChatQueue())
            queue.waiting += 1
            try:
                async with queue.lock:
                    await self._run(coroutine)
            finally:
                queue.waiting -= 1
                if queue.waiting == 0:  # nobody of this chat holds or waits for the lock
                    del self._chats[key]
        finally:
            self._active -= 1

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        if self.stopping:  # left pending in the inbox for the next start
            coroutine.close()  # type: ignore[attr-defined]
            return
        slot = Slot(self._slots)
        await slot.acquire()
        if self.stopping:
            slot.release()
            coroutine.close()  # type: ignore[attr-defined]
            return
        token = _CURRENT_SLOT.set(slot)
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await coroutine
        finally:
            if task is not None:
                self._running.discard(task)
            _CURRENT_SLOT.reset(token)
            slot.release()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Not used: `process_update` is overridden as a whole (lock first, then a slot)."""
        await coroutine  # pragma: no cover

    def begin_stop(self, grace: float) -> None:
        """Start no more updates; cancel the running ones after `grace` seconds."""
        self.stopping = True
        if self._running:
            asyncio.get_running_loop().call_later(grace, self._cancel_running)

    def _cancel_running(self) -> None:
        if self._running:
            log.warning(
                "stopping: %d update(s) still running after the grace period are cancelled"
                " (kept in the inbox for the next start)",
                len(self._running),
            )
        for task in list(self._running):
            task.cancel()

    @property
    def chats_queued(self) -> int:
        return len(self._chats)

    async def initialize(self) -> None:
        """Nothing to set up: queues are made per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to release."""
