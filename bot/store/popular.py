"""The most asked questions, for the home screen after /start (`handlers/home.py`).

Counted from the question log: questions the bot answered with confidence (status 'answer')
in the last `WINDOW_DAYS` days, by FAQ entry. The query walks the `questions_status` index
(status, created_at) over that window only; the handler keeps its result for a while, so it
runs at most every few minutes, not on every message.
"""

from __future__ import annotations

import time

from bot.store.storage import Storage

WINDOW_DAYS = 30
DAY = 86400.0


def most_asked(
    storage: Storage, limit: int, days: float = WINDOW_DAYS, now: float | None = None
) -> list[str]:
    """The ids of the entries answered most often in the last `days` days, most asked first
    (ties: by id, so that the list is stable)."""
    since = (time.time() if now is None else now) - days * DAY
    rows = storage.query(
        "SELECT faq_id, COUNT(*) AS asked FROM questions"
        " WHERE status = 'answer' AND created_at >= ? AND faq_id IS NOT NULL"
        " GROUP BY faq_id ORDER BY asked DESC, faq_id LIMIT ?",
        (since, limit),
    )
    return [row["faq_id"] for row in rows]
