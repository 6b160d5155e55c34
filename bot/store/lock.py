"""One bot per database: `faqbot run` holds an exclusive lock on a file next to the database.

Two bots on one database would both poll Telegram (each getting a share of the updates, or a
409 Conflict), both post the same cards and digests, and interleave their writes. The pid file
(`bot.pidfile`) cannot prevent it: a bot killed with `kill -9` leaves it behind, and a stale pid
may belong to another process by now. An `fcntl.flock` lock is released by the kernel when its
holder exits, however it exits, so a killed bot never blocks the next start.

The lock file is `<database>.lock` (`faqbot.sqlite3.lock`); it holds the pid of the bot that has
it, for the error message only: the lock itself, not the file's content, is what counts. A bot
that exits removes it; one killed leaves it, unlocked, and the next start takes it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.store.storage import StorageError


class AlreadyRunning(StorageError):
    """Another process holds the database's lock; the message says which one, and where."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _open_locked(path: Path, db_path: Path) -> int:
    """An open descriptor of `path` holding its lock. Another process may remove the file
    between our open and our lock (a bot that stops removes it): then we would hold a lock on
    a file nobody else can find, so check that the path still names what we locked."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StorageError(
                f"cannot open the database {db_path}: cannot create its lock file {path}: "
                f"{exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            by = f" (pid {holder})" if holder.isdigit() else ""
            raise AlreadyRunning(
                f"another bot is already running on the database {db_path}{by}; "
                f"stop it first (it holds {path})"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # removed or replaced meanwhile: lock the file the path names now


@contextmanager
def exclusive_database(db_path: Path) -> Iterator[Path]:
    """Hold the database's lock for the block (the life of `faqbot run`), or raise
    `AlreadyRunning` at once if another process holds it. Yields the lock file's path; the
    file is removed at the end, while still locked (so a bot that could not start leaves
    nothing behind)."""
    path = lock_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot open the database {db_path}: {exc.strerror or exc}") from exc
    fd = _open_locked(path, db_path)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)  # releases the lock (the kernel does it too if the process is killed)
