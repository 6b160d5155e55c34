"""Chaos: the real `faqbot run` killed with SIGKILL at random (seeded) points, 25 times, under
bursts of questions, "Ask the team" taps, /ask, staff replies and follow-ups, with the Bot API
double enforcing Telegram's limits; then every item is accounted for (issue 9).

The seed is FAQBOT_CHAOS_SEED (default below); the seed, the kills and the counts are printed,
put in the assertion messages and recorded as the test's user properties (junit XML).

What is owed, and what the documented guarantee allows (bot/store/outbox.py,
handlers/delivery.py): delivery is at least once; a second copy of an outbox item (card,
follow-up copy, staff answer) carries "(sent again after an interruption)"; an answer to a
question may be sent again after a crash (the inbox handles an unfinished update again); a
ticket is filed once per question ("Ask the team" on question N) and once per /ask update; a
staff message is recorded once. So, after the last kill and a quiet end:

* every ticket confirmation a user received: the ticket is in the database, with a card;
* every staff reply to a card: its text reached the user once unmarked (other copies marked);
* every follow-up (a reply to a team answer or to the ticket's confirmation, or to the "already
  with the team" reminder): copied into the staff chat once unmarked (other copies marked);
* the one exception the guarantee implies: a try is counted on disk just before its request
  leaves, so a kill between the two makes the next copy marked although none arrived; an item
  may then reach its chat only marked, but only if a kill came while it was owed (counted as
  `only_copy_marked_after_a_kill`);
* every "Ask the team" tap: exactly one ticket for that question; every /ask: one ticket;
* every question: answered, at most once more per kill that came after it.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.answering.knowledge import load_or_raise
from handlers import texts
from tests.botapi_double import BotApiDouble, Call, make_user
from tests.test_faults import read_db, until
from tests.test_telegram_restart import bot_environment, start_bot, stop

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

FR = "fr"
SEED = int(os.environ.get("FAQBOT_CHAOS_SEED", "20240909"))
KILLS = 25
STAFF_CHAT = -1009990099
SOPHIE = 904
SOPHIE_USER = make_user(SOPHIE, "Sophie", language_code="fr")
USERS = list(range(95_001, 95_021))
KB = load_or_raise()
TITLES = {entry_id: entry.title("fr") for entry_id, entry in KB.entries.items()}
# How many of each the run pushes at most (the staff group takes 20 messages a minute).
BUDGET = {"question": 60, "ask": 5, "tap": 7, "staff_reply": 12, "followup": 6}
MARKERS = tuple(texts.sent_again(lang) for lang in ("fr", "de", "en"))
# A ticket's confirmation: "… sent to the team as ticket #N …", or, when the request was
# handled again after a kill (the ticket was filed, the confirmation not sent yet), "This
# question is already with the team as ticket #N …".
CONFIRMATION = re.compile(
    "|".join(
        re.escape(text(FR, 424242)).replace("424242", r"(\d+)")
        for text in (texts.ticket_created, texts.already_filed)
    )
)
CARD_BUTTON = re.compile(r"'tk:(\d+)'")
ASK_BUTTON = re.compile(r"^ask:(\d+)$")


def marked(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


def text_of(call: Call) -> str:
    return (call.result or {}).get("text") or call.params.get("text") or ""


def buttons(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Run:
    """What the test pushed, and when (`kill`: how many kills had happened before)."""

    api: BotApiDouble
    rng: random.Random
    kills: int = 0
    kill_times: list[float] = field(default_factory=list)
    questions: list[tuple[int, str, int]] = field(default_factory=list)  # user, entry, kill
    asks: list[tuple[int, int]] = field(default_factory=list)  # user, update id
    taps: list[tuple[int, int]] = field(default_factory=list)  # user, question id
    # ticket, time pushed, token
    staff_replies: list[tuple[int, float, str]] = field(default_factory=list)
    # user, time pushed, token
    followups: list[tuple[int, float, str]] = field(default_factory=list)
    asked: dict[int, set[str]] = field(default_factory=dict)

    # What users and staff can see in their chats ----------------------------------------

    def answers_with_button(self) -> list[tuple[int, int, int]]:
        """(user, message id, question id) of every answer with an "Ask the team" button."""
        found = []
        for uid in USERS:
            for call in self.api.sent(uid):
                for data in buttons(call):
                    if match := ASK_BUTTON.match(data):
                        found.append((uid, call.result["message_id"], int(match.group(1))))
        return found

    def confirmations(self) -> list[tuple[int, int, int]]:
        """(user, ticket number, message id) of every ticket confirmation users received."""
        found = []
        for uid in USERS:
            for call in self.api.sent(uid):
                if match := CONFIRMATION.fullmatch(call.params.get("text") or ""):
                    number = next(g for g in match.groups() if g is not None)
                    found.append((uid, int(number), call.result["message_id"]))
        return found

    def cards(self) -> list[tuple[int, int, str]]:
        """(ticket number, message id, text) of every card in the staff chat."""
        found = []
        for call in self.api.sent(STAFF_CHAT):
            if match := CARD_BUTTON.search(str(call.params.get("reply_markup"))):
                found.append((int(match.group(1)), call.result["message_id"], text_of(call)))
        return found

    def team_answers(self) -> list[tuple[int, int]]:
        """(user, message id) of every staff answer users received."""
        return [
            (uid, call.result["message_id"])
            for uid in USERS
            for call in self.api.sent(uid)
            if "Réponse R" in text_of(call)
        ]

    # Actions -----------------------------------------------------------------------------

    def possible(self) -> list[str]:
        used = {
            "question": len(self.questions),
            "ask": len(self.asks),
            "tap": len(self.taps),
            "staff_reply": len(self.staff_replies),
            "followup": len(self.followups),
        }
        kinds = [k for k in BUDGET if used[k] < BUDGET[k]]
        if not self.answers_with_button():
            kinds = [k for k in kinds if k != "tap"]
        if not self.cards():
            kinds = [k for k in kinds if k != "staff_reply"]
        if not (self.confirmations() or self.team_answers()):
            kinds = [k for k in kinds if k != "followup"]
        return kinds

    def act(self) -> str | None:
        kinds = self.possible()
        if not kinds:
            return None
        weights = {"question": 3, "ask": 1, "tap": 2, "staff_reply": 2, "followup": 2}
        kind = self.rng.choices(kinds, [weights[k] for k in kinds])[0]
        getattr(self, kind)()
        return kind

    def question(self) -> None:
        uid = self.rng.choice(USERS)
        left = sorted(set(TITLES) - self.asked.setdefault(uid, set()))
        entry = self.rng.choice(left)
        self.asked[uid].add(entry)
        self.api.push_text(uid, TITLES[entry], user=make_user(uid, f"U{uid}"))
        self.questions.append((uid, entry, self.kills))

    def ask(self) -> None:
        uid = self.rng.choice(USERS)
        n = len(self.asks) + 1
        pushed = self.api.push_command(
            uid,
            "ask",
            f"Où garer un vélo cargo près du site n°{n} ?",
            user=make_user(uid, f"U{uid}"),
        )
        self.asks.append((uid, pushed.update["update_id"]))

    def tap(self) -> None:
        tapped = [qid for _, qid in self.taps]
        choices = self.answers_with_button()
        fresh = [c for c in choices if c[2] not in tapped]
        # Now and then the same button again (a second tap, or a tap Telegram delivers twice).
        uid, message_id, qid = self.rng.choice(
            fresh if fresh and self.rng.random() < 0.8 else choices
        )
        self.api.push_callback(uid, message_id, f"ask:{qid}", user=make_user(uid, f"U{uid}"))
        self.taps.append((uid, qid))

    def staff_reply(self) -> None:
        number, card, _ = self.rng.choice(self.cards())
        token = f"R{len(self.staff_replies) + 1}"
        self.api.push_text(
            STAFF_CHAT,
            f"Réponse {token} pour le ticket {number} : au parking P2.",
            user=SOPHIE_USER,
            chat_type="supergroup",
            reply_to=card,
        )
        self.staff_replies.append((number, time.monotonic(), token))

    def followup(self) -> None:
        targets = [(uid, mid) for uid, _, mid in self.confirmations()] + self.team_answers()
        uid, message_id = self.rng.choice(targets)
        token = f"F{len(self.followups) + 1}"
        self.api.push_text(
            uid,
            f"Précision {token} : et le samedi matin ?",
            user=make_user(uid, f"U{uid}"),
            reply_to=message_id,
        )
        self.followups.append((uid, time.monotonic(), token))


def pending(db_path: Path, table: str) -> int:
    return read_db(db_path, f"SELECT COUNT(*) FROM {table} WHERE status = 'pending'")[0][0]


async def test_25_kills_lose_no_acknowledged_ticket_answer_follow_up_or_tap(
    botapi: BotApiDouble, tmp_path: Path, request: pytest.FixtureRequest
):
    botapi.enforce_limits()
    db_path = tmp_path / "faqbot.sqlite3"
    log_path = tmp_path / "faqbot.log"
    env = bot_environment(botapi.url, db_path)
    env.update(
        STAFF_CHAT_ID=str(STAFF_CHAT),
        STAFF_USER_IDS=str(SOPHIE),
        FAQBOT_MAX_OPEN_TICKETS="100",
        FAQBOT_MAX_TICKETS_PER_HOUR="100",
    )
    run = Run(botapi, random.Random(SEED))
    started = time.monotonic()
    lifetimes = []
    for _ in range(KILLS):
        for _ in range(run.rng.randint(0, 2)):  # sent while the bot is down
            run.act()
        process = await start_bot(botapi, env, log_path)
        up = time.monotonic()
        for _ in range(run.rng.randint(1, 4)):  # a burst once it polls
            run.act()
        await asyncio.sleep(run.rng.uniform(0.05, 1.5))
        process.kill()  # SIGKILL: no cleanup of any kind
        await process.wait()
        lifetimes.append(time.monotonic() - up)
        run.kills += 1
        run.kill_times.append(time.monotonic())
    kills_done_at = time.monotonic() - started

    # The last start: let the bot finish what it owes, quietly.
    process = await start_bot(botapi, env, log_path)
    try:
        for _ in range(40):  # what the budget has left, as long as something is possible
            if run.act() is None:
                break
        await asyncio.sleep(0.5)

        def quiet() -> bool:
            return (
                not botapi.pending_updates
                and pending(db_path, "inbox") == 0
                and pending(db_path, "outbox") == 0
                and not [c for c in botapi.calls if not c.done and c.method != "getUpdates"]
            )

        await until(quiet, 150, "the inbox and the outbox empty", botapi)
        await asyncio.sleep(1.0)  # and still so a second later
        await until(quiet, 30, "the inbox and the outbox empty", botapi)
        quiet_after = time.monotonic() - started
        assert await stop(process, signal.SIGTERM) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # The accounts ------------------------------------------------------------------------
    tickets = {r["id"]: r for r in read_db(db_path, "SELECT * FROM tickets")}
    sources = Counter(r["source"] for r in tickets.values())
    cards = run.cards()
    confirmations = run.confirmations()
    problems: list[str] = []
    duplicate_cards = 0
    sole_marked: list[str] = []

    def delivered(copies: list[Call], pushed_at: float, what: str) -> int:
        """Check the copies of one owed message; how many were sent again. Exactly one copy
        without the marker, the others with it; or, when a kill came while it was owed (the
        count of a try is on disk before its request leaves: the kill may have come before
        the request reached Telegram), one or more copies, all marked."""
        plain = [c for c in copies if not marked(text_of(c))]
        if len(plain) == 1 or (
            copies and not plain and any(pushed_at < k < copies[0].time for k in run.kill_times)
        ):
            if not plain:
                sole_marked.append(what)
            return len(copies) - len(plain)
        tries = [(round(c.time, 2), c.status, c.fault, c.client_gone) for c in copies]
        problems.append(f"{what}: {[text_of(c) for c in copies]} {tries}")
        return 0

    # Every ticket confirmation: the ticket is stored, for that user, with a card (once plain).
    for uid, number in sorted({(u, n) for u, n, _ in confirmations}):
        row = tickets.get(number)
        if row is None or row["user_id"] != uid:
            problems.append(f"confirmed ticket #{number} of {uid} is not in the database")
        if row is not None:
            filed_at = row["created_at"] - (time.time() - time.monotonic())  # monotonic clock
            copies = [
                c
                for c in botapi.sent(STAFF_CHAT)
                if f"'tk:{number}'" in str(c.params.get("reply_markup"))
            ]
            duplicate_cards += delivered(copies, filed_at, f"card of ticket #{number}")
    for number in tickets:
        if not any(n == number for n, _, _ in cards):
            problems.append(f"ticket #{number} has no card")

    # Every staff reply reached the user (see `delivered`).
    duplicate_answers = 0
    for number, pushed_at, token in run.staff_replies:
        user = tickets[number]["chat_id"]
        copies = [c for c in botapi.sent(user) if f"Réponse {token} " in text_of(c)]
        duplicate_answers += delivered(copies, pushed_at, f"staff reply {token} (#{number})")
    staff_rows = read_db(
        db_path,
        "SELECT staff_chat_message_id, COUNT(*) AS n FROM ticket_messages"
        " WHERE direction = 'staff' GROUP BY staff_chat_message_id",
    )
    if len(staff_rows) != len(run.staff_replies) or any(r["n"] != 1 for r in staff_rows):
        problems.append(f"staff answers recorded: {[tuple(r) for r in staff_rows]}")

    # Every follow-up is in the staff chat (see `delivered`).
    duplicate_copies = 0
    for uid, pushed_at, token in run.followups:
        copies = [c for c in botapi.sent(STAFF_CHAT) if f"Précision {token} " in text_of(c)]
        duplicate_copies += delivered(copies, pushed_at, f"follow-up {token} of {uid}")

    # Every tap on "Ask the team": exactly one ticket for that question; every /ask: one.
    for uid, qid in run.taps:
        if sources[f"q:{qid}"] != 1:
            problems.append(f"tap on question {qid} of {uid}: {sources[f'q:{qid}']} tickets")
    for uid, update_id in run.asks:
        if sources[f"u:{update_id}"] != 1:
            problems.append(f"/ask {update_id} of {uid}: {sources[f'u:{update_id}']} tickets")

    # Every question answered; again at most once per kill after it was asked.
    extra_answers = 0
    for uid, entry, kill in run.questions:
        n = sum(text_of(c).startswith(TITLES[entry]) for c in botapi.sent(uid))
        if not 1 <= n <= 1 + KILLS - kill:
            problems.append(f"question {entry} of {uid}: answered {n} times")
        extra_answers += max(0, n - 1)

    figures = {
        "seed": SEED,
        "kills": run.kills,
        "questions": len(run.questions),
        "asks": len(run.asks),
        "taps": len(run.taps),
        "staff_replies": len(run.staff_replies),
        "followups": len(run.followups),
        "tickets": len(tickets),
        "confirmations": len(confirmations),
        "cards": len(cards),
        "cards_sent_again": duplicate_cards,
        "staff_answers_sent_again": duplicate_answers,
        "followup_copies_sent_again": duplicate_copies,
        "question_answers_sent_again": extra_answers,
        "only_copy_marked_after_a_kill": len(sole_marked),
        "delivered_updates_twice": sum(
            n > 1 for n in Counter(botapi.delivered_update_ids()).values()
        ),
        "rejected_429": botapi.rejected_429,
        "mean_lifetime_s": round(sum(lifetimes) / len(lifetimes), 2),
        "kills_done_s": round(kills_done_at, 1),
        "quiet_after_s": round(quiet_after, 1),
    }
    for name, value in figures.items():
        request.node.user_properties.append((name, value))
    summary = ", ".join(f"{k}={v}" for k, v in figures.items())
    print(f"\n[chaos] {summary}")
    assert not problems, f"{summary}\n" + "\n".join(problems)
    # The run proved something: every kind of item was there to lose.
    assert run.kills >= 25 and len(run.staff_replies) >= 5 and len(run.followups) >= 3, summary
    assert len(run.taps) >= 3 and len(run.asks) >= 3 and len(confirmations) >= 5, summary
    assert "Traceback" not in log_path.read_text(encoding="utf-8")
