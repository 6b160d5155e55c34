"""Measure the engine on a labelled question set: the floors of the tests, `faqbot eval`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.answering.conversation import take_turn
from bot.answering.dialogue import DialogueState
from bot.answering.knowledge import LANGUAGES
from bot.answering.text import fold


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    language: str
    expect: str | None  # None: out of scope, must not be answered


@dataclass(frozen=True)
class Outcome:
    """What a system did with one question: status, entry answered, language detected."""

    status: str
    faq_id: str | None
    language: str


@dataclass
class EvalReport:
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, 0))
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, 0))
    out_total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, 0))
    out_right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, 0))
    language_right: int = 0
    mistakes: list[tuple[LabelledQuestion, Outcome]] = field(default_factory=list)

    @staticmethod
    def _rate(num: int, den: int) -> float:
        return num / den if den else 1.0

    def accuracy(self, language: str | None = None) -> float:
        langs = [language] if language else LANGUAGES
        return self._rate(sum(self.right[x] for x in langs), sum(self.total[x] for x in langs))

    def out_of_scope_rate(self, language: str | None = None) -> float:
        langs = [language] if language else LANGUAGES
        return self._rate(
            sum(self.out_right[x] for x in langs), sum(self.out_total[x] for x in langs)
        )

    @property
    def count(self) -> int:
        return sum(self.total.values()) + sum(self.out_total.values())

    def language_accuracy(self) -> float:
        return self._rate(self.language_right, self.count)


def load_questions(path: str | Path) -> list[LabelledQuestion]:
    """Read `[{q, lang, expect}]` from YAML; raise ValueError naming the bad item."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of {{q, lang, expect}} items")
    items = []
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise ValueError(f"{path}: item {i} has no question 'q'")
        if item.get("lang") not in LANGUAGES:
            raise ValueError(f"{path}: item {i} has no language 'lang' (fr, de or en)")
        items.append(LabelledQuestion(item["q"], item["lang"], item.get("expect")))
    return items


def evaluate(items: list[LabelledQuestion], ask: Callable[[str], Outcome]) -> EvalReport:
    """Run every question through `ask` and count what it got right."""
    report = EvalReport()
    for item in items:
        outcome = ask(item.question)
        report.language_right += outcome.language == item.language
        if item.expect is None:
            report.out_total[item.language] += 1
            ok = outcome.status != "answer"
            report.out_right[item.language] += ok
        else:
            report.total[item.language] += 1
            ok = outcome.status == "answer" and outcome.faq_id == item.expect
            report.right[item.language] += ok
        if not ok:
            report.mistakes.append((item, outcome))
    return report


def format_report(report: EvalReport) -> str:
    lines = ["language  in-scope right   out-of-scope not answered"]
    for lang in LANGUAGES:
        lines.append(
            f"{lang:<9} {report.right[lang]:>3}/{report.total[lang]:<3}"
            f" {report.accuracy(lang):6.1%}"
            f"   {report.out_right[lang]:>3}/{report.out_total[lang]:<3}"
            f" {report.out_of_scope_rate(lang):6.1%}"
        )
    lines.append(
        f"{'all':<9} {sum(report.right.values()):>3}/{sum(report.total.values()):<3}"
        f" {report.accuracy():6.1%}   {sum(report.out_right.values()):>3}/"
        f"{sum(report.out_total.values()):<3} {report.out_of_scope_rate():6.1%}"
    )
    lines.append(f"language detected right: {report.language_accuracy():.1%} of {report.count}")
    if report.mistakes:
        lines.append("")
        lines.append("wrong:")
        for item, outcome in report.mistakes:
            got = outcome.faq_id if outcome.status == "answer" else outcome.status
            lines.append(
                f"  [{item.language}] {item.question!r}: expected {item.expect}, got {got}"
            )
    return "\n".join(lines)


# The conversation sets (tests/data/eval_article.yaml, eval_limits.yaml, eval_dialogues.yaml):
# written from the article alone, labelled with FAQ ids afterwards; a third kept aside
# (`holdout: true`) until the engine is done, and reported on its own.

ANSWER_OUTCOME = "answer"
OUTCOMES = ("answer", "gap", "off-topic", "smalltalk", "clarify")


@dataclass(frozen=True)
class Turn:
    """One user message and what should happen: `expect` an outcome, `faq_id` the entry it
    answers with (answer) or offers (gap)."""

    question: str
    language: str
    expect: str
    faq_id: str | None


@dataclass(frozen=True)
class Dialogue:
    language: str
    turns: tuple[Turn, ...]
    holdout: bool = False
    batch: int = 1  # which writing it comes from: eval_article.yaml 1, eval_article_2.yaml 2


def batch_of(path: Path) -> int:
    """The batch a set's file holds, from its name's suffix ("_2": the second)."""
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def _yaml_list(path: str | Path) -> list[dict]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise ValueError(f"{path}: expected a list of mappings")
    return data


def load_conversation_sets(folder: str | Path) -> list[Dialogue]:
    """Every item of the three sets in `folder` (`eval_article*.yaml`, `eval_limits*.yaml`,
    `eval_dialogues*.yaml`: one file per batch written), as dialogues (a single question is a
    dialogue of one turn): in-scope questions expect their entry, gaps a gap on their
    subject's entry, off-topic questions off-topic."""
    folder = Path(folder)
    dialogues: list[Dialogue] = []
    for path in sorted(folder.glob("eval_article*.yaml")):
        for item in _yaml_list(path):
            turn = Turn(item["q"], item["lang"], ANSWER_OUTCOME, item.get("expect"))
            dialogues.append(
                Dialogue(item["lang"], (turn,), bool(item.get("holdout")), batch_of(path))
            )
    for path in sorted(folder.glob("eval_limits*.yaml")):
        for item in _yaml_list(path):
            turn = Turn(item["q"], item["lang"], item["kind"], item.get("subject_id"))
            dialogues.append(
                Dialogue(item["lang"], (turn,), bool(item.get("holdout")), batch_of(path))
            )
    for path in sorted(folder.glob("eval_dialogues*.yaml")):
        for item in _yaml_list(path):
            turns = tuple(
                Turn(t["q"], item["lang"], t["expect"], t.get("id") or t.get("subject_id"))
                for t in item["turns"]
            )
            dialogues.append(
                Dialogue(item["lang"], turns, bool(item.get("holdout")), batch_of(path))
            )
    for d in dialogues:
        for t in d.turns:
            if t.language not in LANGUAGES or t.expect not in OUTCOMES:
                raise ValueError(f"{folder}: bad item {t.question!r} ({t.language}, {t.expect})")
    return dialogues


@dataclass
class ConversationReport:
    """Per language: in-scope right, out-of-scope (gap, off-topic) not answered, answered
    with a wrong entry (confidently wrong), dialogue turns right, reply language right."""

    counts: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: {lang: {} for lang in LANGUAGES}
    )
    mistakes: list[tuple[Turn, str, str | None, str]] = field(default_factory=list)

    def add(self, language: str, figure: str, ok: bool) -> None:
        right, total = self.counts[language].setdefault(figure, [0, 0])
        self.counts[language][figure] = [right + ok, total + 1]

    def rate(self, figure: str, language: str | None = None) -> float:
        langs = [language] if language else LANGUAGES
        right = sum(self.counts[x].get(figure, [0, 0])[0] for x in langs)
        total = sum(self.counts[x].get(figure, [0, 0])[1] for x in langs)
        return right / total if total else 1.0

    def total(self, figure: str, language: str | None = None) -> int:
        langs = [language] if language else LANGUAGES
        return sum(self.counts[x].get(figure, [0, 0])[1] for x in langs)


FIGURES = (
    "in-scope right",
    "out-of-scope not answered",
    "confidently wrong",
    "turns right",
    "reply language right",
)


def evaluate_conversations(
    dialogues: list[Dialogue],
    take: Callable[[int, str, str], tuple[str, str | None, str, str | None]],
) -> ConversationReport:
    """Run each dialogue through `take(dialogue number, question, user's language)` ->
    (status, faq_id, reply language, the other entry whose answer was shown with it, for two
    questions in one with short answers, else None); count per language. A single question's
    turn counts for "in-scope right" or "out-of-scope not answered"; every turn for "turns
    right" and "reply language right"; any answer with an entry other than the expected one
    (or any answer where none is expected) for "confidently wrong"."""
    report = ConversationReport()
    for number, dialogue in enumerate(dialogues):
        single = len(dialogue.turns) == 1
        for turn in dialogue.turns:
            status, faq_id, language, shown_too = take(number, turn.question, dialogue.language)
            answered = status == ANSWER_OUTCOME
            # "what is the Campus and who is in it?": both answers are shown, either was asked
            if answered and shown_too is not None and turn.faq_id == shown_too:
                faq_id = shown_too
            if turn.expect == ANSWER_OUTCOME:
                ok = answered and faq_id == turn.faq_id
                if single:
                    report.add(turn.language, "in-scope right", ok)
            else:
                ok = status == turn.expect
                if single:
                    report.add(turn.language, "out-of-scope not answered", not answered)
            wrong = answered and faq_id != (turn.faq_id if turn.expect == ANSWER_OUTCOME else None)
            report.add(turn.language, "confidently wrong", wrong)
            report.add(turn.language, "turns right", ok)
            report.add(turn.language, "reply language right", language == turn.language)
            if not ok:
                report.mistakes.append((turn, status, faq_id, language))
    return report


def format_conversation_report(report: ConversationReport, title: str) -> str:
    lines = [
        title,
        "figure                        " + "".join(f"{x:>8}" for x in LANGUAGES) + "     all",
    ]

    def cell(figure: str, language: str | None) -> str:
        # no item: no rate (a rate of nothing would read 100 % confidently wrong)
        if not report.total(figure, language):
            return f"{'-':>8}"
        return f"{report.rate(figure, language):8.1%}"

    for figure in FIGURES:
        cells = "".join(cell(figure, x) for x in LANGUAGES)
        lines.append(f"{figure:<30}{cells}{cell(figure, None)}  ({report.total(figure)})")
    return "\n".join(lines)


def run_conversations(engine, dialogues: list[Dialogue], *, start: float = 1_000_000.0):
    """`evaluate_conversations` with the engine as the Telegram chat uses it (`take_turn`): one
    dialogue state per dialogue, turns a few seconds apart, the dialogue's language as the
    user's own."""
    states: dict[int, DialogueState] = {}
    clock = [start]

    def take(number: int, question: str, language: str) -> tuple[str, str | None, str, str | None]:
        clock[0] += 5.0
        turn = take_turn(engine, question, states.get(number, DialogueState()), language, clock[0])
        states[number] = turn.state
        decision = turn.decision
        shown_too = decision.also if decision.both else None
        return decision.status, decision.faq_id, decision.language, shown_too

    return evaluate_conversations(dialogues, take)


def without_faq_copies(dialogues: list[Dialogue], kb) -> list[Dialogue]:
    """The sets minus single questions that happen to be one of the FAQ's own variants (a
    copy measures nothing: the engine answers its own variants by construction). Dialogue
    turns stay: there the context is what is measured."""
    variants = {fold(q) for e in kb for qs in e.questions.values() for q in qs}
    return [d for d in dialogues if len(d.turns) > 1 or fold(d.turns[0].question) not in variants]
