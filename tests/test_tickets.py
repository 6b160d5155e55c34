"""The ticket desk: limits, routing, transitions, durability, retention, reports, drafts."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

from bot.answering.engine import ANSWER, ESCALATE, SMALLTALK, SUGGEST
from bot.answering.matcher import Candidate
from bot.desk.tickets import (
    ANSWERED,
    CLOSED,
    DAY,
    HOURLY_LIMIT,
    OPEN,
    OPEN_LIMIT,
    AskedQuestion,
    Banned,
    LimitReached,
    Requester,
    TicketDesk,
    TicketError,
    TicketLimits,
    TicketNotFound,
    drafts,
    group_questions,
    unanswered_report,
)
from bot.store.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
ALICE = Requester(101, "Alice Martin", "alice_m")
BOB = Requester(202, "Bob Keller", None)


class Clock:
    """An injectable time.time that tests move by hand."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "faqbot.sqlite3"


@pytest.fixture
def storage(db_path: Path):
    s = Storage(db_path)
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(storage: Storage, clock: Clock) -> TicketDesk:
    return TicketDesk(storage, now=clock)


def ask(desk: TicketDesk, user: Requester = ALICE, question: str = "Quand ouvre KMØ ?"):
    return desk.escalate(user, chat_id=user.id, language="fr", question=question, guesses=[])


def ticket_count(storage: Storage) -> int:
    return storage.query("SELECT COUNT(*) FROM tickets")[0][0]


# Creating tickets -----------------------------------------------------------------------------


def test_escalate_stores_the_question_and_the_engine_guesses(desk: TicketDesk, clock: Clock):
    guesses = [Candidate("kmo-what", 41.26, "Qu'est-ce que KMØ ?", "fr"), ("kmo-who", 38.0)]
    ticket = desk.escalate(ALICE, 555, "fr", "  Quand ouvre KMØ ?  ", guesses)
    assert ticket.id > 0
    assert ticket.status == OPEN and ticket.is_open
    assert (ticket.user_id, ticket.chat_id) == (101, 555)
    assert (ticket.user_name, ticket.username) == ("Alice Martin", "alice_m")
    assert ticket.question == "Quand ouvre KMØ ?"
    assert ticket.guesses == (("kmo-what", 41.3), ("kmo-who", 38.0))
    assert ticket.created_at == clock.t
    assert ticket.first_answer_at is None and ticket.closed_at is None
    assert desk.get(ticket.id) == ticket


def test_escalate_rejects_empty_questions_and_unknown_languages(desk, storage):
    with pytest.raises(ValueError):
        desk.escalate(ALICE, 1, "fr", "   ", [])
    with pytest.raises(ValueError):
        desk.escalate(ALICE, 1, "it", "Quando apre KMØ?", [])
    assert ticket_count(storage) == 0


def test_at_most_three_tickets_wait_for_staff_per_user(desk: TicketDesk, storage: Storage):
    for _ in range(3):
        ask(desk)
    with pytest.raises(LimitReached) as refused:
        ask(desk)
    assert refused.value.kind == OPEN_LIMIT and refused.value.limit == 3
    assert ticket_count(storage) == 3  # nothing written for the refused request
    ask(desk, BOB)  # other users are not affected


def test_answered_and_closed_tickets_do_not_count_as_waiting(desk: TicketDesk):
    tickets = [ask(desk) for _ in range(3)]
    desk.add_staff_answer(tickets[0].id, 9, "Réponse.", 900)
    ask(desk)  # the answered one waits for nobody
    desk.close(tickets[1].id)
    ask(desk)
    with pytest.raises(LimitReached):
        ask(desk)


def test_at_most_five_tickets_per_hour_with_retry_after(storage: Storage, clock: Clock):
    desk = TicketDesk(storage, TicketLimits(max_open_per_user=99, max_per_hour=5), now=clock)
    for _ in range(5):
        ask(desk)
        clock.advance(60)
    with pytest.raises(LimitReached) as refused:
        ask(desk)
    assert refused.value.kind == HOURLY_LIMIT
    # The first ticket was 300 s ago: the window frees up in 3300 s.
    assert refused.value.retry_after == pytest.approx(3300)
    assert ticket_count(storage) == 5
    clock.advance(3300)
    ask(desk)
    with pytest.raises(LimitReached):
        ask(desk)


def test_limits_come_from_the_constructor(storage: Storage, clock: Clock):
    desk = TicketDesk(storage, TicketLimits(max_open_per_user=1, max_per_hour=5), now=clock)
    ask(desk)
    with pytest.raises(LimitReached):
        desk.check_may_escalate(ALICE.id)
    desk.check_may_escalate(BOB.id)


def test_concurrent_escalations_cannot_overshoot_the_limit(db_path: Path, storage: Storage):
    """Each thread has its own connection, as separate processes would."""
    results: list[str] = []

    def escalate() -> None:
        own = Storage(db_path)
        try:
            TicketDesk(own).escalate(ALICE, 1, "fr", "Question ?", [])
            results.append("ok")
        except LimitReached:
            results.append("refused")
        finally:
            own.close()

    threads = [threading.Thread(target=escalate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] * 3 + ["refused"] * 5
    assert ticket_count(storage) == 3


# Bans -----------------------------------------------------------------------------------------


def test_a_banned_user_is_refused_and_nothing_is_written(desk: TicketDesk, storage: Storage):
    first, second = ask(desk), ask(desk)
    desk.add_staff_answer(second.id, 9, "Réponse.", 900)
    closed = desk.ban_user_of(first.id)
    assert closed == [first.id, second.id]
    assert desk.get(first.id).status == CLOSED and desk.get(second.id).status == CLOSED
    assert desk.is_banned(ALICE.id) and not desk.is_banned(BOB.id)
    with pytest.raises(Banned):
        ask(desk)
    with pytest.raises(Banned):
        desk.add_user_followup(first.id, "Et alors ?", 77)
    assert ticket_count(storage) == 2
    assert storage.query("SELECT COUNT(*) FROM ticket_messages WHERE direction = 'user'")[0][0] == 0
    desk.unban_user_of(first.id)
    assert not desk.is_banned(ALICE.id)
    ask(desk)


def test_ban_keeps_the_language_preference_and_can_leave_tickets_open(desk, storage):
    storage.set_language(ALICE.id, "de")
    ticket = ask(desk)
    assert desk.ban_user_of(ticket.id, close_tickets=False) == []
    assert desk.get(ticket.id).status == OPEN
    assert storage.language(ALICE.id) == "de"


def test_forget_does_not_lift_a_ban(desk: TicketDesk, storage: Storage):
    ticket = ask(desk)
    desk.ban_user_of(ticket.id)
    storage.forget_user(ALICE.id)
    assert desk.get(ticket.id) is None
    with pytest.raises(Banned):
        ask(desk)


# Routing replies ------------------------------------------------------------------------------


def test_card_answers_and_copied_followups_in_the_staff_chat_lead_to_the_ticket(desk):
    ticket, other = ask(desk), ask(desk, BOB)
    assert desk.record_staff_message(ticket.id, 1000).staff_message_id == 1000
    desk.record_staff_message(other.id, 1001)
    answer = desk.add_staff_answer(ticket.id, 9, "KMØ a ouvert en 2019.", 1002)
    followup = desk.add_user_followup(ticket.id, "Merci, et le parking ?", 31)
    desk.record_staff_copy(followup.message.id, 1003)
    for staff_message in (1000, 1002, 1003):
        assert desk.ticket_for_staff_message(staff_message).id == ticket.id
    assert desk.ticket_for_staff_message(1001).id == other.id
    assert desk.ticket_for_staff_message(4242) is None
    assert answer.message.staff_chat_message_id == 1002


def test_an_earlier_card_still_leads_to_the_ticket_after_a_repost(desk: TicketDesk):
    ticket = ask(desk)
    desk.record_staff_message(ticket.id, 1000)
    assert desk.record_staff_message(ticket.id, 2000).staff_message_id == 2000
    assert desk.ticket_for_staff_message(1000).id == ticket.id
    assert desk.ticket_for_staff_message(2000).id == ticket.id


def test_a_user_reply_to_a_delivered_answer_leads_to_the_ticket(desk: TicketDesk):
    ticket = desk.escalate(ALICE, 555, "fr", "Quand ouvre KMØ ?", [])
    posted = desk.add_staff_answer(ticket.id, 9, "En 2019.", 1002)
    desk.record_delivery(ticket.id, posted.message.id, 71)
    desk.record_user_notice(ticket.id, 70)  # "sent to the team (#1)"
    assert desk.ticket_for_user_message(555, 71).id == ticket.id
    assert desk.ticket_for_user_message(555, 70).id == ticket.id
    assert desk.ticket_for_user_message(666, 71) is None  # same message id, another chat
    assert desk.ticket_for_user_message(555, 72) is None


def test_delivery_must_name_an_answer_of_that_ticket(desk: TicketDesk):
    ticket, other = ask(desk), ask(desk, BOB)
    answer = desk.add_staff_answer(ticket.id, 9, "En 2019.", 1002)
    followup = desk.add_user_followup(ticket.id, "Et ensuite ?", 31)
    with pytest.raises(TicketError):
        desk.record_delivery(other.id, answer.message.id, 71)
    with pytest.raises(TicketError):
        desk.record_delivery(ticket.id, followup.message.id, 71)
    with pytest.raises(TicketError):
        desk.record_delivery(ticket.id, 9999, 71)


# State transitions ----------------------------------------------------------------------------


def test_lifecycle_open_answered_followup_closed_reopened(desk: TicketDesk, clock: Clock):
    ticket = ask(desk)
    assigned = desk.assign(ticket.id, 9, "Claire (CCI)")
    assert (assigned.assignee_id, assigned.assignee_name) == (9, "Claire (CCI)")

    clock.advance(120)
    answered = desk.add_staff_answer(ticket.id, 9, "En 2019.", 1002).ticket
    assert answered.status == ANSWERED
    assert answered.first_answer_at == ticket.created_at + 120

    clock.advance(60)
    again = desk.add_staff_answer(ticket.id, 9, "Précision : au printemps.", 1004).ticket
    assert again.first_answer_at == ticket.created_at + 120  # set once

    followup = desk.add_user_followup(ticket.id, "Et le parking ?", 31)
    assert followup.ticket.status == OPEN  # back in the staff queue
    assert followup.message.direction == "user" and followup.message.author_id == ALICE.id

    clock.advance(60)
    closed = desk.close(ticket.id)
    assert closed.status == CLOSED and closed.closed_at == clock.t
    clock.advance(60)
    assert desk.close(ticket.id).closed_at == closed.closed_at  # idempotent

    reopened = desk.reopen(ticket.id)
    assert reopened.status == OPEN and reopened.closed_at is None
    assert [m.direction for m in desk.messages(ticket.id)] == ["staff", "staff", "user"]


def test_a_followup_on_a_closed_ticket_reopens_it(desk: TicketDesk):
    ticket = ask(desk)
    desk.close(ticket.id)
    reopened = desk.add_user_followup(ticket.id, "Pardon, encore une question.", 31).ticket
    assert reopened.status == OPEN and reopened.closed_at is None


def test_a_followup_that_needs_no_reader_keeps_the_status(desk: TicketDesk):
    ticket = ask(desk)
    desk.add_staff_answer(ticket.id, 9, "En 2019.", 1002)
    kept = desk.add_user_followup(ticket.id, "Merci !", 31, reopen=False).ticket
    assert kept.status == ANSWERED


def test_a_staff_answer_on_a_closed_ticket_makes_it_answered(desk: TicketDesk):
    ticket = ask(desk)
    desk.close(ticket.id)
    after = desk.add_staff_answer(ticket.id, 9, "Un complément.", 1002).ticket
    assert after.status == ANSWERED and after.closed_at is None


def test_a_failed_delivery_is_flagged_until_one_succeeds(desk: TicketDesk):
    ticket = ask(desk)
    posted = desk.add_staff_answer(ticket.id, 9, "En 2019.", 1002)
    flagged = desk.flag(ticket.id, "Forbidden: bot was blocked by the user " + "x" * 500)
    assert flagged.flagged.startswith("Forbidden") and len(flagged.flagged) == 200
    assert [t.id for t in desk.flagged_tickets()] == [ticket.id]
    assert desk.record_delivery(ticket.id, posted.message.id, 71).flagged is None
    assert desk.flagged_tickets() == []


def test_empty_answers_and_followups_are_refused(desk: TicketDesk):
    ticket = ask(desk)
    with pytest.raises(ValueError):
        desk.add_staff_answer(ticket.id, 9, " ", 1002)
    with pytest.raises(ValueError):
        desk.add_user_followup(ticket.id, "", 31)
    assert desk.messages(ticket.id) == []


def test_unknown_tickets(desk: TicketDesk):
    assert desk.get(404) is None
    for change in (
        lambda: desk.close(404),
        lambda: desk.reopen(404),
        lambda: desk.assign(404, 9, "Claire"),
        lambda: desk.flag(404, "blocked"),
        lambda: desk.add_staff_answer(404, 9, "Réponse", 1),
        lambda: desk.add_user_followup(404, "Hello?", 1),
        lambda: desk.record_staff_message(404, 1),
        lambda: desk.ban_user_of(404),
    ):
        with pytest.raises(TicketNotFound):
            change()


def test_a_user_cannot_see_another_users_ticket(desk: TicketDesk):
    mine, theirs = ask(desk, ALICE), ask(desk, BOB)
    assert desk.for_user(ALICE.id, mine.id) == mine
    assert desk.for_user(ALICE.id, theirs.id) is None
    assert desk.for_user(ALICE.id, 404) is None  # indistinguishable from a missing one


def test_open_tickets_oldest_first(desk: TicketDesk, clock: Clock):
    first = ask(desk, ALICE)
    clock.advance(10)
    second = ask(desk, BOB)
    clock.advance(10)
    third = ask(desk, ALICE)
    desk.add_staff_answer(third.id, 9, "Réponse.", 1)
    assert [t.id for t in desk.open_tickets()] == [first.id, second.id]


def test_unanswered_since_counts_from_the_latest_followup(desk: TicketDesk, clock: Clock):
    old = ask(desk, ALICE)
    clock.advance(3 * 3600)
    fresh = ask(desk, BOB)
    clock.advance(3600)
    assert [t.id for t in desk.unanswered_since(2 * 3600)] == [old.id]
    assert [t.id for t in desk.unanswered_since(1800)] == [old.id, fresh.id]

    desk.add_staff_answer(old.id, 9, "Réponse.", 1)
    desk.add_user_followup(old.id, "Et ensuite ?", 2)  # waits again, from now
    assert desk.unanswered_since(1800) == [desk.get(fresh.id)]
    clock.advance(2 * 3600)
    assert [t.id for t in desk.unanswered_since(1800)] == [fresh.id, old.id]


# Durability -----------------------------------------------------------------------------------


def test_tickets_are_readable_from_a_new_connection(db_path: Path, desk: TicketDesk):
    ticket = ask(desk)
    posted = desk.add_staff_answer(ticket.id, 9, "En 2019.", 1002)
    other = Storage(db_path)
    try:
        reread = TicketDesk(other)
        assert reread.get(ticket.id) == posted.ticket
        assert reread.ticket_for_staff_message(1002).id == ticket.id
    finally:
        other.close()


def test_a_ticket_survives_sigkill_right_after_escalate(db_path: Path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from bot.store.storage import Storage
        from bot.desk.tickets import Requester, TicketDesk
        desk = TicketDesk(Storage({str(db_path)!r}))
        ticket = desk.escalate(Requester(7, "Kill Me"), 7, "de", "Wann öffnet KMØ?", [])
        print(ticket.id, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        ticket_id = int(child.stdout.readline())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    storage = Storage(db_path)
    try:
        ticket = TicketDesk(storage).get(ticket_id)
        assert ticket is not None and ticket.question == "Wann öffnet KMØ?"
    finally:
        storage.close()


# Retention ------------------------------------------------------------------------------------


def test_purge_closed_deletes_old_closed_tickets_and_their_messages(desk, storage, clock):
    old = ask(desk, ALICE)
    desk.add_staff_answer(old.id, 9, "Réponse ancienne.", 1)
    desk.close(old.id)
    still_open = ask(desk, BOB)
    clock.advance(300 * DAY)
    recent = ask(desk, BOB)
    desk.close(recent.id)
    clock.advance(100 * DAY)
    assert desk.purge_closed() == 1
    assert desk.get(old.id) is None
    assert desk.get(still_open.id) is not None and desk.get(recent.id) is not None
    assert storage.query("SELECT COUNT(*) FROM ticket_messages")[0][0] == 0
    assert desk.purge_closed(older_than_days=30) == 1
    assert desk.get(recent.id) is None


# Statistics and reports -----------------------------------------------------------------------


def test_stats_counts_questions_and_tickets_and_the_median_first_answer(desk, storage, clock):
    for lang, status in [("fr", ANSWER), ("fr", ANSWER), ("de", ESCALATE), ("en", SMALLTALK)]:
        storage.log_question(ALICE.id, lang, "q", status, None, 0)
    assert desk.stats().median_first_answer is None
    delays = [60, 600, 120]
    tickets = [ask(desk, Requester(i, f"U{i}")) for i in range(4)]
    for ticket, delay in zip(tickets, delays, strict=False):
        clock.advance(delay)
        desk.add_staff_answer(ticket.id, 9, "Réponse.", None)
        clock.advance(-delay)
    clock.advance(10_000)
    desk.add_staff_answer(tickets[0].id, 9, "Encore.", None)  # not a first answer
    desk.close(tickets[1].id)
    stats = desk.stats()
    assert stats.median_first_answer == 120
    assert stats.questions == {("fr", ANSWER): 2, ("de", ESCALATE): 1, ("en", SMALLTALK): 1}
    assert stats.tickets == {OPEN: 1, ANSWERED: 2, CLOSED: 1}
    assert stats.open_tickets == 1


def test_similar_phrasings_are_grouped(storage: Storage):
    asked = [
        ("fr", ESCALATE, "Quels sont les horaires de KMØ ?"),
        ("fr", ESCALATE, "horaires kmo"),
        ("fr", SUGGEST, "KMO horaires d'ouverture ?"),
        ("fr", ESCALATE, "horaire de kmø"),
        ("fr", ESCALATE, "Horaires KMO"),
        ("en", ESCALATE, "KMØ opening hours?"),
        ("en", ESCALATE, "kmo opening hours"),
        ("fr", ESCALATE, "prix formlab"),
        ("fr", ESCALATE, "Quel est le prix de FORMLAB ?"),
        ("fr", ESCALATE, "Où se garer à KMØ ?"),
        ("fr", ANSWER, "horaires kmo"),  # answered: not in the report
        ("fr", SMALLTALK, "merci"),
    ]
    for lang, status, text in asked:
        storage.log_question(1, lang, text, status, None, 20)
    groups = unanswered_report(storage)
    assert [g.count for g in groups] == [5, 2, 2, 1]
    hours = groups[0]
    assert hours.representative in {text for _, _, text in asked[:5]}
    assert len(hours.variants) == 4
    assert hours.languages == {"fr": 5}
    assert hours.statuses == {ESCALATE: 4, SUGGEST: 1}
    assert {frozenset(g.languages) for g in groups[1:3]} == {frozenset({"en"}), frozenset({"fr"})}
    assert groups[3].representative == "Où se garer à KMØ ?"
    assert len(unanswered_report(storage, limit=2)) == 2


def test_grouping_counts_repeats_and_picks_the_most_frequent_phrasing():
    asked = [AskedQuestion("Parking KMØ ?", "fr", ESCALATE, 1.0)] * 3 + [
        AskedQuestion("parking kmo", "fr", ESCALATE, 5.0),
        AskedQuestion("KMO", "fr", ESCALATE, 2.0),  # one word does not absorb the others
        AskedQuestion("???", "fr", ESCALATE, 3.0),  # nothing to group on: left out
    ]
    groups = group_questions(asked)
    assert [(g.count, g.representative) for g in groups] == [(4, "Parking KMØ ?"), (1, "KMO")]
    assert groups[0].variants == ("parking kmo",) and groups[0].last_asked == 5.0


# Drafts ---------------------------------------------------------------------------------------


def test_drafts_are_yaml_skeletons_of_answered_tickets(desk: TicketDesk, storage: Storage):
    answered = desk.escalate(BOB, 1, "de", "Wie viele Unternehmen sind bei KMØ?", [])
    desk.add_staff_answer(answered.id, 9, "Laut Artikel: rund 30.", 1)
    desk.add_staff_answer(answered.id, 9, "Zweite Zeile:\nmit Zeilenumbruch: ja.", 2)
    desk.close(answered.id)
    ask(desk)  # never answered: no draft
    text = drafts(storage)
    assert text.startswith("#")
    data = yaml.safe_load(text)
    (entry,) = data["entries"]
    assert entry["id"] == f"draft-ticket-{answered.id}"
    assert entry["questions"]["de"] == ["Wie viele Unternehmen sind bei KMØ?"]
    assert entry["questions"]["fr"] == ["TODO"] and entry["questions"]["en"] == ["TODO"]
    assert entry["answer"]["de"] == (
        "Laut Artikel: rund 30.\n\nZweite Zeile:\nmit Zeilenumbruch: ja."
    )
    assert entry["answer"]["fr"] == "TODO" and entry["answer"]["en"] == "TODO"
    assert entry["source"] == f"ticket #{answered.id} (staff answer, to verify against the source)"
    assert set(entry) <= {"id", "questions", "answer", "related", "source"}  # faq/README.md


def test_drafts_without_answered_tickets_still_parse(storage: Storage):
    assert yaml.safe_load(drafts(storage)) == {"entries": []}


# Forgetting -----------------------------------------------------------------------------------


def raw_bytes(db_path: Path) -> bytes:
    """The database file and its WAL, as they are on disk."""
    parts = [db_path, db_path.with_name(db_path.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def test_forget_leaves_no_trace_of_the_users_text_in_the_file(db_path, storage, desk):
    secret = "Zébulon-Confidentiel"
    other = "Gardé-Pour-Bob"
    mine = Requester(ALICE.id, f"{secret}-Name", f"{secret}_handle")
    storage.log_question(mine.id, "fr", f"{secret} question loguée", ESCALATE, None, 0)
    ticket = desk.escalate(mine, 1, "fr", f"{secret} " + "long " * 2000, [("kmo-what", 40)])
    desk.record_staff_message(ticket.id, 1000)
    desk.add_staff_answer(ticket.id, 9, f"Bonjour, à propos de {secret}…", 1001)
    desk.add_user_followup(ticket.id, f"{secret} suite", 31)
    desk.close(ticket.id)
    desk.reopen(ticket.id)  # rewrites the row: an old version must not linger either
    storage.log_question(BOB.id, "fr", f"{other} question", ESCALATE, None, 0)
    desk.escalate(BOB, 2, "fr", f"{other} ticket", [])
    assert secret.encode() in raw_bytes(db_path)  # the check below can see text

    assert storage.forget_user(mine.id) is True

    data = raw_bytes(db_path)
    assert secret.encode() not in data
    assert "Zébulon".encode() not in data
    assert other.encode() in data  # only that user is forgotten
    assert desk.get(ticket.id) is None
    assert desk.ticket_for_staff_message(1001) is None


def test_forget_says_when_a_reader_keeps_the_text_in_the_wal(db_path, storage, desk):
    desk.escalate(ALICE, 1, "fr", "Zébulon-Confidentiel " * 20, [])
    reader = sqlite3.connect(db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM tickets").fetchall()  # an open read holds the WAL
    storage.db.execute("PRAGMA busy_timeout = 100")
    try:
        assert storage.forget_user(ALICE.id) is False
    finally:
        reader.rollback()
        reader.close()
    assert storage.checkpoint() is True
    assert "Zébulon".encode() not in raw_bytes(db_path)
