"""Telegram's flood limits, kept per chat: `FairRateLimiter`.

Telegram allows about 30 messages a second overall, one a second to a private chat and 20 a
minute to a group, and answers 429 with `retry_after` beyond. python-telegram-bot's
`AIORateLimiter` keeps the overall and group limits, but a 429 anywhere holds *every* request
(a 20 s pause of the staff group delayed private answers by 19 s) and it does not pace private
chats; pacing added in front of it was measured before its hold, so held messages then left
back to back and drew more 429s. So this limiter, a `BaseRateLimiter`, keeps one state per chat:

* a request to a chat waits for that chat only: its pace (`private_chat_interval` between new
  messages to a private chat, measured when the message actually leaves; `group_per_minute`
  for a group) and its own 429 pause. A 429 on a request without a chat (Telegram's global
  flood control) pauses everything;
* then the overall pace (`overall_per_second`, without burst: 30 at once draw 429s);
* while it waits for its chat, the update gives its concurrency slot back
  (`bot.telegram.scheduling.yielded_slot`): one busy chat never holds the others up;
* a 429 is retried after Telegram's `retry_after` (up to `max_retries` times); a timeout or a
  5xx up to `network_retries` more times, `first_retry_pause` apart, doubled each time (a
  request that timed out may have been carried out: the user may then get it twice, the price
  of not losing it). A refused request (400, 403) is never sent again, but a button answer
  that Telegram no longer takes ("query is too old": an earlier try went through, or the tap
  is handled late, after a restart) counts as answered, so the tap itself still takes effect;
* `stop()`: waits end at once with `TimedOut` (an outbox item stays pending, an update in the
  inbox), so that SIGTERM never waits for a 429 pause;
* `SENDING`: told just before a request actually leaves, once every wait is over, and when
  Telegram refused it with a 429 (not carried out): the outbox counts there the tries that may
  have reached Telegram, so that an item whose try was cut short while it waited (a crash, a
  stop) or refused is not sent "again".
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.telegram.scheduling import yielded_slot

log = logging.getLogger(__name__)

# Seconds between two messages to one private chat (Telegram: about one a second), with a
# margin for the network: the two may not arrive in the order and spacing they left in.
PRIVATE_CHAT_INTERVAL = 1.1
# Telegram allows about 30 a second; one less keeps clear of its window (measured: 30 drew
# one 429 in 3,000 answers in benchmarks/e2e.py, 29 none).
OVERALL_PER_SECOND = 29
GROUP_PER_MINUTE = 20
MAX_RETRIES = 2  # after a 429
NETWORK_RETRIES = 3  # after a timeout or a 5xx
FIRST_RETRY_PAUSE = 0.5  # seconds, doubled after each failed try
# Chat states kept before idle ones are dropped (python-telegram-bot's figure for groups).
KEPT_CHATS = 512
# Requests that put a new message in a chat (counted by Telegram's limits).
PACED = ("copyMessage", "forwardMessage", "copyMessages", "forwardMessages")


class Sending(Protocol):
    """Who wants to know when a request really leaves (see `SENDING`)."""

    async def leaving(self) -> None: ...

    async def refused(self) -> None: ...


# Set around the requests of one outbox item (handlers/delivery.py); None otherwise.
SENDING: contextvars.ContextVar[Sending | None] = contextvars.ContextVar("sending", default=None)


# The bot's profile, set at start (handlers/profile.py): Telegram limits these per method, and
# a 429 there (it can ask for hours) says nothing about messages. They go out at once, are
# never retried and never pause other requests; the next start tries again.
PROFILE_SETTINGS = frozenset({"setMyName", "setMyDescription", "setMyShortDescription"})


def is_new_message(endpoint: str) -> bool:
    return (endpoint.startswith("send") and endpoint != "sendChatAction") or endpoint in PACED


def retry_after_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)  # a timedelta in PTB 22; `.retry_after` warns
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


@dataclass
class ChatPace:
    """One chat's state: its requests one at a time, its pace, its 429 pause."""

    private: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0  # monotonic time the next new message may leave (private chats)
    paused_until: float = 0.0  # after a 429 in this chat
    group: AsyncLimiter | None = None

    def idle(self, now: float) -> bool:
        return (
            not self.lock.locked()
            and self.next_at <= now
            and self.paused_until <= now
            and (self.group is None or self.group.has_capacity(self.group.max_rate))
        )


class FairRateLimiter(BaseRateLimiter):
    """See the module docstring."""

    def __init__(
        self,
        *,
        overall_per_second: float | None = OVERALL_PER_SECOND,
        group_per_minute: float | None = GROUP_PER_MINUTE,
        private_chat_interval: float | None = PRIVATE_CHAT_INTERVAL,
        max_retries: int = MAX_RETRIES,
        network_retries: int = NETWORK_RETRIES,
        first_retry_pause: float = FIRST_RETRY_PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._overall = AsyncLimiter(1, 1 / overall_per_second) if overall_per_second else None
        self._group_per_minute = group_per_minute
        self._private_chat_interval = private_chat_interval or 0.0
        self._max_retries = max_retries
        self._network_retries = network_retries
        self._first_retry_pause = first_retry_pause
        self._clock = clock
        self._chats: dict[int | str, ChatPace] = {}
        self._global_until = 0.0
        self._stopped = asyncio.Event()

    async def initialize(self) -> None:
        self._stopped = asyncio.Event()

    async def shutdown(self) -> None:
        self.stop()

    def stop(self) -> None:
        """End every wait now (see the module docstring)."""
        self._stopped.set()

    def chat_pace(self, chat_id: Any) -> ChatPace | None:
        """The state of the chat a request goes to; None for requests without a chat."""
        if chat_id is None:
            return None
        try:
            key: int | str = int(chat_id)
        except (TypeError, ValueError):
            key = str(chat_id)  # @channelusername: a channel or supergroup
        pace = self._chats.get(key)
        if pace is None:
            if len(self._chats) >= KEPT_CHATS:
                now = self._clock()
                for old in [k for k, p in self._chats.items() if p.idle(now)]:
                    del self._chats[old]
            private = isinstance(key, int) and key > 0
            group = (
                AsyncLimiter(self._group_per_minute, 60)
                if not private and self._group_per_minute
                else None
            )
            pace = self._chats[key] = ChatPace(private=private, group=group)
        return pace

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict | list[dict]:
        if endpoint in PROFILE_SETTINGS:
            return await callback(*args, **kwargs)
        pace = self.chat_pace(data.get("chat_id"))
        new_message = is_new_message(endpoint)
        max_retries = rate_limit_args if rate_limit_args is not None else self._max_retries
        if pace is None:
            return await self._send(callback, args, kwargs, endpoint, None, False, max_retries)
        if pace.lock.locked():
            async with yielded_slot():
                await self._wait(pace.lock.acquire())
        else:
            await pace.lock.acquire()
        try:
            return await self._send(
                callback, args, kwargs, endpoint, pace, new_message, max_retries
            )
        finally:
            pace.lock.release()

    async def _send(self, callback, args, kwargs, endpoint, pace, new_message, max_retries):
        pause = self._first_retry_pause
        network_tries = 0
        rate_tries = 0
        while True:
            paced_from = await self._wait_for_turn(pace, new_message)
            sending = SENDING.get()
            if sending is not None:
                await sending.leaving()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if sending is not None:
                    await sending.refused()  # Telegram did not carry it out
                seconds = retry_after_seconds(exc) + 0.1
                until = self._clock() + seconds
                if pace is None:
                    self._global_until = max(self._global_until, until)
                else:
                    pace.paused_until = max(pace.paused_until, until)
                if rate_tries >= max_retries:
                    raise
                rate_tries += 1
                log.info("%s: rate limit hit, retrying after %.1f s", endpoint, seconds)
            except BadRequest as exc:
                if endpoint == "answerCallbackQuery" and "too old" in exc.message:
                    # Answered by an earlier try, or a tap handled late (again after a
                    # restart, from the inbox): the spinner is long gone, the tap still counts.
                    return True
                raise
            except NetworkError as exc:
                if pace is not None and paced_from is not None:
                    pace.next_at = paced_from  # a failed request put no message in the chat
                if network_tries >= self._network_retries or self._stopped.is_set():
                    raise
                network_tries += 1
                log.warning("%s failed (%s); trying again in %.1f s", endpoint, exc, pause)
                await self._sleep(pause)
                pause *= 2

    async def _wait_for_turn(self, pace: ChatPace | None, new_message: bool) -> float | None:
        """Wait for this chat (its 429 pause, its pace) without holding a slot, then for the
        overall pace; the chat's next message is timed from now, when this one leaves (the
        earlier timing is returned, to be put back if the request fails)."""
        while True:
            ready_at = self._global_until
            if pace is not None:
                ready_at = max(ready_at, pace.paused_until)
                if new_message and pace.private:
                    ready_at = max(ready_at, pace.next_at)
            delay = ready_at - self._clock()
            if delay <= 0:
                break
            async with yielded_slot():
                await self._sleep(delay)
        if pace is not None and new_message and pace.group is not None:
            if not pace.group.has_capacity():
                async with yielded_slot():
                    await self._wait(pace.group.acquire())
            else:
                await pace.group.acquire()
        if self._overall is not None and pace is not None:
            if self._overall.has_capacity():
                await self._overall.acquire()
            else:
                await self._wait(self._overall.acquire())
        if pace is not None and new_message and pace.private:
            paced_from, pace.next_at = pace.next_at, self._clock() + self._private_chat_interval
            return paced_from
        return None

    async def _sleep(self, seconds: float) -> None:
        if self._stopped.is_set():
            raise TimedOut("stopping: not waiting for the rate limit")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)
        if self._stopped.is_set():
            raise TimedOut("stopping: not waiting for the rate limit")

    async def _wait(self, awaitable: Coroutine) -> None:
        """Await `awaitable` (a lock, a limiter) unless a stop comes first."""
        if self._stopped.is_set():
            awaitable.close()
            raise TimedOut("stopping: not waiting for the rate limit")
        waiter = asyncio.ensure_future(awaitable)
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({waiter, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not waiter.done():
            waiter.cancel()
            raise TimedOut("stopping: not waiting for the rate limit")
        waiter.result()
