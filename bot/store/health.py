"""Whether the database can still keep what the bot is told: a real write, and an intact file.

A `SELECT` answers from a database that can no longer be written (disk full, file or mount
turned read-only) and from a damaged one as long as the pages it reads are fine. Two probes say
more, both blocking (call them from a worker thread):

* `probe_write`: one transaction that updates the one-row table `storage_probe` with the time
  and commits (so the write reaches the disk: a read-only file or mount, an I/O error, a disk
  too full for the WAL to grow fail here), and inside it, in a savepoint rolled back at once,
  inserts `ROOM_BYTES`: SQLite must find that much room in the file or be allowed to grow it
  (a full database, `max_page_count`, fails here, as the next ticket would), while nothing of
  it is ever written;
* `check_integrity`: `PRAGMA quick_check` (every page and index, without the costlier
  cross-checks of `integrity_check`), at start and every `INTEGRITY_INTERVAL`; its result is
  kept, and `/healthz` reads it rather than scanning the file at each request.

`StorageHealth.of(storage)` is the one instance of a `Storage`: the staff alert job
(`handlers/ops.py`) and `/healthz` (`bot.telegram.web.Health`) share the integrity result.
Nothing here imports Telegram.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.storage import Storage

log = logging.getLogger(__name__)

# Room a probe asks for: about what a long ticket with its messages needs.
ROOM_BYTES = 16 * 1024
INTEGRITY_INTERVAL = 600.0  # seconds between two quick checks
QUICK_CHECK_ROWS = 5  # problems quick_check reports at most (the first ones say enough)

UNWRITABLE = "unwritable"
CORRUPTED = "corrupted"
# SQLite's primary result codes that mean a damaged file.
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


@dataclass(frozen=True)
class StorageState:
    """`problem`: None when the database works, else UNWRITABLE or CORRUPTED; `detail` says
    what SQLite said."""

    problem: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def reason(self) -> str:
        """One line for `/healthz` and the log."""
        if self.problem == CORRUPTED:
            return f"the database is corrupted: {self.detail}"
        if self.problem == UNWRITABLE:
            return f"the database cannot be written: {self.detail}"
        return ""


def _is_corruption(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


class StorageHealth:
    """The last results of both probes of one `Storage` (thread-safe)."""

    _instances: weakref.WeakKeyDictionary[Storage, StorageHealth] = weakref.WeakKeyDictionary()
    _instances_lock = threading.Lock()

    def __init__(self, storage: Storage, clock: Callable[[], float] = time.monotonic):
        self.storage = storage
        self.clock = clock
        self.write_error: str | None = None
        self.write_corrupted = False
        self.integrity_error: str | None = None
        self.integrity_checked_at: float | None = None

    @classmethod
    def of(cls, storage: Storage) -> StorageHealth:
        with cls._instances_lock:
            if storage not in cls._instances:
                cls._instances[storage] = cls(storage)
            return cls._instances[storage]

    def probe_write(self) -> StorageState:
        """Write the time, and ask for room for a ticket (see the module's docstring)."""
        try:
            with self.storage.transaction() as db:
                db.execute("UPDATE storage_probe SET probed_at = ? WHERE id = 1", (time.time(),))
                db.execute("SAVEPOINT room")
                try:
                    db.execute(
                        "INSERT INTO storage_probe (id, probed_at, room)"
                        " VALUES (2, 0, zeroblob(?))",
                        (ROOM_BYTES,),
                    )
                finally:
                    if db.in_transaction:  # SQLite rolls everything back itself on "disk full"
                        db.execute("ROLLBACK TO room")
                        db.execute("RELEASE room")
        except (sqlite3.Error, OSError) as exc:
            self.write_error = str(exc) or type(exc).__name__
            self.write_corrupted = _is_corruption(exc)
        else:
            self.write_error = None
            self.write_corrupted = False
        return self.state()

    def check_integrity(self) -> StorageState:
        """`PRAGMA quick_check`; a check that cannot even run counts as a damaged file."""
        try:
            rows = self.storage.query(f"PRAGMA quick_check({QUICK_CHECK_ROWS})")
            found = [str(r[0]) for r in rows]
            problem = None if found == ["ok"] else "; ".join(found)
        except sqlite3.ProgrammingError as exc:  # closed: not the file's fault
            problem = None
            self.write_error = self.write_error or str(exc)
        except (sqlite3.Error, OSError) as exc:
            problem = str(exc) or type(exc).__name__
        self.integrity_error = problem
        self.integrity_checked_at = self.clock()
        if problem:
            log.error("database integrity check failed: %s", problem)
        return self.state()

    def integrity_due(self) -> bool:
        checked = self.integrity_checked_at
        return checked is None or self.clock() - checked >= INTEGRITY_INTERVAL

    def state(self) -> StorageState:
        """What the last probes found; a damaged file first, it says the most."""
        if self.integrity_error:
            return StorageState(CORRUPTED, self.integrity_error)
        if self.write_error:
            return StorageState(CORRUPTED if self.write_corrupted else UNWRITABLE, self.write_error)
        return StorageState()
