"""How long the question log and feedback are kept, and the purge that enforces it.

`/privacy` promises users that their questions, their feedback and their closed tickets are
deleted after FAQBOT_RETENTION_DAYS (default `RETENTION_DAYS`); once a day the bot runs
`purge_question_log` and `TicketDesk.purge_closed` (`bot/tickets.py`) with that number (the
"purge" `JobQueue` job in `bot/app.py`) so that the promise holds.
"""

from __future__ import annotations

import time

from bot.store.storage import Storage

RETENTION_DAYS = 365
DAY = 86400.0


def purge_question_log(
    storage: Storage, older_than_days: float = RETENTION_DAYS, now: float | None = None
) -> int:
    """Delete questions and feedback older than `older_than_days`; the number of rows deleted."""
    cutoff = (time.time() if now is None else now) - older_than_days * DAY
    with storage.transaction() as db:
        deleted = db.execute("DELETE FROM questions WHERE created_at < ?", (cutoff,)).rowcount
        deleted += db.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,)).rowcount
        # A conversation's memory lasts 30 minutes; a day-old one only keeps its language.
        stale = (time.time() if now is None else now) - DAY
        deleted += db.execute("DELETE FROM dialogues WHERE updated_at < ?", (stale,)).rowcount
    if deleted:  # secure_delete zeroes the rows in the file; the checkpoint empties the WAL
        storage.erase()
    return deleted
