"""Floors of the conversation on the sets written from the article alone (tests/data/
eval_article*.yaml, eval_limits*.yaml, eval_dialogues*.yaml; tests/data/README_eval_article.md),
every dialogue run as the Telegram chat runs it (`take_turn`, one dialogue state each).

They hold the engine where it is on the whole data; issue 10 asks for in-scope ≥ 96 %,
out-of-scope not answered ≥ 95 %, confidently wrong ≤ 2 %, dialogue turns ≥ 90 %, reply
language ≥ 99 %. Raise them as the engine improves; never lower them to make a change pass.
"""

from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.answering.evaluation import (
    load_conversation_sets,
    run_conversations,
    without_faq_copies,
)
from bot.answering.knowledge import LANGUAGES, load_or_raise

DATA = Path(__file__).parent / "data"
# Per batch of writing (tests/data/README_eval_article.md) and on the whole data, FAQ copies
# left out (`faqbot eval tests/data/`, 2026-12-01, fifth session, at its end); in-scope right,
# out-of-scope not answered, turns right, reply language right, confidently wrong:
# - first batch: 98.6 %, 100 %, 98.0 %, 100 %, 1.1 %. Earlier: 96.6 %, 100 %, 97.1 %, 100 %,
#   1.3 % (fourth session); 91.1 %, 93.3 %, 89.3 %, 100 %, 6.2 % (third); 86.4 %, 88.6 %,
#   85.1 %, 100 %, 8.2 % (second); 78.7 %, 81.0 %, 71.5 %, 100 %, 11.3 % (first).
# - second batch (fourth session; its held-out third released in the fifth): 95.5 %, 99.1 %,
#   90.6 %, 100 %, 2.3 % (fourth session: 90.9 %, 94.4 %, 86.9 %, 100 %, 5.2 %).
# - third batch (fifth session), kept aside unread and measured once at commit 2556698: 84.5 %,
#   95.8 %, 84.0 %, 100 %, 3.9 %; then released: 91.4 %, 97.9 %, 90.6 %, 100 %, 1.1 %.
# - whole data: 96.1 %, 99.2 %, 93.9 %, 100 %, 1.6 %: the levels issue 10 asks for (96 %, 95 %,
#   90 %, 99 %, <= 2 %).
FLOORS = {
    "first batch": {
        "in-scope right": 0.986,
        "out-of-scope not answered": 0.995,
        "turns right": 0.979,
        "reply language right": 0.99,
    },
    "second batch": {
        "in-scope right": 0.954,
        "out-of-scope not answered": 0.99,
        "turns right": 0.906,
        "reply language right": 0.99,
    },
    "first and second batches": {
        "in-scope right": 0.971,
        "out-of-scope not answered": 0.995,
        "turns right": 0.945,
        "reply language right": 0.99,
    },
    "third batch": {
        "in-scope right": 0.913,
        "out-of-scope not answered": 0.979,
        "turns right": 0.906,
        "reply language right": 0.99,
    },
    "whole data": {
        "in-scope right": 0.961,
        "out-of-scope not answered": 0.992,
        "turns right": 0.938,
        "reply language right": 0.99,
    },
}
CONFIDENTLY_WRONG_CEILING = {
    "first batch": 0.012,
    "second batch": 0.024,
    "first and second batches": 0.017,
    "third batch": 0.012,
    "whole data": 0.016,
}
BATCHES = {
    "first batch": {1},
    "second batch": {2},
    "first and second batches": {1, 2},
    "third batch": {3},
    "whole data": {1, 2, 3},
}


@pytest.fixture(scope="module")
def dialogues():
    return without_faq_copies(load_conversation_sets(DATA), load_or_raise())


@pytest.fixture(scope="module")
def reports(dialogues):
    engine = Engine(load_or_raise())
    return {
        part: run_conversations(engine, [d for d in dialogues if d.batch in batches])
        for part, batches in BATCHES.items()
    }


def test_the_sets_are_as_large_as_issue_10_asks(dialogues):
    for lang in LANGUAGES:
        mine = [d for d in dialogues if d.language == lang]
        single = [d.turns[0] for d in mine if len(d.turns) == 1]
        assert sum(t.expect == "answer" for t in single) >= 40
        assert sum(t.expect == "gap" for t in single) >= 15
        assert sum(t.expect == "off-topic" for t in single) >= 15
        assert sum(len(d.turns) > 1 for d in mine) >= 20


@pytest.mark.parametrize(
    ("part", "figure"), [(part, figure) for part in FLOORS for figure in sorted(FLOORS[part])]
)
def test_floor(reports, part, figure):
    assert reports[part].rate(figure) >= FLOORS[part][figure], reports[part].rate(figure)


@pytest.mark.parametrize("part", sorted(CONFIDENTLY_WRONG_CEILING))
def test_confidently_wrong_answers_stay_rare(reports, part):
    assert reports[part].rate("confidently wrong") <= CONFIDENTLY_WRONG_CEILING[part]


def test_every_batch_is_read(dialogues):
    # each batch's held-out part was measured once and released (was_holdout)
    assert {d.batch for d in dialogues} == {1, 2, 3}
    assert load_conversation_sets(DATA / "kept_aside") == []


def test_two_short_answers_shown_together_count_for_either_half():
    from bot.answering.evaluation import Dialogue, Turn, evaluate_conversations

    asked = Turn("what is the Campus and who is in it?", "en", "answer", "campus-members")
    report = evaluate_conversations(
        [Dialogue("en", (asked,))],
        lambda number, question, language: ("answer", "campus-what", "en", "campus-members"),
    )
    assert report.rate("in-scope right") == 1.0 and report.rate("confidently wrong") == 0.0
    # offered as a button only, the other half's answer was not shown
    report = evaluate_conversations(
        [Dialogue("en", (asked,))],
        lambda number, question, language: ("answer", "campus-what", "en", None),
    )
    assert report.rate("in-scope right") == 0.0 and report.rate("confidently wrong") == 1.0


def test_faq_variants_do_not_copy_more_questions_of_the_sets():
    # The figures leave out single questions equal to an FAQ variant (a copy measures
    # nothing). 26 are copies (24 in the first two batches, 2 in the third), short "what is
    # X?" that the FAQ had before the sets were written; a variant added since must not copy
    # one more.
    from bot.answering.text import fold

    variants = {fold(q) for e in load_or_raise() for qs in e.questions.values() for q in qs}
    everything = load_conversation_sets(DATA)
    single = [d.turns[0].question for d in everything if len(d.turns) == 1]
    assert len([q for q in single if fold(q) in variants]) <= 26
