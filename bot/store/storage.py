"""The embedded SQLite store: preferences, the question log, feedback and tickets.

One file (`FAQBOT_DB`), WAL mode, `synchronous=FULL`: a row is on disk when a call returns,
so whatever the bot has acknowledged to a user survives a `kill -9`. The schema evolves by
numbered migrations recorded in `PRAGMA user_version`; never edit a released migration, add one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: users' preferences, every question asked, feedback on answers.
    """
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        language TEXT,
        banned INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER,
        language TEXT NOT NULL,
        text TEXT NOT NULL,
        status TEXT NOT NULL,
        faq_id TEXT,
        score REAL NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE INDEX questions_status ON questions (status, created_at);
    CREATE INDEX questions_user ON questions (user_id);
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER,
        faq_id TEXT NOT NULL,
        language TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX feedback_user ON feedback (user_id);
    """,
    # 2: tickets handed to staff, and every message that belongs to one (for reply routing).
    """
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        user_name TEXT NOT NULL DEFAULT '',
        username TEXT,
        language TEXT NOT NULL,
        question TEXT NOT NULL,
        guesses TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'open',
        assignee_id INTEGER,
        assignee_name TEXT,
        staff_message_id INTEGER,
        flagged TEXT,
        created_at REAL NOT NULL,
        first_answer_at REAL,
        closed_at REAL
    );
    CREATE INDEX tickets_status ON tickets (status, created_at);
    CREATE INDEX tickets_user ON tickets (user_id, status);
    CREATE TABLE ticket_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        direction TEXT NOT NULL,
        text TEXT NOT NULL,
        author_id INTEGER,
        staff_chat_message_id INTEGER,
        user_chat_message_id INTEGER,
        created_at REAL NOT NULL
    );
    CREATE INDEX ticket_messages_staff ON ticket_messages (staff_chat_message_id);
    CREATE INDEX ticket_messages_user ON ticket_messages (user_chat_message_id);
    """,
    # 3: whether the staff digest already listed a ticket in its current wait (reset whenever
    # the ticket changes state or the user writes again).
    """
    ALTER TABLE tickets ADD COLUMN digested INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: the durable inbox (every update, written before Telegram is told it arrived) and
    # outbox (every message owed to a user or to staff, written before it is sent); a ticket's
    # source ("Ask the team" on question N, /ask in update N) so that it is filed once.
    """
    CREATE TABLE inbox (
        update_id INTEGER PRIMARY KEY,
        user_id INTEGER,
        payload TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        received_at REAL NOT NULL,
        done_at REAL
    );
    CREATE INDEX inbox_status ON inbox (status, update_id);
    CREATE INDEX inbox_user ON inbox (user_id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        payload TEXT NOT NULL,
        ticket_id INTEGER,
        ticket_message_id INTEGER,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id INTEGER,
        error TEXT,
        created_at REAL NOT NULL,
        sent_at REAL
    );
    CREATE INDEX outbox_status ON outbox (status, chat_id, id);
    CREATE INDEX outbox_ticket ON outbox (ticket_id);
    ALTER TABLE tickets ADD COLUMN source TEXT;
    CREATE UNIQUE INDEX tickets_source ON tickets (source);
    """,
    # 5: one feedback vote per user and answer
    # message, which a later tap changes (older rows have no message and stay as they are);
    # the group a ticket was asked in (its chat is the user's private chat: a group's members
    # must never read the team's answer, so older tickets of a group move there too); the
    # bot's list messages in the staff chat (/open, /unanswered, the digest) and the users
    # each one quotes, for /forget to delete them there while Telegram allows it (48 h).
    """
    ALTER TABLE feedback ADD COLUMN chat_id INTEGER;
    ALTER TABLE feedback ADD COLUMN message_id INTEGER;
    CREATE UNIQUE INDEX feedback_vote ON feedback (user_id, chat_id, message_id);
    ALTER TABLE tickets ADD COLUMN asked_in TEXT;
    UPDATE tickets SET chat_id = user_id WHERE chat_id < 0;
    CREATE TABLE staff_lists (
        message_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        posted_at REAL NOT NULL,
        PRIMARY KEY (message_id, user_id)
    );
    CREATE INDEX staff_lists_user ON staff_lists (user_id);
    """,
    # 6: the table the storage health
    # probe writes (`bot.store.health`): row 1 holds the time of the last probe; row 2 only
    # ever exists inside a probe's rolled-back savepoint.
    """
    CREATE TABLE storage_probe (
        id INTEGER PRIMARY KEY CHECK (id IN (1, 2)),
        probed_at REAL NOT NULL,
        room BLOB
    );
    INSERT INTO storage_probe (id, probed_at) VALUES (1, 0);
    """,
    # 7: each chat's short memory (bot/answering/dialogue.py): the entries last shown, the
    # conversation's language; written with the question it follows, deleted by /forget and
    # after a day without messages.
    """
    CREATE TABLE dialogues (
        chat_id INTEGER PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 8: the team's desk (issue 11): what the bot had replied when the user asked the team
    # (JSON), who answered (and when the answer arrived) and who closed a ticket, for the
    # living card; candidate new wordings of FAQ entries, one row per labelled signal (a staff
    # answer with an FAQ entry, a suggestion picked by the user), reviewed with /learn; the
    # ticket's forum topic in the staff chat (STAFF_TOPICS=on) and whether it is closed.
    """
    ALTER TABLE tickets ADD COLUMN bot_reply TEXT;
    ALTER TABLE tickets ADD COLUMN answered_by TEXT;
    ALTER TABLE tickets ADD COLUMN last_answer_at REAL;
    ALTER TABLE tickets ADD COLUMN closed_by TEXT;
    ALTER TABLE tickets ADD COLUMN topic_id INTEGER;
    ALTER TABLE tickets ADD COLUMN topic_closed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX tickets_topic ON tickets (topic_id);
    CREATE TABLE wording_candidates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        faq_id TEXT NOT NULL,
        language TEXT NOT NULL,
        text TEXT NOT NULL,
        norm TEXT NOT NULL,
        user_id INTEGER,
        signal TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        created_at REAL NOT NULL
    );
    CREATE INDEX wording_candidates_key ON wording_candidates (status, faq_id, norm);
    CREATE INDEX wording_candidates_user ON wording_candidates (user_id);
    """,
)


class StorageError(RuntimeError):
    """The database file cannot be opened or is not ours; the message says what to do."""


@dataclass(frozen=True)
class LoggedQuestion:
    """A question as the question log keeps it, with what the engine decided."""

    user_id: int | None
    language: str
    text: str
    status: str
    faq_id: str | None
    score: float
    # The chat's dialogue state after this question (`DialogueState.to_json`), saved with it.
    chat_id: int | None = None
    dialogue: str | None = None


@dataclass(frozen=True)
class QuestionStats:
    by_language_and_status: dict[tuple[str, str], int]


class Storage:
    """A thread-safe handle on the SQLite file; every write is committed before it returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA secure_delete=ON")  # /forget leaves no text in free pages
            self._lock = threading.RLock()
            self._languages: dict[int, str | None] = {}
            # Deleted text may still be in the WAL (see `erase`). A WAL that outlived its
            # process (a crash) may hold anything: empty it at the first chance.
            wal = Path(f"{path}-wal")
            self.erasure_pending = wal.exists() and wal.stat().st_size > 0
            self.migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StorageError(f"cannot open the database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all of it is on disk when the block ends, or none of it."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                # A failed COMMIT leaves the transaction open; "disk full" has already rolled
                # it back (a ROLLBACK then would hide the error behind "no transaction").
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StorageError(
                f"{self.path} has schema version {version}, newer than this bot "
                f"({len(MIGRATIONS)}); upgrade the bot"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # Users' preferences --------------------------------------------------------------------

    def language(self, user_id: int) -> str | None:
        """The user's chosen language; read from the file once, then from memory (every
        message asks, and only `set_language` and `forget_user` change it)."""
        if user_id not in self._languages:
            rows = self.query("SELECT language FROM users WHERE user_id = ?", (user_id,))
            self._languages[user_id] = rows[0]["language"] if rows else None
        return self._languages[user_id]

    def cached_language(self, user_id: int) -> tuple[bool, str | None]:
        """(True, `language(user_id)`) when known without reading the file, else (False, None):
        the event loop asks this first and only goes to a worker thread for the file."""
        if user_id in self._languages:
            return True, self._languages[user_id]
        return False, None

    def set_language(self, user_id: int, language: str) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO users (user_id, language, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language,"
                " updated_at = excluded.updated_at",
                (user_id, language, now, now),
            )
        self._languages[user_id] = language

    # What users asked, and what they thought of the answers ---------------------------------

    def log_question(
        self,
        user_id: int | None,
        language: str,
        text: str,
        status: str,
        faq_id: str | None,
        score: float,
    ) -> int:
        question = LoggedQuestion(user_id, language, text, status, faq_id, score)
        return self.log_questions([question])[0]

    def log_questions(self, questions: Sequence[LoggedQuestion]) -> list[int]:
        """Log several questions in one transaction (see group_commit); their ids, in order."""
        now = time.time()
        ids = []
        with self.transaction() as db:
            for q in questions:
                cursor = db.execute(
                    "INSERT INTO questions"
                    " (user_id, language, text, status, faq_id, score, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (q.user_id, q.language, q.text, q.status, q.faq_id, q.score, now),
                )
                ids.append(int(cursor.lastrowid))
                if q.chat_id is not None and q.dialogue is not None:
                    db.execute(
                        "INSERT INTO dialogues (chat_id, state, updated_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state,"
                        " updated_at = excluded.updated_at",
                        (q.chat_id, q.dialogue, now),
                    )
        return ids

    def dialogue(self, chat_id: int) -> str | None:
        """The chat's saved dialogue state (JSON), if any."""
        rows = self.query("SELECT state FROM dialogues WHERE chat_id = ?", (chat_id,))
        return rows[0]["state"] if rows else None

    def add_feedback(self, user_id: int | None, faq_id: str, language: str, helpful: bool) -> None:
        """A vote tied to no message (imports, tests); `vote` is the one of answer buttons."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO feedback (user_id, faq_id, language, helpful, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, faq_id, language, int(helpful), time.time()),
            )

    def vote(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        faq_id: str,
        language: str,
        helpful: bool,
        *,
        may_create: bool = True,
    ) -> bool:
        """👍/👎 of `user_id` on the answer message (`chat_id`, `message_id`): one row per user
        and message, which a later vote replaces (an upsert on the unique key). Only a vote on
        the entry the first vote named counts: False (nothing written) for another entry, or
        for a first vote when `may_create` is False (the button is not the message's own)."""
        now = time.time()
        with self.transaction() as db:
            if may_create:
                cursor = db.execute(
                    "INSERT INTO feedback"
                    " (user_id, chat_id, message_id, faq_id, language, helpful, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET"
                    " helpful = excluded.helpful, language = excluded.language,"
                    " created_at = excluded.created_at WHERE feedback.faq_id = excluded.faq_id",
                    (user_id, chat_id, message_id, faq_id, language, int(helpful), now),
                )
            else:
                cursor = db.execute(
                    "UPDATE feedback SET helpful = ?, language = ?, created_at = ?"
                    " WHERE user_id = ? AND chat_id = ? AND message_id = ? AND faq_id = ?",
                    (int(helpful), language, now, user_id, chat_id, message_id, faq_id),
                )
            return cursor.rowcount == 1

    def question_stats(self) -> QuestionStats:
        rows = self.query(
            "SELECT language, status, COUNT(*) AS n FROM questions GROUP BY language, status"
        )
        return QuestionStats({(r["language"], r["status"]): r["n"] for r in rows})

    def forget_user(self, user_id: int) -> bool:
        """Delete what is stored about a user: preferences, questions, feedback, tickets' text,
        their updates in the inbox and what the outbox holds for or about them.

        A ban survives as a bare `users` row (the id and the flag, no text), or /forget would
        lift it. Returns False if the text may still linger in the WAL because another
        connection is reading (see `checkpoint`): `erasure_pending` is then set until
        `complete_erasure` succeeds (the bot retries every few seconds).
        """
        with self.transaction() as db:
            banned = db.execute(
                "SELECT 1 FROM users WHERE user_id = ? AND banned", (user_id,)
            ).fetchone()
            db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            self._languages.pop(user_id, None)
            if banned:
                now = time.time()
                db.execute(
                    "INSERT INTO users (user_id, banned, created_at, updated_at)"
                    " VALUES (?, 1, ?, ?)",
                    (user_id, now, now),
                )
            db.execute("DELETE FROM questions WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM feedback WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM wording_candidates WHERE user_id = ?", (user_id,))
            # What the user sent (updates) and what is owed about them (cards, copies, answers).
            db.execute("DELETE FROM inbox WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM dialogues WHERE chat_id = ?", (user_id,))
            db.execute(
                "DELETE FROM outbox WHERE chat_id = ? OR ticket_id IN"
                " (SELECT id FROM tickets WHERE user_id = ?)",
                (user_id, user_id),
            )
            db.execute(
                "DELETE FROM ticket_messages WHERE ticket_id IN"
                " (SELECT id FROM tickets WHERE user_id = ?)",
                (user_id,),
            )
            db.execute("DELETE FROM tickets WHERE user_id = ?", (user_id,))
            db.execute(  # the lists that quoted the user are deleted in the staff chat
                "DELETE FROM staff_lists WHERE message_id IN"
                " (SELECT message_id FROM staff_lists WHERE user_id = ?)",
                (user_id,),
            )
        return self.erase()

    def erase(self) -> bool:
        """After deleting text: make sure it leaves the file and the WAL, now if no other
        connection is reading, else at a later `complete_erasure` (`erasure_pending`)."""
        self.erasure_pending = True
        return self.complete_erasure()

    def complete_erasure(self) -> bool:
        """Finish a pending erasure: empty the WAL into the file (secure_delete has zeroed the
        deleted rows and freed pages). True when nothing deleted is left in either file."""
        if self.checkpoint():
            self.erasure_pending = False
        return not self.erasure_pending

    def checkpoint(self) -> bool:
        """Copy the WAL into the file and empty it, so deleted text survives in neither.

        secure_delete zeroes deleted rows in the file, but the WAL still holds the pages as
        they were written until a checkpoint truncates it. False when another connection's
        open read keeps the checkpoint from completing: the attempt does not wait for it (the
        busy timeout is off meanwhile), because every other write waits for this lock.
        """
        with self._lock:
            (timeout,) = self.db.execute("PRAGMA busy_timeout").fetchone()
            self.db.execute("PRAGMA busy_timeout = 0")
            try:
                busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                self.db.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        return busy == 0
