"""The knowledge base: topics and entries loaded from the YAML files in `faq/`.

Staff edit these files by hand, so loading never ends in a traceback: every problem is
collected as a `Problem` with its file and line, and the caller decides whether it may go live.

Loading is bounded, so that a mistaken or hostile file cannot exhaust the bot's memory during a
`/reload`: at most `MAX_FILE_BYTES` per file and `MAX_FOLDER_BYTES` for the folder (checked
from the file sizes, before reading), and no YAML aliases (`*name`): an alias repeats a node
without copying it, and a few lines of them ("billion laughs") describe more values than any
memory can hold once walked. The bundled FAQ is about 100 KB and uses no alias.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from pathlib import Path

import yaml

from bot.answering.text import fold

LANGUAGES = ("fr", "de", "en")
MIN_VARIANTS = 4
TELEGRAM_MESSAGE_LIMIT = 4096
CONCISE_ANSWER = 600
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TOPIC_FIELDS = {"id", "name", "order"}
_ENTRY_FIELDS = {"id", "questions", "answer", "related", "source", "as_of"}
# `as_of: 2019-03`: the entry describes a project or a state at that month (see house_style).
_AS_OF = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_FILE_BYTES = 1024 * 1024
MAX_FOLDER_BYTES = 10 * 1024 * 1024

DEFAULT_FAQ_DIR = Path(__file__).resolve().parents[2] / "faq"
#: Wordings learned from the team (bot/desk/learning.py, `/learn`): extra question variants of
#: existing entries, kept apart from the hand-written files, which the bot never rewrites.
LEARNED_FILE = "learned.yaml"


# "ä" written "ae" and so on, as German is typed on keyboards without umlauts.
UMLAUTS_SPELT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


@dataclass(frozen=True)
class Problem:
    """Something wrong in the FAQ files; errors keep the FAQ from going live."""

    severity: str  # "error" or "warning"
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Entry:
    """One FAQ entry: the questions it answers and its answer, in every language."""

    id: str
    topic: str
    questions: Mapping[str, tuple[str, ...]]
    answers: Mapping[str, str]
    related: tuple[str, ...]
    source: str
    file: str = ""
    line: int = 0
    as_of: str = ""  # "YYYY-MM" when the answers describe a project or a state at that date
    # Per language, (offset in the answer, line in the file) where each source line starts.
    answer_lines: Mapping[str, tuple[tuple[int, int], ...]] = field(
        default_factory=dict, compare=False
    )

    def title(self, language: str) -> str:
        """The question shown on buttons and menus: the first variant."""
        return self.questions[language][0]

    def answer_line(self, language: str, offset: int = 0) -> int:
        """The file line holding character `offset` of the answer (the entry's line if unknown)."""
        line = self.line
        for start, source_line in self.answer_lines.get(language, ()):
            if start > offset:
                break
            line = source_line
        return line


@dataclass(frozen=True)
class Topic:
    id: str
    names: Mapping[str, str]
    order: int
    entry_ids: tuple[str, ...]


@dataclass
class KnowledgeBase:
    topics: tuple[Topic, ...]
    entries: dict[str, Entry]
    source_dir: str = ""
    # What users write -> what the FAQ says (folded), from `vocabulary:` files (see faq/README.md)
    synonyms: dict[str, str] = field(default_factory=dict)
    # Entry id -> language -> questions about its subject that the FAQ does not answer, from
    # `gaps:` files: asked, they get the gap reply on that entry, never its answer.
    gaps: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


@dataclass
class LoadResult:
    knowledge_base: KnowledgeBase | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class KnowledgeBaseError(Exception):
    """The FAQ cannot go live; `problems` says why, with files and lines."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _nodes(node: yaml.Node, path: tuple = ()) -> Iterator[tuple[tuple, yaml.Node]]:
    """Every value of a composed YAML document, by path."""
    yield path, node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _nodes(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from _nodes(value, (*path, i))


class _FaqLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases where they occur (see the module's docstring)."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not allowed in FAQ files; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class _FileChecker:
    """Turns one YAML file into topics and entries, reporting problems with lines."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.text = text
        self.problems: list[Problem] = []
        self.lines: dict[tuple, int] = {}
        self.nodes: dict[tuple, yaml.Node] = {}

    def line(self, path: tuple) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def report(self, path: tuple, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(severity, self.file, self.line(path), message))

    def parse(self) -> object:
        try:
            node = yaml.compose(self.text, Loader=_FaqLoader)
            data = yaml.load(self.text, Loader=_FaqLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = mark.line + 1 if mark else 1
            reason = getattr(exc, "problem", None) or str(exc)
            self.problems.append(Problem("error", self.file, line, f"YAML syntax: {reason}"))
            return None
        except RecursionError:  # thousands of nested [ or {: PyYAML recurses once per level
            self.problems.append(Problem("error", self.file, 1, "YAML nested too deeply"))
            return None
        if node is not None:
            self.nodes = dict(_nodes(node))
            self.lines = {path: n.start_mark.line + 1 for path, n in self.nodes.items()}
        return data

    def text_lines(self, path: tuple, text: str) -> tuple[tuple[int, int], ...]:
        """Where each source line of a folded (`>-`) or literal (`|`) text starts: pairs of
        (offset in the loaded text, 1-based file line), so that a problem found at some
        character of an answer is reported on its own line. One pair for other styles."""
        node = self.nodes.get(path)
        fallback = ((0, self.line(path)),)
        if not isinstance(node, yaml.ScalarNode) or node.style not in (">", "|"):
            return fallback
        raw = self.text.splitlines()
        spans: list[tuple[int, int]] = []
        pieces: list[str] = []
        offset = 0
        indent = None
        for i in range(node.start_mark.line + 1, min(node.end_mark.line + 1, len(raw))):
            piece = raw[i].strip()
            if not piece:
                continue
            here = len(raw[i]) - len(raw[i].lstrip())
            indent = here if indent is None else indent
            if here < indent:  # the next key: the text is over
                break
            spans.append((offset, i + 1))
            pieces.append(piece)
            offset += len(piece) + 1
        joined = (" " if node.style == ">" else "\n").join(pieces)
        return tuple(spans) if spans and joined == text else fallback

    def vocabulary(self, value: object) -> dict[str, tuple[str, Problem]]:
        """`vocabulary: {what the FAQ says: [what users write, ...]}`, folded: written ->
        (canonical, where it is written, for the check that the canonical term exists)."""
        found: dict[str, tuple[str, Problem]] = {}
        if not isinstance(value, dict) or not value:
            self.report(("vocabulary",), "'vocabulary' must map FAQ terms to lists of words")
            return found
        for canonical, written in value.items():
            path = ("vocabulary", canonical)
            if (
                not isinstance(canonical, str)
                or not isinstance(written, list)
                or not all(isinstance(w, str) and w.strip() for w in written)
            ):
                self.report(path, f"vocabulary: '{canonical}' must map to a list of words")
                continue
            target = " ".join(fold(canonical).split())
            for word in written:
                key = " ".join(fold(word).split())
                if key in found and found[key][0] != target:
                    self.report(
                        path, f"vocabulary: '{word}' stands for two terms ('{found[key][0]}')"
                    )
                    continue
                found[key] = (target, Problem("error", self.file, self.line(path), ""))
            # German written without umlauts ("franzoesische", "Gemeindeverbaende"): the same
            # word, unless staff wrote that spelling for another term
            for word in (canonical, *written):
                without_umlauts = word.translate(UMLAUTS_SPELT)
                if without_umlauts != word:
                    spelt = " ".join(fold(without_umlauts).split())
                    found.setdefault(spelt, (target, Problem("error", self.file, 0, "")))
        return found

    def gaps(self, value: object) -> dict[str, tuple[dict[str, tuple[str, ...]], Problem]]:
        """`gaps: {entry id: {fr|de|en: [question, ...]}}`: entry id -> (questions by
        language, where it is written, for the check that the entry exists)."""
        found: dict[str, tuple[dict[str, tuple[str, ...]], Problem]] = {}
        if not isinstance(value, dict) or not value:
            self.report(("gaps",), "'gaps' must map entry ids to questions by language")
            return found
        for entry_id, by_language in value.items():
            path = ("gaps", entry_id)
            if not isinstance(by_language, dict) or not by_language:
                self.report(path, f"gaps: '{entry_id}' must map languages to lists of questions")
                continue
            questions: dict[str, tuple[str, ...]] = {}
            for lang, items in by_language.items():
                if lang not in LANGUAGES:
                    self.report((*path, lang), f"gaps: unknown language '{lang}' (fr, de, en)")
                elif not isinstance(items, list) or not all(
                    isinstance(q, str) and q.strip() for q in items
                ):
                    self.report(
                        (*path, lang), f"gaps: '{entry_id}' {lang} must be a list of questions"
                    )
                else:
                    questions[lang] = tuple(q.strip() for q in items)
            if questions:
                found[str(entry_id)] = (questions, Problem("error", self.file, self.line(path), ""))
        return found

    def text_map(self, value: object, path: tuple, what: str) -> dict[str, str]:
        """A {fr, de, en} mapping of non-empty strings."""
        if not isinstance(value, dict):
            self.report(path, f"{what} must map each language (fr, de, en) to a text")
            return {}
        out: dict[str, str] = {}
        for lang in LANGUAGES:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                self.report(path, f"{what}: missing or empty language '{lang}'")
            else:
                out[lang] = text.strip()
        for extra in sorted(set(value) - set(LANGUAGES), key=str):
            self.report((*path, extra), f"{what}: unknown language '{extra}' (use fr, de, en)")
        return out

    def topic(self, value: object) -> tuple[str, dict[str, str], int] | None:
        if not isinstance(value, dict):
            self.report(("topic",), "'topic' must be a mapping with id, name and order")
            return None
        for extra in sorted(set(value) - _TOPIC_FIELDS, key=str):
            self.report(("topic", extra), f"topic: unknown field '{extra}'")
        topic_id = value.get("id")
        if not isinstance(topic_id, str) or not _ID.match(topic_id):
            self.report(("topic", "id"), "topic: 'id' must be lowercase letters, digits, dashes")
            return None
        names = self.text_map(value.get("name"), ("topic", "name"), f"topic '{topic_id}' name")
        order = value.get("order", 100)
        if not isinstance(order, int):
            self.report(("topic", "order"), "topic: 'order' must be a whole number")
            order = 100
        return topic_id, names, order

    def entry(self, value: object, i: int, topic_id: str) -> Entry | None:
        path = ("entries", i)
        if not isinstance(value, dict):
            self.report(path, "an entry must be a mapping with id, questions, answer, source")
            return None
        entry_id = value.get("id")
        if not isinstance(entry_id, str) or not _ID.match(entry_id):
            self.report((*path, "id"), "entry: 'id' must be lowercase letters, digits, dashes")
            return None
        for extra in sorted(set(value) - _ENTRY_FIELDS, key=str):
            self.report((*path, extra), f"entry '{entry_id}': unknown field '{extra}'")
        questions = self.questions(value.get("questions"), (*path, "questions"), entry_id)
        answers = self.text_map(
            value.get("answer"), (*path, "answer"), f"entry '{entry_id}' answer"
        )
        for lang, answer in answers.items():
            if len(answer) > TELEGRAM_MESSAGE_LIMIT:
                self.report(
                    (*path, "answer", lang),
                    f"entry '{entry_id}': {lang} answer is {len(answer)} characters, more than "
                    f"one Telegram message ({TELEGRAM_MESSAGE_LIMIT})",
                )
            elif len(answer) > CONCISE_ANSWER:
                self.report(
                    (*path, "answer", lang),
                    f"entry '{entry_id}': {lang} answer is {len(answer)} characters; "
                    f"keep it under about {CONCISE_ANSWER}",
                    "warning",
                )
        related = value.get("related", [])
        if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
            self.report((*path, "related"), f"entry '{entry_id}': 'related' must be a list of ids")
            related = []
        source = value.get("source")
        if not isinstance(source, str) or not source.strip():
            self.report((*path, "source"), f"entry '{entry_id}': 'source' is missing")
            source = ""
        as_of = self.as_of(value.get("as_of"), (*path, "as_of"), entry_id)
        if len(questions) < len(LANGUAGES) or len(answers) < len(LANGUAGES):
            return None
        return Entry(
            id=entry_id,
            topic=topic_id,
            questions=questions,
            answers=answers,
            related=tuple(related),
            source=source.strip(),
            file=self.file,
            line=self.line(path),
            as_of=as_of,
            answer_lines={
                lang: self.text_lines((*path, "answer", lang), answer)
                for lang, answer in answers.items()
            },
        )

    def as_of(self, value: object, path: tuple, entry_id: str) -> str:
        """`as_of: 2019-03` (a full date is accepted and cut to its month)."""
        if value is None:
            return ""
        if isinstance(value, date):
            return f"{value.year:04d}-{value.month:02d}"
        if isinstance(value, str) and _AS_OF.match(value.strip()):
            return value.strip()
        self.report(path, f"entry '{entry_id}': 'as_of' must be a year and month, e.g. 2019-03")
        return ""

    def questions(self, value: object, path: tuple, entry_id: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, dict):
            self.report(path, f"entry '{entry_id}': 'questions' must map fr, de, en to lists")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for lang in LANGUAGES:
            variants = value.get(lang)
            if not isinstance(variants, list) or not variants:
                self.report(path, f"entry '{entry_id}': no questions in language '{lang}'")
                continue
            clean = [v.strip() for v in variants if isinstance(v, str) and v.strip()]
            if len(clean) != len(variants):
                self.report((*path, lang), f"entry '{entry_id}': empty or non-text {lang} question")
            if len(clean) < MIN_VARIANTS:
                self.report(
                    (*path, lang),
                    f"entry '{entry_id}': {len(clean)} {lang} question(s), at least "
                    f"{MIN_VARIANTS} are needed",
                )
            if len(set(clean)) != len(clean):
                self.report(
                    (*path, lang), f"entry '{entry_id}': repeated {lang} question", "warning"
                )
            if clean:
                out[lang] = tuple(dict.fromkeys(clean))
        for extra in sorted(set(value) - set(LANGUAGES), key=str):
            self.report((*path, extra), f"entry '{entry_id}': unknown language '{extra}'")
        return out


def load_knowledge_base(path: str | Path = DEFAULT_FAQ_DIR) -> LoadResult:
    """Read every `*.yaml` file under `path` (or one file) and report all problems found."""
    root = Path(path)
    if root.is_dir():
        files = sorted(
            p
            for p in root.glob("*.y*ml")
            if p.suffix in (".yaml", ".yml") and p.name != LEARNED_FILE
        )
    else:
        files = [root]
    problems: list[Problem] = []
    if not root.exists():
        return LoadResult(None, [Problem("error", str(root), 0, "no such file or folder")])
    if not files:
        return LoadResult(None, [Problem("error", str(root), 0, "no .yaml file in this folder")])

    topics: list[Topic] = []
    entries: dict[str, Entry] = {}
    synonyms: dict[str, tuple[str, Problem]] = {}
    gaps: dict[str, tuple[dict[str, tuple[str, ...]], Problem]] = {}
    sizes = {}
    for file in files:
        try:
            sizes[file] = file.stat().st_size
        except OSError as exc:
            problems.append(Problem("error", str(file), 0, f"cannot read: {exc}"))
    total = sum(size for size in sizes.values() if size <= MAX_FILE_BYTES)
    if total > MAX_FOLDER_BYTES:
        problems.append(
            Problem(
                "error",
                str(root),
                0,
                f"the FAQ files add up to {_megabytes(total)}, more than the "
                f"{_megabytes(MAX_FOLDER_BYTES)} a FAQ may have; none was read",
            )
        )
        return LoadResult(None, problems)
    for file, size in sizes.items():
        too_big = Problem(
            "error",
            str(file),
            0,
            f"the file is {_megabytes(size)}, more than the {_megabytes(MAX_FILE_BYTES)} "
            "a FAQ file may have; not read",
        )
        if size > MAX_FILE_BYTES:
            problems.append(too_big)
            continue
        if not file.is_file():  # a device or a pipe named *.yaml: never read it
            problems.append(Problem("error", str(file), 0, "cannot read: not a regular file"))
            continue
        try:
            with file.open("rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)  # the size may have changed since
            if len(raw) > MAX_FILE_BYTES:
                problems.append(too_big)
                continue
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("error", str(file), 0, f"cannot read: {exc}"))
            continue
        checker = _FileChecker(str(file), text)
        data = checker.parse()
        if isinstance(data, dict) and set(data) == {"vocabulary"}:
            synonyms.update(checker.vocabulary(data["vocabulary"]))
            problems.extend(checker.problems)
            continue
        if isinstance(data, dict) and set(data) == {"gaps"}:
            for entry_id, (questions, where) in checker.gaps(data["gaps"]).items():
                if entry_id in gaps:  # one subject in two places: both lists count
                    earlier = gaps[entry_id][0]
                    questions = {
                        lang: (*earlier.get(lang, ()), *questions.get(lang, ()))
                        for lang in LANGUAGES
                    }
                gaps[entry_id] = (questions, where)
            problems.extend(checker.problems)
            continue
        if data is not None and not isinstance(data, dict):
            checker.report((), "a FAQ file must be a mapping with 'topic' and 'entries'")
        elif isinstance(data, dict):
            for extra in sorted(set(data) - {"topic", "entries"}, key=str):
                checker.report((extra,), f"unknown top-level field '{extra}'")
            topic = checker.topic(data.get("topic"))
            raw_entries = data.get("entries")
            if not isinstance(raw_entries, list) or not raw_entries:
                checker.report(("entries",), "'entries' must be a non-empty list")
                raw_entries = []
            if topic is not None:
                topic_id, names, order = topic
                if any(t.id == topic_id for t in topics):
                    checker.report(
                        ("topic", "id"), f"topic id '{topic_id}' is used by another file"
                    )
                ids: list[str] = []
                for i, raw in enumerate(raw_entries):
                    entry = checker.entry(raw, i, topic_id)
                    if entry is None:
                        continue
                    if entry.id in entries:
                        other = entries[entry.id]
                        checker.report(
                            ("entries", i, "id"),
                            f"duplicate id '{entry.id}' (also at {other.file}:{other.line})",
                        )
                        continue
                    entries[entry.id] = entry
                    ids.append(entry.id)
                topics.append(Topic(topic_id, names, order, tuple(ids)))
        problems.extend(checker.problems)

    if root.is_dir() and (root / LEARNED_FILE).exists():
        _merge_learned(root / LEARNED_FILE, entries, problems)
    for entry in entries.values():
        for rel in entry.related:
            if rel not in entries:
                problems.append(
                    Problem(
                        "error",
                        entry.file,
                        entry.line,
                        f"entry '{entry.id}': unknown related id '{rel}'",
                    )
                )
    if not entries:
        problems.append(Problem("error", str(root), 0, "the knowledge base has no valid entry"))
    texts = [
        t for e in entries.values() for t in (*e.answers.values(), *chain(*e.questions.values()))
    ]
    faq_text = " " + " ".join(" ".join(fold(t).split()) for t in texts) + " "
    for written, (canonical, where) in synonyms.items():
        if f" {canonical} " not in faq_text:
            problems.append(
                Problem(
                    "error",
                    where.file,
                    where.line,
                    f"vocabulary: '{canonical}' (for '{written}') is in no FAQ question or answer",
                )
            )
    variants = {
        " ".join(fold(q).split()): e.id
        for e in entries.values()
        for q in chain(*e.questions.values())
    }
    for entry_id, (questions, where) in gaps.items():
        if entry_id not in entries:
            problems.append(
                Problem("error", where.file, where.line, f"gaps: unknown entry id '{entry_id}'")
            )
            continue
        for question in chain(*questions.values()):
            answered_by = variants.get(" ".join(fold(question).split()))
            if answered_by:
                problems.append(
                    Problem(
                        "error",
                        where.file,
                        where.line,
                        f"gaps: {question!r} is also a question of entry '{answered_by}'",
                    )
                )
    topics.sort(key=lambda t: (t.order, t.id))
    kb = (
        KnowledgeBase(
            tuple(topics),
            entries,
            str(root),
            {w: c for w, (c, _) in synonyms.items()},
            {
                i: {lang: qs.get(lang, ()) for lang in LANGUAGES}
                for i, (qs, _) in gaps.items()
                if i in entries
            },
        )
        if entries
        else None
    )
    return LoadResult(kb, problems)


def _merge_learned(file: Path, entries: dict[str, Entry], problems: list[Problem]) -> None:
    """Add the learned wordings of `file` ({"learned": {entry id: {language: [question]}}})
    to their entries' question variants. A wording of an entry that no longer exists is only
    a warning: deleting an entry must not keep the FAQ from going live."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem("error", str(file), 0, "the learned wordings file is too big"))
            return
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem("error", str(file), 0, f"cannot read: {exc}"))
        return
    checker = _FileChecker(str(file), text)
    data = checker.parse()
    problems.extend(checker.problems)
    if data is None:
        return
    learned = data.get("learned") if isinstance(data, dict) else None
    if not isinstance(learned, dict):
        checker.report((), "the learned wordings file must be a mapping under 'learned'")
        problems.extend(checker.problems[-1:])
        return
    for entry_id, by_language in learned.items():
        line = checker.line(("learned", entry_id))
        entry = entries.get(str(entry_id))
        if entry is None:
            message = f"learned wordings of unknown entry '{entry_id}' are not used"
            problems.append(Problem("warning", str(file), line, message))
            continue
        if not isinstance(by_language, dict) or any(
            lang not in LANGUAGES
            or not isinstance(v, list)
            or not all(isinstance(q, str) and q.strip() for q in v)
            for lang, v in by_language.items()
        ):
            message = f"learned wordings of '{entry_id}' must be lists of questions per language"
            problems.append(Problem("error", str(file), line, message))
            continue
        questions = dict(entry.questions)
        for lang, variants in by_language.items():
            known = {q.casefold() for q in questions[lang]}
            extra = [q.strip() for q in variants if q.strip().casefold() not in known]
            questions[lang] = (*questions[lang], *dict.fromkeys(extra))
        entries[entry.id] = replace(entry, questions=questions)


def load_or_raise(path: str | Path = DEFAULT_FAQ_DIR) -> KnowledgeBase:
    """The knowledge base, or `KnowledgeBaseError` listing every error (warnings are fine)."""
    result = load_knowledge_base(path)
    if result.errors or result.knowledge_base is None:
        raise KnowledgeBaseError(result.errors)
    return result.knowledge_base
