"""Benchmark the answer engine against a naive rapidfuzz baseline, measured in the same run.

    .venv/bin/python benchmarks/matcher.py            # report, exit code 0
    .venv/bin/python benchmarks/matcher.py --check    # exit code 1 if a target is missed
    .venv/bin/python benchmarks/matcher.py --profile  # also cProfile the 10,000-entry run

Two knowledge bases: the bundled FAQ (`faq/`) and a synthetic one of 10,000 entries made
from it in memory. Two systems: `Engine.decide` and `rapidfuzz.process.extractOne` with
`fuzz.WRatio` over every question variant, without normalisation. Questions come from
`tests/data/eval.yaml`. See benchmarks/README.md for what each figure means.
"""

# ruff: noqa: E402  (imports follow the sys.path set-up below)

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import math
import os
import platform
import pstats
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Measure this checkout's `bot`, whatever the environment has installed.
sys.path.insert(0, str(ROOT))

import rapidfuzz
from rapidfuzz import fuzz, process

from bot.answering.dialogue import DialogueState
from bot.answering.engine import Engine, settle
from bot.answering.evaluation import EvalReport, LabelledQuestion, Outcome, evaluate, load_questions
from bot.answering.knowledge import LANGUAGES, Entry, KnowledgeBase, Topic, load_or_raise
from bot.answering.text import words

EVAL_FILE = ROOT / "tests" / "data" / "eval.yaml"
SYNTHETIC_ENTRIES = 10_000
SEED = 20_240_501

# Targets (seconds). Latency targets apply to the engine's cold p99 (see `time_engine`).
TARGET_P99_BUNDLED = 0.002
TARGET_P99_SYNTHETIC = 0.030
TARGET_BUILD_SYNTHETIC = 3.0

# Rounds of timed questions, after untimed warm-up questions. The synthetic knowledge base
# gets fewer rounds and every SYNTHETIC_STRIDE-th question only, to stay within ~3 minutes:
# the baseline spends about 0.6 s per question there.
BUNDLED_ROUNDS = 5
BUNDLED_BUILDS = 5
SYNTHETIC_ROUNDS = 2
SYNTHETIC_STRIDE = 5
WARM_UP = 5


# --------------------------------------------------------------------------- knowledge bases


def synthetic_knowledge_base(base: KnowledgeBase, size: int, seed: int = SEED) -> KnowledgeBase:
    """`size` entries made from `base`: entry k is a copy of base entry k % len(base).

    Every copy gets a unique id and a made-up word of its own ("tififo", "kezuvapo") inserted
    at a random place of each of its question variants; each variant then loses one word or
    has two neighbouring words swapped. The vocabulary grows by one rare word per entry and
    the postings of the real words grow with the number of copies, as in a larger FAQ.
    """
    rng = random.Random(seed)
    originals = list(base)
    taken = {w for e in originals for qs in e.questions.values() for q in qs for w in words(q)}
    consonants, vowels = "bdfgklmnprstvz", "aeiou"

    def made_up_word() -> str:
        while True:
            word = "".join(
                rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(3, 4))
            )
            if word not in taken:
                taken.add(word)
                return word

    def alter(question: str, word: str) -> str:
        ws = question.split()
        ws.insert(rng.randint(0, len(ws)), word)
        if len(ws) > 3:
            if rng.random() < 0.5:
                i = rng.randrange(len(ws) - 1)
                ws[i], ws[i + 1] = ws[i + 1], ws[i]
            else:
                del ws[rng.choice([i for i, w in enumerate(ws) if w != word])]
        return " ".join(ws)

    entries: dict[str, Entry] = {}
    by_topic: dict[str, list[str]] = {t.id: [] for t in base.topics}
    for k in range(size):
        original = originals[k % len(originals)]
        word = made_up_word()
        questions = {
            lang: tuple(dict.fromkeys(alter(q, word) for q in original.questions[lang]))
            for lang in LANGUAGES
        }
        entry = Entry(
            id=f"{original.id}-s{k}",
            topic=original.topic,
            questions=questions,
            answers=original.answers,
            related=(),
            source=original.source,
        )
        entries[entry.id] = entry
        by_topic.setdefault(entry.topic, []).append(entry.id)
    topics = tuple(
        Topic(t.id, t.names, t.order, tuple(by_topic.get(t.id, ()))) for t in base.topics
    )
    return KnowledgeBase(topics, entries)


# --------------------------------------------------------------------------- the baseline


@dataclass
class Baseline:
    """Every question variant of every language, matched with WRatio and nothing else."""

    texts: list[str]
    entry: list[str]
    language: list[str]

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Baseline:
        rows = [(q, e.id, lang) for e in kb for lang in LANGUAGES for q in e.questions[lang]]
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def best(self, question: str) -> tuple[float, int]:
        _, score, i = process.extractOne(question, self.texts, scorer=fuzz.WRatio, processor=None)
        return score, i


# --------------------------------------------------------------------------- measuring


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100) of a non-empty list."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


@dataclass
class Latency:
    samples: list[float]
    questions: int
    rounds: int

    @property
    def p50(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)

    @property
    def how(self) -> str:
        rounds = f"{self.rounds} round{'s' if self.rounds > 1 else ''}"
        return f"{len(self.samples)} timings = {self.questions} questions x {rounds}"


def time_questions(
    ask: Callable[[str], object],
    questions: list[str],
    rounds: int,
    before_each: Callable[[], None] | None = None,
    warm_up: int | None = None,
) -> Latency:
    """Untimed warm-up questions (`warm_up` of them; all by default), then `rounds` timed
    rounds of every question. `before_each` runs before each timed question, untimed.
    """
    for q in questions[:warm_up]:
        ask(q)
    samples: list[float] = []
    for _ in range(rounds):
        gc.collect()
        for q in questions:
            if before_each:
                before_each()
            start = time.perf_counter()
            ask(q)
            samples.append(time.perf_counter() - start)
    return Latency(samples, len(questions), rounds)


def time_engine(engine: Engine, questions: list[str], rounds: int) -> tuple[Latency, Latency]:
    """(cold, warm) latencies of `Engine.decide`.

    cold: the engine's word-lookup cache (`MatchIndex.neighbours`) is emptied before every
    question, as for a question whose words the bot has never met: the latency targets
    apply to it. warm: the cache is kept, as when the same questions come back.
    """
    clear = engine.index.clear_cache
    cold = time_questions(engine.decide, questions, rounds, clear, warm_up=WARM_UP)
    warm = time_questions(engine.decide, questions, rounds)
    return cold, warm


def time_engine_in_dialogue(engine: Engine, questions: list[str], rounds: int) -> Latency:
    """Cold latency of `Engine.decide` in a conversation: each question asked right after an
    answer (a fresh dialogue state naming the FAQ's first entry), so that short questions take
    the follow-up path (the subject's topic matched as well): the latency targets apply too."""
    first = next(iter(engine.kb))
    state = DialogueState("fr", (first.id,), first.topic, "answer", time.time())

    def decide(question: str) -> object:
        return engine.decide(question, state=state)

    return time_questions(decide, questions, rounds, engine.index.clear_cache, warm_up=WARM_UP)


def timed(make: Callable[[], object]) -> tuple[object, float]:
    gc.collect()
    start = time.perf_counter()
    made = make()
    return made, time.perf_counter() - start


def median_build(make: Callable[[], object], repeats: int) -> tuple[object, float]:
    runs = [timed(make) for _ in range(repeats)]
    return runs[-1][0], percentile([t for _, t in runs], 50)


# --------------------------------------------------------------------------- accuracy


def balanced(report: EvalReport) -> float:
    """Mean of in-scope accuracy and out-of-scope rate: what the baseline cut-off maximises."""
    return (report.accuracy() + report.out_of_scope_rate()) / 2.0


def engine_accuracy(engine: Engine, items: list[LabelledQuestion]) -> EvalReport:
    def ask(question: str) -> Outcome:
        d = engine.decide(question)
        return Outcome(d.status, d.faq_id, d.language)

    return evaluate(items, ask)


def baseline_accuracy(
    baseline: Baseline, items: list[LabelledQuestion]
) -> tuple[EvalReport, float, EvalReport]:
    """The baseline's report at the WRatio cut-off that maximises `balanced` on `items`, that
    cut-off, and its report when it always answers (cut-off 0: its best top-1 accuracy)."""
    best = {item.question: baseline.best(item.question) for item in items}

    def report_at(cutoff: float) -> EvalReport:
        def ask(question: str) -> Outcome:
            score, i = best[question]
            if score >= cutoff:
                return Outcome("answer", baseline.entry[i], baseline.language[i])
            return Outcome("escalate", None, baseline.language[i])

        return evaluate(items, ask)

    # Answering means score >= cut-off, so the optimum is one of the scores seen (or above
    # them all: never answer). Ties go to the lowest cut-off.
    cutoffs = sorted({score for score, _ in best.values()} | {101.0})
    reports = [(report_at(c), c) for c in cutoffs]
    top = max(balanced(r) for r, _ in reports)
    report, cutoff = next((r, c) for r, c in reports if balanced(r) == top)
    return report, cutoff, report_at(0.0)


# --------------------------------------------------------------------------- report


def duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.{2 if seconds < 0.01 else 1}f} ms"
    return f"{seconds:.2f} s"


def machine_info() -> list[str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    commit = "?"
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "bot"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if dirty:
            commit += " + uncommitted changes in bot/"
    except (OSError, subprocess.CalledProcessError):
        pass
    now = datetime.datetime.now().astimezone()
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"
    except OSError:
        load = "load average unknown"
    return [
        f"date:    {now:%Y-%m-%d %H:%M %Z}",
        f"machine: {platform.system()} {platform.machine()}, nproc {nproc}, {cpu}",
        f"load:    {load} at start (other processes skew latencies)",
        f"python:  {platform.python_version()} ({platform.python_implementation()}), "
        f"rapidfuzz {rapidfuzz.__version__}",
        f"code:    commit {commit}",
    ]


def profile_synthetic(kb: KnowledgeBase, questions: list[str]) -> str:
    """cProfile summaries of building the engine and of cold questions, as text."""
    out = io.StringIO()
    profiler = cProfile.Profile()
    profiler.enable()
    engine = Engine(kb)
    profiler.disable()
    out.write("== cProfile: Engine(kb) at 10,000 entries, by cumulative time ==\n")
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    profiler = cProfile.Profile()
    clear = engine.index.clear_cache
    for q in questions:
        clear()
        profiler.enable()
        engine.decide(q)
        profiler.disable()
    out.write(f"== cProfile: {len(questions)} cold Engine.decide calls, by internal time ==\n")
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if any target is missed")
    parser.add_argument(
        "--profile", action="store_true", help="append cProfile summaries of the 10,000 run"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    info = machine_info()

    items = load_questions(EVAL_FILE)
    questions = [item.question for item in items]
    subset = questions[::SYNTHETIC_STRIDE]
    kb = load_or_raise()

    # Bundled FAQ.
    engine, engine_build = median_build(lambda: Engine(kb), BUNDLED_BUILDS)
    baseline, baseline_build = median_build(lambda: Baseline.build(kb), BUNDLED_BUILDS)
    # As `faqbot run` does with the engine it serves (`engine.settle`), for both systems.
    settle(engine)
    engine_cold, engine_warm = time_engine(engine, questions, BUNDLED_ROUNDS)
    engine_dialogue = time_engine_in_dialogue(engine, questions, BUNDLED_ROUNDS)
    base_lat = time_questions(baseline.best, questions, BUNDLED_ROUNDS, warm_up=WARM_UP)
    engine_report = engine_accuracy(engine, items)
    base_report, cutoff, base_always = baseline_accuracy(baseline, items)

    # Synthetic knowledge base.
    big, _ = timed(lambda: synthetic_knowledge_base(kb, SYNTHETIC_ENTRIES))
    big_engine, big_engine_build = timed(lambda: Engine(big))
    big_baseline, big_baseline_build = timed(lambda: Baseline.build(big))
    settle(big_engine)
    big_cold, big_warm = time_engine(big_engine, subset, SYNTHETIC_ROUNDS)
    big_dialogue = time_engine_in_dialogue(big_engine, subset, SYNTHETIC_ROUNDS)
    big_base_lat = time_questions(big_baseline.best, subset, 1, warm_up=WARM_UP)
    big_variants = len(big_baseline.texts)
    del big_engine, big_baseline

    rows: list[tuple[str, str, str, str, str, str]] = []
    misses: list[str] = []

    def row(figure, kb_name, ours, theirs, target="", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        if ok is False:
            misses.append(f"{figure} ({kb_name})")
        rows.append((figure, kb_name, ours, theirs, target, verdict))

    n_big = f"{SYNTHETIC_ENTRIES:,}"
    row("index build", "bundled", duration(engine_build), duration(baseline_build))
    row("latency p50, cold", "bundled", duration(engine_cold.p50), duration(base_lat.p50))
    row(
        "latency p99, cold",
        "bundled",
        duration(engine_cold.p99),
        duration(base_lat.p99),
        f"<= {duration(TARGET_P99_BUNDLED)}",
        engine_cold.p99 <= TARGET_P99_BUNDLED,
    )
    row(
        "latency p99, cold, in a conversation (dialogue state)",
        "bundled",
        duration(engine_dialogue.p99),
        duration(base_lat.p99),
        f"<= {duration(TARGET_P99_BUNDLED)}",
        engine_dialogue.p99 <= TARGET_P99_BUNDLED,
    )
    row("latency p50, warm", "bundled", duration(engine_warm.p50), "(no cache)")
    row("latency p99, warm", "bundled", duration(engine_warm.p99), "(no cache)")
    row(
        "index build",
        n_big,
        duration(big_engine_build),
        duration(big_baseline_build),
        f"<= {duration(TARGET_BUILD_SYNTHETIC)}",
        big_engine_build <= TARGET_BUILD_SYNTHETIC,
    )
    row("latency p50, cold", n_big, duration(big_cold.p50), duration(big_base_lat.p50))
    row(
        "latency p99, cold",
        n_big,
        duration(big_cold.p99),
        duration(big_base_lat.p99),
        f"<= {duration(TARGET_P99_SYNTHETIC)}",
        big_cold.p99 <= TARGET_P99_SYNTHETIC,
    )
    row(
        "latency p99, cold, in a conversation (dialogue state)",
        n_big,
        duration(big_dialogue.p99),
        duration(big_base_lat.p99),
        f"<= {duration(TARGET_P99_SYNTHETIC)}",
        big_dialogue.p99 <= TARGET_P99_SYNTHETIC,
    )
    row("latency p50, warm", n_big, duration(big_warm.p50), "(no cache)")
    row("latency p99, warm", n_big, duration(big_warm.p99), "(no cache)")
    in_n, out_n = sum(engine_report.total.values()), sum(engine_report.out_total.values())
    row(
        f"in-scope answered right (/{in_n})",
        "bundled",
        f"{engine_report.accuracy():.1%}",
        f"{base_report.accuracy():.1%}",
    )
    row(
        f"out-of-scope not answered (/{out_n})",
        "bundled",
        f"{engine_report.out_of_scope_rate():.1%}",
        f"{base_report.out_of_scope_rate():.1%}",
    )
    row(
        "accuracy, mean of the two",
        "bundled",
        f"{balanced(engine_report):.1%}",
        f"{balanced(base_report):.1%}",
        "> baseline",
        balanced(engine_report) > balanced(base_report),
    )

    header = ("figure", "KB", "engine", "baseline", "target", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = [
        "faqbot matcher benchmark: Engine.decide vs rapidfuzz extractOne(WRatio)",
        *info,
        "",
        f"KB bundled: {len(kb)} entries, {len(baseline.texts)} question variants (faq/)",
        f"KB {n_big}: {SYNTHETIC_ENTRIES:,} entries, {big_variants:,} variants, synthetic "
        f"(copies of the bundled entries, one made-up word each, a word dropped or swapped; "
        f"seed {SEED})",
        f"questions: {EVAL_FILE.relative_to(ROOT)}, {len(items)} ({in_n} in scope, "
        f"{out_n} out of scope)",
        "",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        line,
    ]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    out += [
        line,
        "",
        f"bundled latency: engine {engine_cold.how} (cold and warm each); baseline {base_lat.how}.",
        f"{n_big} latency: subset of every {SYNTHETIC_STRIDE}th question ({len(subset)}); "
        f"engine {big_cold.how} (cold and warm each); baseline {big_base_lat.how}.",
        f"warm-up: {WARM_UP} untimed questions before the cold and the baseline timings, a "
        "whole untimed round before the warm ones.",
        "cold: the engine's word-lookup cache is emptied before each question (targets apply "
        "to it); warm: kept.",
        f"builds: bundled = median of {BUNDLED_BUILDS}; {n_big} = one build. Engine build = "
        "Engine(kb); baseline build = the list of variants.",
        f"baseline answers when WRatio >= {cutoff:g}: the cut-off that maximises its in-scope "
        "+ out-of-scope rates on this very eval set (tuned on the test set, so optimistic); "
        f"answering always (cut-off 0), it gets {base_always.accuracy():.1%} of the in-scope "
        "questions right.",
        f"result: {'all targets met' if not misses else 'MISS: ' + '; '.join(misses)}"
        f" (run took {time.perf_counter() - started:.0f} s)",
    ]
    print("\n".join(out), flush=True)
    if args.profile:
        print()
        print(profile_synthetic(synthetic_knowledge_base(kb, SYNTHETIC_ENTRIES), subset[:25]))
    return 1 if args.check and misses else 0


if __name__ == "__main__":
    sys.exit(main())
