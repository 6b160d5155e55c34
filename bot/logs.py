"""Logging for `faqbot run`: readable lines on stderr, and never a secret in them.

The bot token is part of every Bot API URL, so any library that logs a URL would leak it;
the formatter masks it in every line, whatever logged it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

# Loggers that log every request (with its URL) at INFO: quiet unless something fails.
NOISY = ("httpx", "httpcore", "apscheduler")


class RedactingFormatter(logging.Formatter):
    """A formatter that replaces each secret with `[redacted]` in the final line."""

    def __init__(self, fmt: str, secrets: Iterable[str | None]):
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            line = line.replace(secret, "[redacted]")
        return line


def configure_logging(verbose: bool = False, secrets: Iterable[str | None] = ()) -> None:
    """INFO (DEBUG with `verbose`: users' messages included) to stderr, secrets masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
