"""The FAQ learns from the team: labelled new wordings, reviewed by people.

Every labelled signal (staff answer a ticket with an FAQ entry; a user picks a suggestion)
records the user's question as a candidate new wording of that entry, with its language
(`record`). Staff walk the candidates one at a time, most often seen first (`/learn` in the
staff chat, `faqbot learn` in a terminal): an accepted wording goes to `faq/learned.yaml`
(`knowledge.LEARNED_FILE`, a file staff can read and edit; the hand-written FAQ files are never
rewritten), only if the FAQ with it passes the same check as `/reload`; otherwise it is
refused with the check's reason.

The file is written atomically (temporary file, fsync, rename, fsync of the folder): a
`kill -9` at any moment leaves the old file or the new one, and either passes the check.
Candidates carry their author, so /forget deletes them (`Storage.forget_user`); their text is
never logged.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.answering.check import checked_engine
from bot.answering.engine import Engine, Thresholds
from bot.answering.knowledge import LEARNED_FILE, LoadResult
from bot.answering.text import fold
from bot.store.storage import Storage

NEW, ACCEPTED, REJECTED = "new", "accepted", "rejected"
STAFF_SIGNAL, PICK_SIGNAL = "staff", "pick"
MAX_WORDING = 300  # longer questions are no wording of a FAQ question

HEADER = """\
# Question wordings learned from the team (/learn, faqbot learn): each one is an extra way to
# ask an existing entry. Staff may edit or delete any line; `faqbot check` validates the file.
# The bot adds to this file only; it never rewrites the hand-written FAQ files.
"""


@dataclass(frozen=True)
class Candidate:
    id: int  # the first row of the group
    faq_id: str
    language: str
    text: str
    seen: int  # how many signals (users, tickets) gave this wording


def norm(text: str) -> str:
    return " ".join(fold(text).split())


def record(
    storage: Storage,
    faq_id: str,
    language: str,
    text: str,
    user_id: int | None,
    signal: str,
    engine: Engine | None = None,
    now: float | None = None,
) -> bool:
    """Record a labelled signal; False when it teaches nothing (empty, too long, or the
    engine already answers that wording with that entry)."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_WORDING:
        return False
    if engine is not None:
        decision = engine.decide(text, language=language)
        if decision.status == "answer" and decision.faq_id == faq_id:
            return False
    with storage.transaction() as db:
        db.execute(
            "INSERT INTO wording_candidates (faq_id, language, text, norm, user_id, signal,"
            " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (faq_id, language, text, norm(text), user_id, signal, NEW, now or time.time()),
        )
    return True


def next_candidate(storage: Storage, skipped: Iterable[int] = ()) -> Candidate | None:
    """The new wording seen most often (then the oldest), not among `skipped` groups."""
    skip = set(skipped)
    rows = storage.query(
        "SELECT MIN(id) AS id, faq_id, language, norm, COUNT(*) AS seen FROM wording_candidates"
        " WHERE status = ? GROUP BY faq_id, language, norm ORDER BY seen DESC, id",
        (NEW,),
    )
    for row in rows:
        if row["id"] in skip:
            continue
        text = storage.query("SELECT text FROM wording_candidates WHERE id = ?", (row["id"],))
        return Candidate(row["id"], row["faq_id"], row["language"], text[0]["text"], row["seen"])
    return None


def get(storage: Storage, candidate_id: int) -> Candidate | None:
    rows = storage.query(
        "SELECT c.id, c.faq_id, c.language, c.text, (SELECT COUNT(*) FROM wording_candidates o"
        " WHERE o.faq_id = c.faq_id AND o.language = c.language AND o.norm = c.norm"
        " AND o.status = c.status) AS seen FROM wording_candidates c WHERE c.id = ?",
        (candidate_id,),
    )
    if not rows:
        return None
    r = rows[0]
    return Candidate(r["id"], r["faq_id"], r["language"], r["text"], r["seen"])


def decide(storage: Storage, candidate: Candidate, status: str) -> None:
    """Accept or reject a wording: every signal of the same wording and entry with it."""
    with storage.transaction() as db:
        db.execute(
            "UPDATE wording_candidates SET status = ? WHERE faq_id = ? AND language = ?"
            " AND norm = ? AND status = ?",
            (status, candidate.faq_id, candidate.language, norm(candidate.text), NEW),
        )


# The learned file --------------------------------------------------------------------------


def read_learned(faq_dir: Path) -> dict[str, dict[str, list[str]]]:
    path = Path(faq_dir) / LEARNED_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    learned = data.get("learned") or {}
    return {
        str(k): {str(lang): list(v) for lang, v in (vs or {}).items()} for k, vs in learned.items()
    }


def render_learned(learned: dict[str, dict[str, list[str]]]) -> str:
    body = yaml.safe_dump(
        {"learned": {k: learned[k] for k in sorted(learned)}},
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    return HEADER + body


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: the old file or the new one, whatever happens."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if os.environ.get("FAQBOT_TEST_PAUSE_BEFORE_RENAME"):  # the kill -9 test's window
            time.sleep(float(os.environ["FAQBOT_TEST_PAUSE_BEFORE_RENAME"]))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    reason: str = ""  # why it was refused: the check's first error
    result: LoadResult | None = None


def with_wording(
    learned: dict[str, dict[str, list[str]]], candidate: Candidate
) -> dict[str, dict[str, list[str]]]:
    new = {k: {lang: list(v) for lang, v in vs.items()} for k, vs in learned.items()}
    variants = new.setdefault(candidate.faq_id, {}).setdefault(candidate.language, [])
    if norm(candidate.text) not in {norm(v) for v in variants}:
        variants.append(candidate.text)
    return new


def check_with(
    faq_dir: Path, learned: dict[str, dict[str, list[str]]], thresholds: Thresholds | None
) -> LoadResult:
    """`faqbot check` of the FAQ folder as it would be with `learned` as its learned file
    (a temporary folder of links to the same hand-written files)."""
    faq_dir = Path(faq_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="faqbot-learn-") as tmp:
        for file in faq_dir.glob("*.y*ml"):
            if file.name != LEARNED_FILE:
                (Path(tmp) / file.name).symlink_to(file)
        (Path(tmp) / LEARNED_FILE).write_text(render_learned(learned), encoding="utf-8")
        result, _engine = checked_engine(tmp, thresholds)
    return result


def accept(
    storage: Storage, faq_dir: Path, candidate: Candidate, thresholds: Thresholds | None = None
) -> Outcome:
    """Add the wording to the learned file if the FAQ with it passes the check; the caller
    then puts it live (`reload_faq`, the same check again, on the real folder)."""
    current = read_learned(faq_dir)
    learned = with_wording(current, candidate)
    result = check_with(faq_dir, learned, thresholds)
    if result.errors:
        return Outcome(False, result.errors[0].message, result)
    # A wording the engine would not answer with confidence, or that makes another question
    # no longer answered with confidence: ambiguity the check only warns about, refused here.
    before = {p.message for p in check_with(faq_dir, current, thresholds).problems}
    ambiguous = [
        p.message
        for p in result.problems
        if p.message not in before and "answered with confidence" in p.message
    ]
    if ambiguous:
        return Outcome(False, ambiguous[0], result)
    write_atomically(Path(faq_dir) / LEARNED_FILE, render_learned(learned))
    decide(storage, candidate, ACCEPTED)
    return Outcome(True, "", result)
