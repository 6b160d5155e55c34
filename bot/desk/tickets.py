"""Escalation: questions the FAQ cannot answer, handed to the programme's staff as tickets.

This is the domain layer under the Telegram handlers; it knows nothing of Telegram. Users,
chats and messages are plain ids, and every change is committed before a method returns (see
`Storage`), so a ticket the user was told about survives a crash.

Lifecycle of a ticket::

    open ──staff answer──> answered ──user follow-up──> open
    open/answered ──close──> closed ──reopen, user follow-up──> open
    closed ──staff answer──> answered

"open" means "waiting for staff": that is what `/open`, the digest and the per-user limit count.
An answered ticket waits for nobody, so it does not count against the user.

Every message that belongs to a ticket is a `ticket_messages` row that carries its Telegram
message id in the staff chat and/or in the user's chat. A reply to any of them, on either
side, leads back to the ticket.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import yaml
from rapidfuzz import fuzz, process

from bot.answering.engine import ESCALATE, GAP, SUGGEST
from bot.answering.knowledge import LANGUAGES
from bot.answering.matcher import Candidate
from bot.answering.text import STOPWORDS, fold, tokens
from bot.i18n import gettext_for
from bot.store import outbox
from bot.store.outbox import Outbox, OutboxItem, Owed
from bot.store.storage import Storage

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"
STATUSES = (OPEN, ANSWERED, CLOSED)

# ticket_messages.direction
CARD = "card"  # the ticket card in the staff chat; its text is the question, not stored twice
STAFF = "staff"  # a staff answer, delivered to the user
USER = "user"  # a user's follow-up, copied to the staff chat
NOTICE = "notice"  # a bot message to the user about the ticket ("sent to the team, #12")

# LimitReached.kind
OPEN_LIMIT, HOURLY_LIMIT = "open", "hourly"

HOUR = 3600.0
DAY = 86400.0
DELETE_WINDOW = 48 * HOUR  # how long Telegram lets a bot delete its own messages
FLAG_REASON_MAX = 200  # a delivery error is a short API message; keep the row small


# Errors -------------------------------------------------------------------------------------


class TicketError(Exception):
    """Base class of the ticket desk's errors."""


class TicketNotFound(TicketError, LookupError):
    """No such ticket (never created, purged, or its user used /forget)."""

    def __init__(self, ticket_id: int):
        super().__init__(f"no ticket #{ticket_id}")
        self.ticket_id = ticket_id


class Refused(TicketError):
    """A request refused before anything was written; the handler words it for the user."""


class Banned(Refused):
    """Staff banned this user: no new tickets, no follow-ups."""

    def __init__(self) -> None:
        super().__init__("the user is banned")


class AlreadyFiled(TicketError):
    """The question is a ticket already ("Ask the team" tapped twice, an update handled again
    after a crash): `ticket` is that ticket, and nothing new was written."""

    def __init__(self, ticket: Ticket):
        super().__init__(f"already ticket #{ticket.id}")
        self.ticket = ticket


class LimitReached(Refused):
    """Too many tickets: `kind` is OPEN_LIMIT or HOURLY_LIMIT.

    `retry_after` (seconds) is set for the hourly limit, so the user can be told when to retry.
    """

    def __init__(self, kind: str, limit: int, retry_after: float | None = None):
        super().__init__(f"{kind} ticket limit ({limit}) reached")
        self.kind = kind
        self.limit = limit
        self.retry_after = retry_after


# Records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketLimits:
    """What one user may ask of staff; FAQBOT_MAX_OPEN_TICKETS, FAQBOT_MAX_TICKETS_PER_HOUR."""

    max_open_per_user: int = 3
    max_per_hour: int = 5


class Person(Protocol):
    """Who asks: a `Requester`, or anything shaped like it (a Telegram user is)."""

    @property
    def id(self) -> int: ...

    @property
    def full_name(self) -> str: ...

    @property
    def username(self) -> str | None: ...


@dataclass(frozen=True)
class Requester:
    """A `Person` built from plain values (tests, the terminal, imports)."""

    id: int
    full_name: str = ""
    username: str | None = None


Guess = tuple[str, float] | Candidate


@dataclass(frozen=True)
class Ticket:
    """A question handed to staff, as stored."""

    id: int
    user_id: int
    chat_id: int
    user_name: str
    username: str | None
    language: str
    question: str
    guesses: tuple[tuple[str, float], ...]  # (faq_id, score): what the engine thought of
    status: str  # OPEN | ANSWERED | CLOSED
    assignee_id: int | None
    assignee_name: str | None
    staff_message_id: int | None  # the latest ticket card in the staff chat
    flagged: str | None  # why an answer could not be delivered, until one is
    created_at: float
    first_answer_at: float | None
    closed_at: float | None
    asked_in: str | None = None  # the title of the group the user asked in, if not privately
    # What the bot had replied to the question (see `BotReply`): {"status": "answer" |
    # "suggest" | "escalate", "shown": faq_id or None, "suggested": [faq_id, ...]}.
    bot_reply: dict | None = None
    answered_by: str | None = None  # the staff member whose answer last reached the user
    last_answer_at: float | None = None  # when it arrived
    closed_by: str | None = None
    topic_id: int | None = None  # its forum topic in the staff chat (STAFF_TOPICS=on)
    topic_closed: bool = False

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Ticket:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            user_name=row["user_name"],
            username=row["username"],
            language=row["language"],
            question=row["question"],
            guesses=tuple((str(f), float(s)) for f, s in json.loads(row["guesses"] or "[]")),
            status=row["status"],
            assignee_id=row["assignee_id"],
            assignee_name=row["assignee_name"],
            staff_message_id=row["staff_message_id"],
            flagged=row["flagged"],
            created_at=row["created_at"],
            first_answer_at=row["first_answer_at"],
            closed_at=row["closed_at"],
            asked_in=row["asked_in"],
            bot_reply=_optional(row, "bot_reply", json.loads),
            answered_by=_optional(row, "answered_by"),
            last_answer_at=_optional(row, "last_answer_at"),
            closed_by=_optional(row, "closed_by"),
            topic_id=_optional(row, "topic_id"),
            topic_closed=bool(_optional(row, "topic_closed")),
        )


def _optional(row: sqlite3.Row, name: str, convert: Callable | None = None):
    """A column added by migration 7 (rows read through an older query may lack it)."""
    if name not in row.keys() or row[name] is None:
        return None
    return convert(row[name]) if convert else row[name]


@dataclass(frozen=True)
class TicketMessage:
    """One message of a ticket's conversation, with where it sits in each chat."""

    id: int
    ticket_id: int
    direction: str  # CARD | STAFF | USER | NOTICE
    text: str
    author_id: int | None
    staff_chat_message_id: int | None
    user_chat_message_id: int | None
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TicketMessage:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Posted:
    """A message added to a ticket: the ticket after the change, and the stored message.

    The handler needs `message.id` to record where the message was delivered or copied, and
    `outbox_id` to send what the change owes someone (None: nothing, or already sent).
    """

    ticket: Ticket
    message: TicketMessage
    outbox_id: int | None = None


@dataclass(frozen=True)
class DeskStats:
    questions: dict[tuple[str, str], int]  # (language, outcome) -> count
    tickets: dict[str, int]  # status -> count
    median_first_answer: float | None  # seconds from ticket to first staff answer

    @property
    def open_tickets(self) -> int:
        return self.tickets.get(OPEN, 0)


# The desk -----------------------------------------------------------------------------------


def _guesses(guesses: Iterable[Guess]) -> str:
    pairs = [(g.faq_id, g.score) if isinstance(g, Candidate) else g for g in guesses]
    return json.dumps([[str(f), round(float(s), 1)] for f, s in pairs])


def _text(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError(f"{what} is empty")
    return text


class TicketDesk:
    """Tickets over `Storage`: escalation with per-user limits, routing, staff workflow."""

    def __init__(
        self,
        storage: Storage,
        limits: TicketLimits | None = None,
        now: Callable[[], float] = time.time,
    ):
        self.storage = storage
        self.limits = limits or TicketLimits()
        self.now = now
        self.outbox = Outbox(storage, now)
        # The living card: `card_edit(ticket)` is the edit owed to the staff chat when a
        # ticket changes state (set by the Telegram side; None: no card to keep up to date).
        self.card_edit: Callable[[Ticket], Owed | None] | None = None

    # Creating a ticket ----------------------------------------------------------------------

    def escalate(
        self,
        user: Person,
        chat_id: int,
        language: str,
        question: str,
        guesses: Iterable[Guess] = (),
        asked_in: str | None = None,
        *,
        source: str | None = None,
        card: Callable[[Ticket], Owed] | None = None,
        bot_reply: dict | None = None,
    ) -> Ticket:
        """Hand a question to staff; raises `Banned` or `LimitReached` having written nothing.

        `chat_id` is where the team's answers go: the user's private chat, never a group
        (`asked_in`: the group's title, for staff, when the question was asked there).
        `source` names what the ticket is filed from ("q:<question id>", "u:<update id>"): a
        second request from the same source raises `AlreadyFiled` with the first ticket.
        `card(ticket)` is the card owed to the staff chat, added to the outbox in the same
        transaction (so a ticket never exists without its card on the way).
        """
        question = _text(question, "question")
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        stored_guesses = _guesses(guesses)
        now = self.now()
        with self.storage.transaction() as db:
            if source is not None:
                row = db.execute("SELECT * FROM tickets WHERE source = ?", (source,)).fetchone()
                if row is not None:
                    raise AlreadyFiled(Ticket.from_row(row))
            # Checked inside the write transaction: two quick requests cannot both pass.
            self._check_may_escalate(db, user.id, now)
            cursor = db.execute(
                "INSERT INTO tickets (user_id, chat_id, user_name, username, language, question,"
                " guesses, status, created_at, source, asked_in, bot_reply)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.id,
                    chat_id,
                    user.full_name or "",
                    user.username,
                    language,
                    question,
                    stored_guesses,
                    OPEN,
                    now,
                    source,
                    asked_in,
                    json.dumps(bot_reply) if bot_reply is not None else None,
                ),
            )
            ticket = self._load(db, int(cursor.lastrowid))
            if card is not None:
                self.outbox.add(db, card(ticket))
            return ticket

    def check_may_escalate(self, user_id: int) -> None:
        """Raise what `escalate` would raise, so the handler can refuse before asking more."""
        with self.storage.transaction() as db:
            self._check_may_escalate(db, user_id, self.now())

    def _check_may_escalate(self, db: sqlite3.Connection, user_id: int, now: float) -> None:
        if _is_banned(db, user_id):
            raise Banned()
        (waiting,) = db.execute(
            "SELECT COUNT(*) FROM tickets WHERE user_id = ? AND status = ?", (user_id, OPEN)
        ).fetchone()
        if waiting >= self.limits.max_open_per_user:
            raise LimitReached(OPEN_LIMIT, self.limits.max_open_per_user)
        # Tickets stamped after `now` (the clock was set back since) are not counted: counted,
        # they would hold the limit until the clock catches up with them, hours or days away.
        recent = [
            r[0]
            for r in db.execute(
                "SELECT created_at FROM tickets WHERE user_id = ? AND created_at > ?"
                " AND created_at <= ? ORDER BY created_at",
                (user_id, now - HOUR, now),
            )
        ]
        if len(recent) >= self.limits.max_per_hour:
            # The window frees up when the oldest counted ticket turns one hour old.
            oldest = recent[len(recent) - self.limits.max_per_hour]
            raise LimitReached(HOURLY_LIMIT, self.limits.max_per_hour, oldest + HOUR - now)

    # Routing replies ------------------------------------------------------------------------

    def record_staff_message(self, ticket_id: int, message_id: int) -> Ticket:
        """The ticket card was posted in the staff chat as `message_id`.

        Earlier cards (a repost by the digest, say) keep leading to the ticket.
        """
        with self.storage.transaction() as db:
            self._load(db, ticket_id)
            db.execute(
                "UPDATE tickets SET staff_message_id = ? WHERE id = ?", (message_id, ticket_id)
            )
            self._insert_message(db, ticket_id, CARD, "", None, staff=message_id)
            return self._load(db, ticket_id)

    def tickets_without_card(self) -> list[Ticket]:
        """Open tickets with no card in the staff chat and none on its way in the outbox."""
        rows = self.storage.query(
            "SELECT * FROM tickets t WHERE t.status = ? AND t.staff_message_id IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ticket_id = t.id AND o.kind = ?"
            " AND o.status = ?) ORDER BY t.id",
            (OPEN, outbox.CARD, outbox.PENDING),
        )
        return [Ticket.from_row(r) for r in rows]

    def record_user_notice(self, ticket_id: int, user_chat_message_id: int) -> None:
        """The bot told the user about the ticket; a reply to that message joins the ticket."""
        with self.storage.transaction() as db:
            self._load(db, ticket_id)
            self._insert_message(db, ticket_id, NOTICE, "", None, user=user_chat_message_id)

    def user_was_told(self, ticket_id: int) -> bool:
        """Whether a message about the ticket reached the user (its confirmation, a reminder)."""
        rows = self.storage.query(
            "SELECT 1 FROM ticket_messages WHERE ticket_id = ? AND direction = ? LIMIT 1",
            (ticket_id, NOTICE),
        )
        return bool(rows)

    def ticket_for_staff_message(self, message_id: int) -> Ticket | None:
        """The ticket a message in the staff chat belongs to: card, answer or copied follow-up,
        or the first message of its forum topic (what a message written in a topic replies to)."""
        rows = self.storage.query(
            "SELECT t.* FROM tickets t WHERE t.staff_message_id = ? OR t.topic_id = ?"
            " UNION SELECT t.* FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id"
            " WHERE m.staff_chat_message_id = ? ORDER BY id DESC LIMIT 1",
            (message_id, message_id, message_id),
        )
        return Ticket.from_row(rows[0]) if rows else None

    def set_topic(self, ticket_id: int, topic_id: int | None = None, closed: bool = False) -> None:
        """The ticket's forum topic (created, closed or reopened in the staff chat)."""
        with self.storage.transaction() as db:
            db.execute(
                "UPDATE tickets SET topic_id = COALESCE(?, topic_id), topic_closed = ?"
                " WHERE id = ?",
                (topic_id, int(closed), ticket_id),
            )

    def clear_topic(self, ticket_id: int) -> None:
        """The ticket's topic was deleted in the staff chat (and its card with it)."""
        with self.storage.transaction() as db:
            db.execute(
                "UPDATE tickets SET topic_id = NULL, topic_closed = 0, staff_message_id = NULL"
                " WHERE id = ?",
                (ticket_id,),
            )

    def staff_answer_at(self, staff_chat_message_id: int) -> tuple[Ticket, TicketMessage] | None:
        """The staff answer given by that message of the staff chat, and its ticket."""
        rows = self.storage.query(
            "SELECT * FROM ticket_messages WHERE direction = ? AND staff_chat_message_id = ?"
            " ORDER BY id LIMIT 1",
            (STAFF, staff_chat_message_id),
        )
        if not rows:
            return None
        message = TicketMessage.from_row(rows[0])
        ticket = self.get(message.ticket_id)
        return (ticket, message) if ticket is not None else None

    def staff_copies_of(self, user_id: int) -> list[int]:
        """The bot's own messages in the staff chat that carry a user's words or name (ticket
        cards, copied follow-ups, the lists of `record_staff_list`), for /forget to delete
        there too. Staff answers are the team's."""
        rows = self.storage.query(
            "SELECT staff_message_id AS id FROM tickets"
            " WHERE user_id = ? AND staff_message_id IS NOT NULL"
            " UNION SELECT m.staff_chat_message_id FROM ticket_messages m"
            " JOIN tickets t ON t.id = m.ticket_id"
            " WHERE t.user_id = ? AND m.direction IN (?, ?) AND m.staff_chat_message_id IS NOT NULL"
            " UNION SELECT message_id FROM staff_lists WHERE user_id = ?"
            " ORDER BY id",
            (user_id, user_id, CARD, USER, user_id),
        )
        return [row[0] for row in rows]

    def record_staff_list(self, message_ids: Iterable[int], user_ids: Iterable[int]) -> None:
        """The bot posted a list in the staff chat (/open, /unanswered, the digest) as
        `message_ids`, quoting these users' names or words: /forget deletes it there too.
        Rows past Telegram's 48 hours are dropped: such a message can no longer be deleted."""
        now = self.now()
        rows = [(m, u, now) for m in message_ids for u in set(user_ids)]
        with self.storage.transaction() as db:
            db.execute("DELETE FROM staff_lists WHERE posted_at < ?", (now - DELETE_WINDOW,))
            db.executemany(
                "INSERT OR IGNORE INTO staff_lists (message_id, user_id, posted_at)"
                " VALUES (?, ?, ?)",
                rows,
            )

    def ticket_for_user_message(self, chat_id: int, message_id: int) -> Ticket | None:
        """The ticket a message in a user's chat belongs to (a delivered answer, a notice…)."""
        rows = self.storage.query(
            "SELECT t.* FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id"
            " WHERE t.chat_id = ? AND m.user_chat_message_id = ? ORDER BY m.id DESC LIMIT 1",
            (chat_id, message_id),
        )
        return Ticket.from_row(rows[0]) if rows else None

    # Staff workflow -------------------------------------------------------------------------

    def assign(self, ticket_id: int, staff_id: int, staff_name: str) -> Ticket:
        return self._update(ticket_id, "assignee_id = ?, assignee_name = ?", (staff_id, staff_name))

    def last_followup_unanswered(self, ticket_id: int) -> bool:
        """Whether the user wrote after the team's last answer (or the team never answered a
        follow-up): closing now would leave that message unanswered."""
        rows = self.storage.query(
            "SELECT direction FROM ticket_messages WHERE ticket_id = ? AND direction IN (?, ?)"
            " ORDER BY id DESC LIMIT 1",
            (ticket_id, STAFF, USER),
        )
        return bool(rows) and rows[0]["direction"] == USER

    def add_staff_answer(
        self,
        ticket_id: int,
        staff_id: int,
        text: str,
        staff_chat_message_id: int | None,
        deliver: Callable[[Posted], Owed] | None = None,
    ) -> Posted:
        """Record a staff answer (there may be several) and, with `deliver`, add the message
        for the user to the outbox in the same transaction.

        The ticket becomes answered only once the answer is delivered (`delivered`): until
        then it stays in `/open`. Answering a closed ticket reopens it: staff who write under
        a closed card mean the user to read it. The same staff message recorded twice (its
        update handled again after a crash) is recorded once: the first `Posted` is returned.
        """
        text = _text(text, "answer")
        with self.storage.transaction() as db:
            ticket = self._load(db, ticket_id)
            recorded = _recorded(db, ticket, STAFF, "staff_chat_message_id", staff_chat_message_id)
            if recorded is not None:
                return recorded
            if ticket.is_closed:
                db.execute(
                    "UPDATE tickets SET status = ?, closed_at = NULL, closed_by = NULL,"
                    " digested = 0 WHERE id = ?",
                    (OPEN, ticket_id),
                )
                self._card_changed(db, ticket_id)
            row_id = self._insert_message(
                db, ticket_id, STAFF, text, staff_id, staff=staff_chat_message_id
            )
            posted = Posted(self._load(db, ticket_id), self._load_message(db, row_id))
            if deliver is None:
                return posted
            return Posted(posted.ticket, posted.message, self.outbox.add(db, deliver(posted)))

    def delivered(
        self, item: OutboxItem, message_id: int | None, then: Owed | None = None
    ) -> int | None:
        """`item` reached its chat as `message_id`: one transaction records it and what it
        means for the ticket (a card leads to the ticket, a copy routes replies, an answer
        makes the ticket answered and clears a delivery flag), and adds `then` (a notice for
        staff) to the outbox; its id."""
        now = self.now()
        with self.storage.transaction() as db:
            self.outbox.mark_sent(db, item.id, message_id)
            if item.ticket_id is not None and message_id is not None:
                if item.kind in (outbox.CARD, outbox.EDIT):
                    # An edit that found its card too old to edit posted a fresh one.
                    row = db.execute(
                        "SELECT staff_message_id FROM tickets WHERE id = ?", (item.ticket_id,)
                    ).fetchone()
                    if row is not None and row[0] != message_id:
                        db.execute(
                            "UPDATE tickets SET staff_message_id = ? WHERE id = ?",
                            (message_id, item.ticket_id),
                        )
                        self._insert_message(db, item.ticket_id, CARD, "", None, staff=message_id)
                elif item.kind == outbox.TELL:
                    self._insert_message(db, item.ticket_id, NOTICE, "", None, user=message_id)
                elif item.kind == outbox.ANSWER and item.ticket_message_id is not None:
                    db.execute(
                        "UPDATE ticket_messages SET user_chat_message_id = ? WHERE id = ?",
                        (message_id, item.ticket_message_id),
                    )
                    db.execute(
                        "UPDATE tickets SET flagged = NULL, digested = 0,"
                        " first_answer_at = COALESCE(first_answer_at, ?),"
                        " last_answer_at = ?, answered_by = COALESCE(?, answered_by),"
                        " status = CASE status WHEN ? THEN ? ELSE status END WHERE id = ?",
                        (now, now, item.payload.get("staff_name"), OPEN, ANSWERED, item.ticket_id),
                    )
                    self._card_changed(db, item.ticket_id)
                elif item.ticket_message_id is not None:  # a copy in the staff chat
                    db.execute(
                        "UPDATE ticket_messages SET staff_chat_message_id ="
                        " COALESCE(staff_chat_message_id, ?) WHERE id = ?",
                        (message_id, item.ticket_message_id),
                    )
            return self.outbox.add(db, then) if then is not None else None

    def undelivered(self, item: OutboxItem, reason: str, then: Owed | None = None) -> int | None:
        """Telegram refused `item` for good: it is marked failed, an answer's ticket flagged
        (it stays in /open), and `then` (the notice for staff) is added to the outbox."""
        reason = reason.strip()[:FLAG_REASON_MAX] or "delivery failed"
        with self.storage.transaction() as db:
            self.outbox.mark_failed(db, item.id, reason)
            if item.kind == outbox.ANSWER and item.ticket_id is not None:
                db.execute("UPDATE tickets SET flagged = ? WHERE id = ?", (reason, item.ticket_id))
                self._card_changed(db, item.ticket_id)
            return self.outbox.add(db, then) if then is not None else None

    def close(
        self,
        ticket_id: int,
        by: str | None = None,
        notice: Callable[[Ticket], Owed] | None = None,
    ) -> Ticket:
        """Closing a closed ticket changes nothing (its closed_at is kept). `by`: who closed
        it (a staff member's name, or the user's own "Solved"); `notice(ticket)`: the message
        owed to the user ("your ticket is closed, reply to reopen it"), added in the same
        transaction, only when the ticket was not closed already."""
        with self.storage.transaction() as db:
            before = self._load(db, ticket_id)
            if before.is_closed:
                return before
            db.execute(
                "UPDATE tickets SET status = ?, closed_at = ?, digested = 0, closed_by = ?"
                " WHERE id = ?",
                (CLOSED, self.now(), by, ticket_id),
            )
            ticket = self._load(db, ticket_id)
            self._card_changed(db, ticket_id, ticket)
            if notice is not None:
                self.outbox.add(db, notice(ticket))
            return ticket

    def reopen(self, ticket_id: int) -> Ticket:
        """Back in the staff queue, whatever its state."""
        return self._update(
            ticket_id, "status = ?, closed_at = NULL, closed_by = NULL, digested = 0", (OPEN,)
        )

    def ban_user_of(self, ticket_id: int, *, close_tickets: bool = True) -> list[int]:
        """Ban the ticket's author; their tickets still open or answered are closed.

        Returns the ids of the tickets closed, for the confirmation shown to staff.
        """
        now = self.now()
        with self.storage.transaction() as db:
            user_id = self._load(db, ticket_id).user_id
            db.execute(
                "INSERT INTO users (user_id, banned, created_at, updated_at) VALUES (?, 1, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET banned = 1, updated_at = excluded.updated_at",
                (user_id, now, now),
            )
            if not close_tickets:
                return []
            closed = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM tickets WHERE user_id = ? AND status != ? ORDER BY id",
                    (user_id, CLOSED),
                )
            ]
            db.execute(
                "UPDATE tickets SET status = ?, closed_at = ? WHERE user_id = ? AND status != ?",
                (CLOSED, now, user_id, CLOSED),
            )
            for closed_id in closed:
                self._card_changed(db, closed_id)
            return closed

    def unban_user_of(self, ticket_id: int) -> None:
        with self.storage.transaction() as db:
            user_id = self._load(db, ticket_id).user_id
            db.execute(
                "UPDATE users SET banned = 0, updated_at = ? WHERE user_id = ?",
                (self.now(), user_id),
            )

    def is_banned(self, user_id: int) -> bool:
        rows = self.storage.query("SELECT banned FROM users WHERE user_id = ?", (user_id,))
        return bool(rows and rows[0]["banned"])

    # The user's side ------------------------------------------------------------------------

    def add_user_followup(
        self,
        ticket_id: int,
        text: str,
        user_chat_message_id: int | None,
        *,
        reopen: bool = True,
        copy: Callable[[Posted], Owed] | None = None,
    ) -> Posted:
        """The user replied under their ticket: back to open, so staff see it in /open.

        Someone who writes again expects a reader, even on a closed ticket. Pass
        `reopen=False` for replies that need none (a plain "thanks"). `copy(posted)` is the
        copy owed to the staff chat, added to the outbox in the same transaction. The same
        user message recorded twice (handled again after a crash) is recorded once.
        """
        text = _text(text, "follow-up")
        with self.storage.transaction() as db:
            ticket = self._load(db, ticket_id)
            if _is_banned(db, ticket.user_id):
                raise Banned()
            recorded = _recorded(db, ticket, USER, "user_chat_message_id", user_chat_message_id)
            if recorded is not None:
                return recorded
            if reopen:
                db.execute(
                    "UPDATE tickets SET status = ?, closed_at = NULL, closed_by = NULL,"
                    " digested = 0 WHERE id = ?",
                    (OPEN, ticket_id),
                )
                if not ticket.is_open:
                    self._card_changed(db, ticket_id)
            else:  # the wait starts again at the follow-up: the digest may list it again
                db.execute("UPDATE tickets SET digested = 0 WHERE id = ?", (ticket_id,))
            row_id = self._insert_message(
                db, ticket_id, USER, text, ticket.user_id, user=user_chat_message_id
            )
            posted = Posted(self._load(db, ticket_id), self._load_message(db, row_id))
            if copy is None:
                return posted
            return Posted(posted.ticket, posted.message, self.outbox.add(db, copy(posted)))

    def for_user(self, user_id: int, ticket_id: int) -> Ticket | None:
        """The ticket if it is this user's; another user's ticket looks like a missing one."""
        ticket = self.get(ticket_id)
        return ticket if ticket is not None and ticket.user_id == user_id else None

    # Reading --------------------------------------------------------------------------------

    def get(self, ticket_id: int) -> Ticket | None:
        rows = self.storage.query("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return Ticket.from_row(rows[0]) if rows else None

    def messages(self, ticket_id: int) -> list[TicketMessage]:
        """The conversation of a ticket, oldest first."""
        rows = self.storage.query(
            "SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id", (ticket_id,)
        )
        return [TicketMessage.from_row(r) for r in rows]

    def open_tickets(self) -> list[Ticket]:
        """Tickets waiting for staff, oldest first."""
        rows = self.storage.query(
            "SELECT * FROM tickets WHERE status = ? ORDER BY created_at, id", (OPEN,)
        )
        return [Ticket.from_row(r) for r in rows]

    def count_open(self) -> int:
        """How many tickets wait for staff (the `/metrics` gauge)."""
        return self.storage.query("SELECT COUNT(*) FROM tickets WHERE status = ?", (OPEN,))[0][0]

    def flagged_tickets(self) -> list[Ticket]:
        """Tickets not closed whose last answer could not be delivered."""
        rows = self.storage.query(
            "SELECT * FROM tickets WHERE flagged IS NOT NULL AND status != ? ORDER BY id",
            (CLOSED,),
        )
        return [Ticket.from_row(r) for r in rows]

    def unanswered_since(self, seconds: float) -> list[Ticket]:
        """Open tickets whose user has waited at least `seconds`, longest wait first.

        The wait starts at the ticket, or at the user's latest follow-up.
        """
        rows = self.storage.query(
            "SELECT * FROM (SELECT t.*, COALESCE((SELECT MAX(m.created_at) FROM ticket_messages m"
            " WHERE m.ticket_id = t.id AND m.direction = ?), t.created_at) AS waiting_since"
            " FROM tickets t WHERE t.status = ?) WHERE waiting_since <= ?"
            " ORDER BY waiting_since, id",
            (USER, OPEN, self.now() - seconds),
        )
        return [Ticket.from_row(r) for r in rows]

    def due_for_digest(self, seconds: float) -> list[tuple[Ticket, float]]:
        """Open tickets waiting at least `seconds` that no digest listed in this wait yet.

        Each comes with when the wait began (the ticket, or the user's latest follow-up). A
        ticket listed once (`mark_digested`) comes back only after it changed state (answered,
        closed, reopened) or its user wrote again, and then waited `seconds` again.
        """
        rows = self.storage.query(
            "SELECT * FROM (SELECT t.*, COALESCE((SELECT MAX(m.created_at) FROM ticket_messages m"
            " WHERE m.ticket_id = t.id AND m.direction = ?), t.created_at) AS waiting_since"
            " FROM tickets t WHERE t.status = ? AND t.digested = 0) WHERE waiting_since <= ?"
            " ORDER BY waiting_since, id",
            (USER, OPEN, self.now() - seconds),
        )
        return [(Ticket.from_row(r), float(r["waiting_since"])) for r in rows]

    def mark_digested(self, ticket_ids: Iterable[int]) -> None:
        """The digest listed these tickets: not again until their state changes."""
        with self.storage.transaction() as db:
            db.executemany(
                "UPDATE tickets SET digested = 1 WHERE id = ?", [(i,) for i in ticket_ids]
            )

    def stats(self, working: Callable[[float, float], float] | None = None) -> DeskStats:
        """`working(start, end)`: the seconds that count between two times (office hours,
        `bot.desk.office.OfficeHours.working_seconds`); wall-clock time without it."""
        rows = self.storage.query("SELECT status, COUNT(*) AS n FROM tickets GROUP BY status")
        delays = [
            working(r[0], r[1]) if working else r[1] - r[0]
            for r in self.storage.query(
                "SELECT created_at, first_answer_at FROM tickets WHERE first_answer_at IS NOT NULL"
            )
        ]
        return DeskStats(
            questions=self.storage.question_stats().by_language_and_status,
            tickets={r["status"]: r["n"] for r in rows},
            median_first_answer=statistics.median(delays) if delays else None,
        )

    # Retention ------------------------------------------------------------------------------

    def purge_closed(self, older_than_days: float = 365) -> int:
        """Delete tickets closed more than `older_than_days` ago; returns how many.

        Their text leaves the file too (secure_delete, then a WAL checkpoint).
        """
        cutoff = self.now() - older_than_days * DAY
        with self.storage.transaction() as db:
            ids = "SELECT id FROM tickets WHERE status = ? AND closed_at < ?"
            db.execute(f"DELETE FROM ticket_messages WHERE ticket_id IN ({ids})", (CLOSED, cutoff))
            count = db.execute(
                "DELETE FROM tickets WHERE status = ? AND closed_at < ?", (CLOSED, cutoff)
            ).rowcount
        if count:
            self.storage.erase()
        return count

    # Helpers --------------------------------------------------------------------------------

    def _update(self, ticket_id: int, assignments: str, params: tuple) -> Ticket:
        """Change a ticket; its card is edited to match (in the same transaction)."""
        with self.storage.transaction() as db:
            self._load(db, ticket_id)
            db.execute(f"UPDATE tickets SET {assignments} WHERE id = ?", (*params, ticket_id))
            ticket = self._load(db, ticket_id)
            self._card_changed(db, ticket_id, ticket)
            return ticket

    def _card_changed(
        self, db: sqlite3.Connection, ticket_id: int, ticket: Ticket | None = None
    ) -> int | None:
        """The ticket changed state: the edit of its card is owed (see `card_edit`)."""
        if self.card_edit is None:
            return None
        owed = self.card_edit(ticket or self._load(db, ticket_id))
        return self.outbox.add(db, owed) if owed is not None else None

    def _insert_message(
        self,
        db: sqlite3.Connection,
        ticket_id: int,
        direction: str,
        text: str,
        author_id: int | None,
        *,
        staff: int | None = None,
        user: int | None = None,
    ) -> int:
        cursor = db.execute(
            "INSERT INTO ticket_messages (ticket_id, direction, text, author_id,"
            " staff_chat_message_id, user_chat_message_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ticket_id, direction, text, author_id, staff, user, self.now()),
        )
        return int(cursor.lastrowid)

    @staticmethod
    def _load(db: sqlite3.Connection, ticket_id: int) -> Ticket:
        row = db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise TicketNotFound(ticket_id)
        return Ticket.from_row(row)

    @staticmethod
    def _load_message(db: sqlite3.Connection, message_row_id: int) -> TicketMessage:
        row = db.execute("SELECT * FROM ticket_messages WHERE id = ?", (message_row_id,)).fetchone()
        if row is None:
            raise TicketError(f"no ticket message {message_row_id}")
        return TicketMessage.from_row(row)


def _recorded(
    db: sqlite3.Connection, ticket: Ticket, direction: str, column: str, message_id: int | None
) -> Posted | None:
    """The ticket's message of `direction` already recorded for that Telegram message (its
    update handled again after a crash), if any: what was posted then, owing nothing new."""
    if message_id is None:
        return None
    row = db.execute(
        f"SELECT * FROM ticket_messages WHERE ticket_id = ? AND direction = ? AND {column} = ?",
        (ticket.id, direction, message_id),
    ).fetchone()
    return Posted(ticket, TicketMessage.from_row(row), None) if row is not None else None


def _is_banned(db: sqlite3.Connection, user_id: int) -> bool:
    row = db.execute("SELECT banned FROM users WHERE user_id = ?", (user_id,)).fetchone()
    return bool(row and row[0])


# What the FAQ lacks: the unanswered report --------------------------------------------------

# Two phrasings belong together when their similarity (0-100) reaches this. The similarity is
# the mean of rapidfuzz's token_set_ratio (forgives word order and extra words) and
# token_sort_ratio (keeps a one-word question from absorbing every question containing that
# word), on content words only (`answering.text.tokens`): "prix" and "tarif" never meet, "horaires
# KMØ" and "kmo horaires d'ouverture" do.
GROUP_THRESHOLD = 80.0


@dataclass(frozen=True)
class AskedQuestion:
    text: str
    language: str
    status: str
    created_at: float = 0.0
    user_id: int | None = None


@dataclass(frozen=True)
class QuestionGroup:
    """Similar questions the FAQ did not answer with confidence."""

    count: int
    representative: str  # the most frequent phrasing
    languages: dict[str, int]
    statuses: dict[str, int]  # escalate / suggest
    variants: tuple[str, ...]  # the other phrasings, most frequent first
    last_asked: float
    user_ids: frozenset[int] = frozenset()  # who asked them (the staff chat's list quotes them)


def similarity(a: str, b: str, **_: object) -> float:
    """Similarity of two content-word strings, 0-100 (see GROUP_THRESHOLD)."""
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def content_key(text: str) -> str:
    """What a question is about: its folded content words (all its words if none remain)."""
    return " ".join(tokens(text, STOPWORDS)) or fold(text)


def group_questions(
    questions: Iterable[AskedQuestion], threshold: float = GROUP_THRESHOLD
) -> list[QuestionGroup]:
    """Greedy clustering, most frequent phrasings first; largest groups first."""
    buckets: dict[str, list[AskedQuestion]] = {}
    for q in questions:
        key = content_key(q.text)
        if key:
            buckets.setdefault(key, []).append(q)
    keys = sorted(buckets, key=lambda k: (-len(buckets[k]), k))
    representatives: list[str] = []
    members: list[list[AskedQuestion]] = []
    for key in keys:
        best = process.extractOne(key, representatives, scorer=similarity, score_cutoff=threshold)
        if best is None:
            representatives.append(key)
            members.append(list(buckets[key]))
        else:
            members[best[2]].extend(buckets[key])
    groups = [_group(m) for m in members]
    return sorted(groups, key=lambda g: (-g.count, -g.last_asked, g.representative))


def _group(members: list[AskedQuestion]) -> QuestionGroup:
    phrasings = Counter(m.text.strip() for m in members)
    ranked = [text for text, _ in phrasings.most_common()]
    return QuestionGroup(
        count=len(members),
        representative=ranked[0],
        languages=dict(Counter(m.language for m in members).most_common()),
        statuses=dict(Counter(m.status for m in members).most_common()),
        variants=tuple(ranked[1:]),
        last_asked=max(m.created_at for m in members),
        user_ids=frozenset(m.user_id for m in members if m.user_id is not None),
    )


def unanswered_report(
    storage: Storage, limit: int = 20, threshold: float = GROUP_THRESHOLD
) -> list[QuestionGroup]:
    """The most frequent questions the FAQ escalated, was unsure about, or knew the subject
    of but not what was asked (a gap: what the FAQ could add), grouped. Small talk,
    off-topic and too-vague messages are not the FAQ's to answer: left out."""
    rows = storage.query(
        "SELECT text, language, status, created_at, user_id FROM questions"
        " WHERE status IN (?, ?, ?)",
        (ESCALATE, SUGGEST, GAP),
    )
    asked = [
        AskedQuestion(r["text"], r["language"], r["status"], r["created_at"], r["user_id"])
        for r in rows
    ]
    return group_questions(asked, threshold)[:limit]


def format_unanswered(
    groups: list[QuestionGroup], language: str = "en", variants_shown: int = 3
) -> str:
    """The report as plain text for a terminal or a staff message, in `language`."""
    _ = gettext_for(language)
    if not groups:
        return _("No unanswered or uncertain questions.")
    total = sum(g.count for g in groups)
    lines = [
        _(
            "Questions the FAQ does not answer well: {total} in {groups} group(s), most "
            "frequent first."
        ).format(total=total, groups=len(groups))
    ]
    for i, g in enumerate(groups, 1):
        languages = ", ".join(f"{lang} {n}" for lang, n in g.languages.items())
        outcomes = ", ".join(f"{status} {n}" for status, n in g.statuses.items())
        lines.append(f"{i:3}. {g.count}x  [{languages}]  ({outcomes})")
        lines.append(f"     {g.representative}")
        for variant in g.variants[:variants_shown]:
            lines.append(f"       ~ {variant}")
        if len(g.variants) > variants_shown:
            more = _("{count} more phrasing(s)").format(count=len(g.variants) - variants_shown)
            lines.append(f"       ~ … {more}")
    return "\n".join(lines)


# From staff answers to FAQ entries: drafts --------------------------------------------------

TODO = "TODO"
DRAFTS_HEADER = """\
# Draft FAQ entries from tickets answered by staff (`faqbot drafts`). NOT ready to go live.
# For each entry: check the answer against the source article (faq/README.md, "The one rule"),
# remove anything personal from the question, write at least 4 question variants and the
# answer in fr, de and en, give it a stable id, move it into the topic file it belongs to,
# then run `faqbot check`.
"""


class _DraftDumper(yaml.SafeDumper):
    """Lists indented under their key, multi-line text as blocks: the look of faq/*.yaml."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DraftDumper.add_representer(str, _represent_str)


@dataclass(frozen=True)
class Draft:
    ticket: Ticket
    answer: str

    def entry(self) -> dict:
        lang = self.ticket.language
        return {
            "id": f"draft-ticket-{self.ticket.id}",
            "questions": {
                code: [self.ticket.question] if code == lang else [TODO] for code in LANGUAGES
            },
            "answer": {code: self.answer if code == lang else TODO for code in LANGUAGES},
            "source": f"ticket #{self.ticket.id} (staff answer, to verify against the source)",
        }


def answered_drafts(storage: Storage) -> list[Draft]:
    """Every ticket staff answered (closed since or not), with all its answers in order."""
    tickets = storage.query(
        "SELECT * FROM tickets t WHERE EXISTS (SELECT 1 FROM ticket_messages m"
        " WHERE m.ticket_id = t.id AND m.direction = ?) ORDER BY id",
        (STAFF,),
    )
    answers: dict[int, list[str]] = {}
    for r in storage.query(
        "SELECT ticket_id, text FROM ticket_messages WHERE direction = ? ORDER BY id", (STAFF,)
    ):
        answers.setdefault(r["ticket_id"], []).append(r["text"])
    return [Draft(Ticket.from_row(t), "\n\n".join(answers[t["id"]])) for t in tickets]


def drafts(storage: Storage) -> str:
    """YAML skeletons of new FAQ entries from answered tickets, for staff to review."""
    return render_drafts(answered_drafts(storage))


def render_drafts(items: list[Draft]) -> str:
    """The drafts as one YAML document in the format of faq/README.md, header comments first."""
    entries = [d.entry() for d in items]
    body = yaml.dump(
        {"entries": entries},
        Dumper=_DraftDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    note = "" if entries else "# No answered tickets yet.\n"
    return DRAFTS_HEADER + note + body
