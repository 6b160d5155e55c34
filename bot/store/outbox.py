"""The durable outbox: every message the desk owes someone is on disk before it is sent.

A ticket card, a follow-up copied under it, a staff answer for the user, a notice to staff:
each is added (`add`, inside the transaction that created the reason to send it) as `pending`,
then sent by `handlers/delivery.py`, which marks it `sent` with Telegram's message id, or
`failed` when Telegram refused it for good (the user blocked the bot). A crash, a timeout or an
unreachable staff group leaves it `pending`, and it is sent again by the retry job, after a
restart too.

The delivery guarantee is at least once: `started` counts each try on disk before the send, so
an item whose earlier try may have reached Telegram (a crash or a timeout between the send and
`sent`) is known, and its second copy says "(sent again after an interruption)". A try that
Telegram answered with an error (403, 429, 5xx) did not arrive and is not counted. Nothing owed is
dropped silently: a `failed` item is reported to staff, a `pending` one shows in `/healthz` and
`/metrics` (`backlog`).

A sent item's text is deleted (only the ids stay), and /forget deletes a user's items.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from bot.store.storage import Storage

PENDING, SENT, FAILED = "pending", "sent", "failed"
# What is owed (outbox.kind).
CARD = "card"  # a ticket card, in the staff chat
FOLLOWUP = "followup"  # a user's follow-up, copied under the card
ANSWER = "answer"  # a staff answer, for the user
NOTICE = "notice"  # a notice to staff under the card (delivered ✓, not delivered…)
EDIT = "edit"  # the ticket's card edited in place to show the ticket's state (the living card)
TELL = "tell"  # a notice to the user about their ticket ("closed; reply to reopen it")
KINDS = (CARD, FOLLOWUP, ANSWER, NOTICE, EDIT, TELL)
KEEP_SENT = 7 * 86400.0


@dataclass(frozen=True)
class Owed:
    """A message to add to the outbox: where it goes and what to send (JSON-able)."""

    kind: str
    chat_id: int
    payload: dict
    ticket_id: int | None = None
    ticket_message_id: int | None = None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    chat_id: int
    payload: dict
    ticket_id: int | None
    ticket_message_id: int | None
    status: str
    attempts: int
    message_id: int | None
    error: str | None
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxItem:
        return cls(
            id=row["id"],
            kind=row["kind"],
            chat_id=row["chat_id"],
            payload=json.loads(row["payload"] or "{}"),
            ticket_id=row["ticket_id"],
            ticket_message_id=row["ticket_message_id"],
            status=row["status"],
            attempts=row["attempts"],
            message_id=row["message_id"],
            error=row["error"],
            created_at=row["created_at"],
        )


class Outbox:
    """The `outbox` table of `Storage`."""

    def __init__(self, storage: Storage, now=time.time):
        self.storage = storage
        self.now = now

    def add(self, db: sqlite3.Connection, owed: Owed) -> int:
        """Add `owed` inside the caller's transaction (`Storage.transaction`); its id."""
        if owed.kind not in KINDS:
            raise ValueError(f"unknown outbox kind {owed.kind!r}")
        cursor = db.execute(
            "INSERT INTO outbox (kind, chat_id, payload, ticket_id, ticket_message_id, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                owed.kind,
                owed.chat_id,
                json.dumps(owed.payload, ensure_ascii=False),
                owed.ticket_id,
                owed.ticket_message_id,
                PENDING,
                self.now(),
            ),
        )
        return int(cursor.lastrowid)

    def enqueue(self, owed: Owed) -> int:
        with self.storage.transaction() as db:
            return self.add(db, owed)

    def get(self, item_id: int) -> OutboxItem | None:
        rows = self.storage.query("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return OutboxItem.from_row(rows[0]) if rows else None

    def pending(self, chat_id: int | None = None) -> list[OutboxItem]:
        """What is still owed (to `chat_id`, or to anyone), oldest first."""
        if chat_id is None:
            rows = self.storage.query(
                "SELECT * FROM outbox WHERE status = ? ORDER BY id", (PENDING,)
            )
        else:
            rows = self.storage.query(
                "SELECT * FROM outbox WHERE status = ? AND chat_id = ? ORDER BY id",
                (PENDING, chat_id),
            )
        return [OutboxItem.from_row(r) for r in rows]

    def pending_chats(self) -> list[int]:
        rows = self.storage.query(
            "SELECT chat_id, MIN(id) AS first FROM outbox WHERE status = ?"
            " GROUP BY chat_id ORDER BY first",
            (PENDING,),
        )
        return [r["chat_id"] for r in rows]

    def started(self, item_id: int, tries: int = 1) -> None:
        """A try leaves for Telegram: counted on disk first, so that a crash during it is
        known (`tries=-1`: Telegram refused it, it never arrived)."""
        with self.storage.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = MAX(0, attempts + ?) WHERE id = ?", (tries, item_id)
            )

    def mark_sent(self, db: sqlite3.Connection, item_id: int, message_id: int | None) -> None:
        """Inside the caller's transaction: sent as `message_id`; the text is deleted."""
        db.execute(
            "UPDATE outbox SET status = ?, message_id = ?, payload = '{}', error = NULL,"
            " sent_at = ? WHERE id = ?",
            (SENT, message_id, self.now(), item_id),
        )

    def mark_failed(self, db: sqlite3.Connection, item_id: int, error: str) -> None:
        """Inside the caller's transaction: refused for good; the text is deleted."""
        db.execute(
            "UPDATE outbox SET status = ?, payload = '{}', error = ?, sent_at = ? WHERE id = ?",
            (FAILED, error[:200], self.now(), item_id),
        )

    def note_error(self, item_id: int, error: str, *, arrived_maybe: bool = True) -> None:
        """A try failed for now (network, 429, staff chat unreachable): still pending. Unless
        it `arrived_maybe` (a timeout), the try is not counted: Telegram said it did not
        arrive, so the next one is no duplicate."""
        with self.storage.transaction() as db:
            db.execute(
                "UPDATE outbox SET error = ?, attempts = attempts - ? WHERE id = ?",
                (error[:200], 0 if arrived_maybe else 1, item_id),
            )

    def backlog(self) -> tuple[int, float]:
        """(items still owed, age in seconds of the oldest), for /healthz and /metrics."""
        row = self.storage.query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = ?",
            (PENDING,),
        )[0]
        if not row["n"]:
            return 0, 0.0
        return int(row["n"]), max(0.0, self.now() - row["oldest"])

    def purge(self, now: float | None = None) -> int:
        cutoff = (now if now is not None else self.now()) - KEEP_SENT
        with self.storage.transaction() as db:
            return db.execute(
                "DELETE FROM outbox WHERE status != ? AND sent_at < ?", (PENDING, cutoff)
            ).rowcount
