"""The durable inbox: every update is on disk before Telegram is told that it arrived.

Polling confirms updates with the next getUpdates offset, a webhook with its 200: both happen
only after `accept` has committed the update here. An update is then handled and `finish`ed;
one that a crash or a stop interrupted is still `pending` and is handled again at the next
start (`pending`). Telegram delivers an update again when it was not confirmed, and a webhook
POST is retried when the answer was slow: `accept` returns only the ids it had never seen, so
each update is handled once.

What users wrote stays here only while their update waits: `finish` keeps the id (to recognise
a late duplicate) and drops the payload. Rows of finished updates are purged after a day
(Telegram itself keeps undelivered updates for 24 hours).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.storage import Storage

PENDING, DONE, DROPPED = "pending", "done", "dropped"
# Finished rows are kept this long to recognise a duplicate, then purged.
KEEP_FINISHED = 2 * 86400.0


@dataclass(frozen=True)
class Received:
    """One update as it arrived: its id, whose it is (for /forget), its JSON."""

    update_id: int
    user_id: int | None
    payload: dict


class Inbox:
    """The `inbox` table of `Storage`."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def accept(self, updates: Sequence[Received]) -> set[int]:
        """Write the updates not seen before, in one transaction; their ids."""
        now = time.time()
        new: set[int] = set()
        with self.storage.transaction() as db:
            for update in updates:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO inbox (update_id, user_id, payload, status,"
                    " received_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        update.update_id,
                        update.user_id,
                        json.dumps(update.payload, ensure_ascii=False),
                        PENDING,
                        now,
                    ),
                )
                if cursor.rowcount:
                    new.add(update.update_id)
        return new

    def finish(self, update_ids: Sequence[int], status: str = DONE) -> list[None]:
        """Mark updates handled (`DONE`) or deliberately not handled (`DROPPED`, a flood):
        their payload is deleted. One result per id, for `GroupCommit`."""
        now = time.time()
        with self.storage.transaction() as db:
            db.executemany(
                "UPDATE inbox SET status = ?, payload = NULL, done_at = ? WHERE update_id = ?",
                [(status, now, update_id) for update_id in update_ids],
            )
        return [None] * len(update_ids)

    def pending(self) -> list[dict]:
        """The updates received but not handled (a crash, a stop), oldest first."""
        rows = self.storage.query(
            "SELECT payload FROM inbox WHERE status = ? ORDER BY update_id", (PENDING,)
        )
        return [json.loads(row["payload"]) for row in rows]

    def purge(self, now: float | None = None) -> int:
        """Delete finished rows older than `KEEP_FINISHED`."""
        cutoff = (now if now is not None else time.time()) - KEEP_FINISHED
        with self.storage.transaction() as db:
            return db.execute(
                "DELETE FROM inbox WHERE status != ? AND done_at < ?", (PENDING, cutoff)
            ).rowcount
