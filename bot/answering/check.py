"""`faqbot check`: everything staff need to know before an edited FAQ goes live."""

from __future__ import annotations

from pathlib import Path

from bot.answering.engine import ANSWER, Engine, Thresholds
from bot.answering.house_style import answer_findings
from bot.answering.knowledge import (
    LANGUAGES,
    KnowledgeBase,
    LoadResult,
    Problem,
    load_knowledge_base,
)


def check_knowledge_base(path: str | Path, thresholds: Thresholds | None = None) -> LoadResult:
    """Load the FAQ and add house-style warnings and ambiguity problems (variants the engine
    gives to another entry)."""
    return checked_engine(path, thresholds)[0]


def checked_engine(
    path: str | Path, thresholds: Thresholds | None = None
) -> tuple[LoadResult, Engine | None]:
    """`check_knowledge_base`, and the engine on that FAQ when the check found no error (what
    a reload serves: the very FAQ that was checked, read once)."""
    result = load_knowledge_base(path)
    kb = result.knowledge_base
    if kb is not None:
        result.problems.extend(house_style_problems(kb))
    if kb is None or result.errors:
        return result, None
    engine = Engine(kb, thresholds or Thresholds())
    for entry in kb:
        for lang in LANGUAGES:
            for variant in entry.questions[lang]:
                decision = engine.decide(variant, language=lang)
                if decision.status == ANSWER and decision.faq_id != entry.id:
                    message = (
                        f"entry '{entry.id}': the {lang} question {variant!r} is answered "
                        f"with entry '{decision.faq_id}'; reword one of them"
                    )
                    result.problems.append(Problem("error", entry.file, entry.line, message))
                elif decision.status != ANSWER:
                    others = [c.faq_id for c in decision.candidates[:3] if c.faq_id != entry.id]
                    message = (
                        f"entry '{entry.id}': the {lang} question {variant!r} is not answered "
                        f"with confidence ({decision.status}; close to {', '.join(others)})"
                    )
                    result.problems.append(Problem("warning", entry.file, entry.line, message))
    for entry_id, by_language in kb.gaps.items():
        entry = kb.entries[entry_id]
        for lang, questions in by_language.items():
            for question in questions:
                decision = engine.decide(question, language=lang)
                if decision.status == ANSWER:
                    message = (
                        f"gaps: the {lang} question {question!r} of '{entry_id}' is answered "
                        f"with entry '{decision.faq_id}'; reword one of them"
                    )
                    result.problems.append(Problem("error", entry.file, entry.line, message))
                elif engine.holds_only_its_entry_s_words(entry_id, question):
                    message = (
                        f"gaps: the {lang} question {question!r} of '{entry_id}' holds only words "
                        f"of the entry's own questions (what tells it apart is a stop word): it "
                        f"would take plain questions about the entry; say what it asks"
                    )
                    result.problems.append(Problem("warning", entry.file, entry.line, message))
    return result, (None if result.errors else engine)


def house_style_problems(kb: KnowledgeBase) -> list[Problem]:
    """The house rules of `house_style`, as warnings on the answer's own file line."""
    problems = []
    for entry in kb:
        for lang in LANGUAGES:
            for finding in answer_findings(lang, entry.answers[lang], entry.as_of):
                problems.append(
                    Problem(
                        "warning",
                        entry.file,
                        entry.answer_line(lang, finding.offset),
                        f"entry '{entry.id}': {lang} answer: {finding.message}",
                    )
                )
    return problems
