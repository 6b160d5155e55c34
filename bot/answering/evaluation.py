"""Measure the engine on a labelled question set: the floors of the tests, `faqbot eval`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.answering.knowledge import LANGUAGES


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
