"""Telegram's flood limits, end to end: the real Application (its RetryingRateLimiter) against
the Bot API double enforcing them (30 messages/s overall, 1/s per private chat, 20/min per
group; 429 beyond). No answer refused, and one user's pace does not hold up the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.answering.engine import Engine
from bot.answering.knowledge import load_or_raise
from bot.telegram.app import KEPT_CHAT_LIMITERS, PRIVATE_CHAT_INTERVAL, RetryingRateLimiter
from tests.botapi_double import BotApiDouble
from tests.test_telegram_conversation import RunningBot, running_bot

QUESTIONS = ["Qu'est-ce que KMØ ?", "Was ist der Campus Industrie 4.0?", "What is FORMLAB?"]


@pytest_asyncio.fixture
async def limited_bot(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[RunningBot]:
    botapi.enforce_limits()
    async with running_bot(botapi, Engine(load_or_raise()), tmp_path) as running:
        yield running


async def test_three_questions_at_once_get_three_answers_a_second_apart(limited_bot: RunningBot):
    api = limited_bot.api
    hasty, patient = 7001, 7002
    for question in QUESTIONS:
        api.push_text(hasty, question)
    await asyncio.sleep(0.2)  # the hasty user's first answer is out, the others wait their turn
    asked_at = asyncio.get_running_loop().time()
    api.push_text(patient, QUESTIONS[0])

    [patient_answer] = await api.wait_for_message(patient)
    answers = await api.wait_for_message(hasty, count=3, timeout=10)

    assert api.rejected_429 == 0
    assert [a.ok for a in answers] == [True, True, True]
    gaps = [b.time - a.time for a, b in zip(answers, answers[1:], strict=False)]
    assert min(gaps) >= 1.0, gaps  # Telegram's 1 message a second per chat
    # the other user did not wait behind the hasty one's paced answers
    assert patient_answer.time - asked_at < PRIVATE_CHAT_INTERVAL, patient_answer.time - asked_at


async def test_a_crowd_stays_under_30_messages_a_second(limited_bot: RunningBot):
    api = limited_bot.api
    crowd = range(8001, 8061)
    for i, chat_id in enumerate(crowd):
        api.push_text(chat_id, QUESTIONS[i % 3])
    for chat_id in crowd:
        [answer] = await api.wait_for_message(chat_id, timeout=15)
        assert answer.ok
    assert api.rejected_429 == 0
    sent = sorted(c.time for c in api.calls if c.method == "sendMessage")
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest <= 30


async def test_only_new_messages_to_private_chats_are_paced_and_idle_chats_are_forgotten():
    limiter = RetryingRateLimiter(overall_max_rate=1, overall_time_period=1 / 30)
    assert limiter.private_chat_limiter("sendMessage", {"chat_id": 42}) is not None
    assert limiter.private_chat_limiter("sendMessage", {"chat_id": "42"}) is not None
    for endpoint, chat_id in [
        ("editMessageText", 42),  # an edit is not a new message
        ("answerCallbackQuery", None),
        ("sendChatAction", 42),
        ("sendMessage", -1001234567890),  # groups: AIORateLimiter's 20 a minute
        ("sendMessage", "@channel"),
    ]:
        assert limiter.private_chat_limiter(endpoint, {"chat_id": chat_id}) is None
    for chat_id in range(1, 2000):  # a crowd that came and went: memory stays bounded
        limiter.private_chat_limiter("sendMessage", {"chat_id": chat_id})
    assert len(limiter._private_chats) <= KEPT_CHAT_LIMITERS + 1
    unpaced = RetryingRateLimiter(private_chat_interval=0)
    assert unpaced.private_chat_limiter("sendMessage", {"chat_id": 42}) is None
