"""The running bot's pid file, so that `faqbot reload` (another process) can signal it.

`faqbot run` writes its pid to `FAQBOT_PID_FILE` (default: `faqbot.pid` next to `FAQBOT_DB`)
once it reloads on SIGHUP, and removes the file when it exits. A file left by a killed bot is
recognised as stale: no such process, or a process that is not a faqbot.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# What the command line of a running bot contains (`faqbot run`, `python -m bot.cli run`).
_MARKERS = (b"faqbot", b"bot.cli")


def write_pid_file(path: Path) -> None:
    """Write this process's pid, atomically: a reader never sees half a number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(partial, path)


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def remove_pid_file(path: Path) -> None:
    """Remove the file if it is still ours (a newer bot may have replaced it)."""
    if read_pid(path) == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()


def _looks_like_faqbot(pid: int) -> bool:
    """Whether process `pid` runs the bot (Linux: /proc/PID/cmdline); True if unknowable."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        command = cmdline.read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no procfs at all: cannot tell
    except OSError:
        return True
    return any(marker in command for marker in _MARKERS)


class NoRunningBot(Exception):
    """No live bot behind the pid file; the message says why."""


def running_bot_pid(path: Path) -> int:
    """The pid of the bot that wrote `path`, alive; `NoRunningBot` otherwise."""
    pid = read_pid(path)
    if pid is None:
        reason = "no pid file" if not path.exists() else "an unreadable pid file"
        raise NoRunningBot(f"no bot is running ({reason} at {path})")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise NoRunningBot(f"no bot is running (stale pid file {path}: no process {pid})") from None
    except PermissionError:
        raise NoRunningBot(
            f"process {pid} (from {path}) belongs to another user; run this as the bot's user"
        ) from None
    if not _looks_like_faqbot(pid):
        raise NoRunningBot(
            f"no bot is running (stale pid file {path}: process {pid} is not faqbot)"
        )
    return pid
