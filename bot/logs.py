"""Logging for `faqbot run`: one JSON object per line on stderr, and never a secret in it.

    {"ts": "2019-03-25T09:30:00.123Z", "level": "INFO", "logger": "handlers.conversation",
     "msg": "question #12: answer kmo-campus (87, fr)"}

plus `exc` (the traceback) when there is one, and any `extra={...}` fields of the call. Every
log line of the process goes through it, PTB's, aiohttp's and tornado's included.

The bot token is part of every Bot API URL, so any library that logs a URL would leak it; the
formatter masks it (and the webhook secret) in every field, whatever logged it. At INFO the bot
never logs what users wrote: questions, follow-ups and names appear only with `--verbose`
(DEBUG).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

# Loggers that log every request (with its URL) at INFO: quiet unless something fails (httpx:
# python-telegram-bot's default client, if it is ever used instead of bot.telegram.transport).
NOISY = ("httpx", "httpcore", "apscheduler", "tornado.access")
REDACTED = "[redacted]"

# The attributes every LogRecord has; anything else was passed with `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, each secret replaced by `[redacted]`."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, object] = {
            "ts": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        text = json.dumps(line, ensure_ascii=False, default=str)
        return self.redact(text)


def token_secrets(token: str | None) -> list[str]:
    """The token, and its secret half alone (a URL-encoded token would not contain ':')."""
    if not token:
        return []
    secret_half = token.partition(":")[2]
    return [token, secret_half] if len(secret_half) >= 8 else [token]


def configure_logging(verbose: bool = False, secrets: Iterable[str | None] = ()) -> None:
    """INFO (DEBUG with `verbose`: users' messages included) to stderr, secrets masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)  # Python warnings become JSON lines too
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
