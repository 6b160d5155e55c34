"""Group commit: writes that arrive while one transaction is on its way to disk go together in
the next one.

Every question is logged (committed, `synchronous=FULL`) before its answer is sent, because
the answer's buttons carry the logged question's id. One transaction per question costs a
worker-thread round trip each, and under a burst (the Be 4.0 fair) those round trips and
commits queue behind one another. Here an idle bot writes a question exactly as before (one
row, one transaction, nothing waits for company); a busy one writes the rows that piled up
during the previous commit in one transaction. Each caller still gets its own result only
once its row is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """`await submit(item)` returns `write_many([..., item, ...])`'s result for `item`.

    `write_many` runs in a worker thread and must be atomic (all rows or none) and return one
    result per item, in order. When a batch fails, its items are written again one by one, so
    that a bad row fails only its own caller.
    """

    def __init__(self, write_many: Callable[[Sequence[T]], Sequence[R]]):
        self._write_many = write_many
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="group commit")
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._write(batch)
        finally:
            self._writer = None
            for _, future in batch + self._pending:  # only if this task itself was cancelled
                future.cancel()
            self._pending = []

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await asyncio.to_thread(self._write_many, [item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exception=exc)
                return
            for one in batch:
                await self._write([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future, *, result: object = None, exception: Exception | None = None):
    """A caller that gave up (cancelled) is simply not told."""
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)
