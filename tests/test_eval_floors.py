"""The accuracy floors of the engine on the labelled evaluation set (tests/data/eval.yaml).

Raise them as the engine improves; never lower them to make a change pass.
"""

from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.answering.evaluation import Outcome, evaluate, load_questions
from bot.answering.knowledge import LANGUAGES, load_or_raise

EVAL = Path(__file__).parent / "data" / "eval.yaml"
# Measured 2026-12-01, fifth session: 257/272 (94.5 %), 79/79 (100 %), 98.0 %. Fourth
# session: 257/272 (94.5 %), 77/79 (97.5 %), 344/351 (98.0 %); three questions on Sud Alsace's
# share of the budget are now labelled out of scope (a gap, as the conversation sets label it).
# Third session: 259/275 (94.2 %), 74/76 (97.4 %), 98.0 %.
IN_SCOPE_FLOOR = 0.94
OUT_OF_SCOPE_FLOOR = 0.99
LANGUAGE_FLOOR = 0.98


@pytest.fixture(scope="module")
def report():
    engine = Engine(load_or_raise())

    def ask(question: str) -> Outcome:
        d = engine.decide(question)
        return Outcome(d.status, d.faq_id, d.language)

    return evaluate(load_questions(EVAL), ask)


def test_evaluation_set_is_large_enough(report):
    for lang in LANGUAGES:
        assert report.total[lang] >= 70
        assert report.out_total[lang] >= 15


def test_in_scope_questions_answered_with_the_right_entry(report):
    assert report.accuracy() >= IN_SCOPE_FLOOR


def test_out_of_scope_questions_not_answered(report):
    assert report.out_of_scope_rate() >= OUT_OF_SCOPE_FLOOR


def test_language_detected(report):
    assert report.language_accuracy() >= LANGUAGE_FLOOR


def test_evaluation_questions_are_not_copies_of_faq_variants():
    from bot.answering.text import fold

    variants = {fold(q) for e in load_or_raise() for qs in e.questions.values() for q in qs}
    copies = [q.question for q in load_questions(EVAL) if fold(q.question) in variants]
    assert len(copies) <= 5, copies
