"""The container's HEALTHCHECK (Dockerfile): exit 0 when the bot in this container is healthy.

It chooses the probe by what the running bot serves, so one image check fits both modes:

* the bot serves HTTP (`faqbot run --webhook`, or polling with FAQBOT_HEALTH_PORT): GET its
  `/healthz` on the loopback (or on FAQBOT_LISTEN when that is one address), which is 200 only
  while the bot handles updates, still polls in polling mode, and its database answers;
* otherwise (polling without a port): the database, once the bot has created it, opens
  read-only and reads, and the FAQ the bot serves still passes `faqbot check`.

Standard library only; it runs with the image's Python and does not import the bot.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import subprocess
import sys
import urllib.request

TIMEOUT = 10


def bot_arguments() -> list[str] | None:
    """The arguments after `faqbot` of the container's `faqbot run`, if it runs: process 1, or
    a child of process 1 (under `docker run --init`). Other processes are not looked at, so that
    outside a container the check does not find somebody else's bot."""
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.name != "1" and (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] != "1":
                continue
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        words = [word.decode(errors="replace") for word in argv if word]
        for i, word in enumerate(words):
            if pathlib.PurePath(word).name == "faqbot" and words[i + 1 : i + 2] == ["run"]:
                return words[i + 1 :]
    return None


def http_port(arguments: list[str] | None) -> int | None:
    if arguments is not None and "--webhook" in arguments:
        return int(os.environ.get("FAQBOT_PORT", "").strip() or 8080)
    health_port = os.environ.get("FAQBOT_HEALTH_PORT", "").strip()
    return int(health_port) if health_port else None


def probe(port: int) -> int:
    listen = os.environ.get("FAQBOT_LISTEN", "").strip()
    host = listen if listen not in ("", "0.0.0.0", "::") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            print(response.read().decode(errors="replace"))
            return 0
    except OSError as error:  # HTTPError (503) included
        print(f"{url}: {error}", file=sys.stderr)
        return 1


def static_check() -> int:
    db = pathlib.Path(os.environ.get("FAQBOT_DB", "data/faqbot.sqlite3"))
    if db.exists():
        try:
            with sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=5) as con:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as error:
            print(f"{db}: {error}", file=sys.stderr)
            return 1
    return subprocess.run(["faqbot", "check"], stdout=subprocess.DEVNULL).returncode


def main() -> int:
    port = http_port(bot_arguments())
    return probe(port) if port is not None else static_check()


if __name__ == "__main__":
    sys.exit(main())
