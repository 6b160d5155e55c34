"""Ticket limits and the clock (issue 9): tickets stamped in the future, after the clock was set
ahead and then back, do not freeze the hourly limit; a user refused by the hourly limit is told
when they can ask again, not that questions are waiting when none is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.desk.tickets import HOURLY_LIMIT, OPEN_LIMIT, LimitReached, TicketDesk, TicketLimits
from bot.store.storage import Storage
from handlers import texts
from tests.test_telegram_conversation import engine  # noqa: F401
from tests.test_telegram_escalation import GERMAN_QUESTION, HANS, HANS_USER
from tests.test_telegram_escalation import ask as ask_bot
from tests.test_telegram_staff import desk as desk_of
from tests.test_telegram_staff import staff_bot, staff_done
from tests.test_tickets import Clock, ask

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

DAY = 86_400.0


@pytest.fixture
def storage(tmp_path: Path):
    s = Storage(tmp_path / "faqbot.sqlite3")
    yield s
    s.close()


def test_tickets_stamped_in_the_future_do_not_freeze_the_hourly_limit(storage: Storage):
    clock = Clock()
    desk = TicketDesk(storage, TicketLimits(max_open_per_user=99, max_per_hour=5), now=clock)
    clock.advance(DAY)  # the server's clock is set a day ahead…
    for _ in range(5):
        desk.close(ask(desk).id)
    clock.advance(-DAY)  # …and corrected
    ticket = ask(desk)  # not refused until the clock reaches tomorrow
    assert ticket.created_at == clock.t

    # The limit still counts the tickets of the last hour as they are now stamped.
    for _ in range(4):
        ask(desk)
        clock.advance(60)
    with pytest.raises(LimitReached) as refused:
        ask(desk)
    assert refused.value.kind == HOURLY_LIMIT
    assert 0 < refused.value.retry_after <= 3600


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Vous pourrez en envoyer une nouvelle dans 30 minutes"),
        ("de", "Eine neue können Sie in 30 Minuten senden"),
        ("en", "You can send a new one in 30 minutes"),
    ],
)
def test_the_hourly_limit_says_when_to_ask_again(language: str, expected: str):
    hourly = texts.ticket_limit(language, HOURLY_LIMIT, 1799.2)  # rounded up to the minute
    assert expected in hourly
    assert hourly != texts.ticket_limit(language, OPEN_LIMIT)
    assert "1\u00a0799" not in hourly and "1799" not in hourly


async def test_a_user_refused_by_the_hourly_limit_is_not_told_questions_are_waiting(
    botapi,
    engine: Engine,  # noqa: F811
    tmp_path: Path,
):
    limits = TicketLimits(max_open_per_user=3, max_per_hour=2)
    async with staff_bot(botapi, engine, tmp_path, ticket_limits=limits) as bot:
        for number in (1, 2):
            await ask_bot(bot, HANS, f"{GERMAN_QUESTION} ({number})", HANS_USER)
            await staff_done(bot, "close", str(number))
        assert desk_of(bot).count_open() == 0  # nothing waits for the team

        refused = await bot.command(HANS, "ask", GERMAN_QUESTION, user=HANS_USER)
        assert refused["text"] != texts.ticket_limit("de", OPEN_LIMIT)
        assert "in der letzten Stunde mehrere Fragen" in refused["text"]
        assert "Eine neue können Sie in 60 Minuten senden" in refused["text"]
