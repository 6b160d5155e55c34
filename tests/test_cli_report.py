"""`faqbot report` and `faqbot drafts` through the installed entry point, on a real file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.answering.engine import ANSWER, ESCALATE, SUGGEST
from bot.desk.tickets import Requester, TicketDesk
from bot.store.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
FAQBOT = ROOT / ".venv" / "bin" / "faqbot"


def faqbot(db: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAQBOT_DB": str(db)}
    return subprocess.run(
        [str(FAQBOT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database as the bot leaves it: logged questions and one answered ticket."""
    path = tmp_path / "faqbot.sqlite3"
    storage = Storage(path)
    for lang, status, text in [
        ("fr", ESCALATE, "Quels sont les horaires de KMØ ?"),
        ("fr", ESCALATE, "horaires kmo"),
        ("fr", SUGGEST, "KMO horaires d'ouverture ?"),
        ("de", ESCALATE, "Gibt es Parkplätze bei KMØ?"),
        ("fr", ANSWER, "C'est quoi KMØ ?"),
    ]:
        storage.log_question(1, lang, text, status, None, 10)
    desk = TicketDesk(storage)
    ticket = desk.escalate(Requester(1, "Alice"), 1, "fr", "Quels sont les horaires de KMØ ?", [])
    desk.add_staff_answer(ticket.id, 9, "L'article ne donne pas d'horaires.", 100)
    storage.close()
    return path


def test_report_groups_the_unanswered_questions(db: Path):
    result = faqbot(db, "report")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "4 in 2 group(s)" in out
    assert "3x" in out and "Quels sont les horaires de KMØ ?" in out
    assert "horaires kmo" in out  # listed as a variant of the same group
    assert "Gibt es Parkplätze bei KMØ?" in out
    assert "C'est quoi KMØ ?" not in out  # answered


def test_report_limit(db: Path):
    result = faqbot(db, "report", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert "Parkplätze" not in result.stdout and "horaires" in result.stdout
    assert faqbot(db, "report", "--limit", "0").returncode == 2  # argparse usage error


def test_report_on_an_empty_database(tmp_path: Path):
    path = tmp_path / "empty.sqlite3"
    Storage(path).close()
    result = faqbot(path, "report")
    assert result.returncode == 0
    assert "No unanswered" in result.stdout


def test_drafts_print_yaml_that_parses(db: Path):
    result = faqbot(db, "drafts")
    assert result.returncode == 0, result.stderr
    (entry,) = yaml.safe_load(result.stdout)["entries"]
    assert entry["questions"]["fr"] == ["Quels sont les horaires de KMØ ?"]
    assert entry["answer"]["fr"] == "L'article ne donne pas d'horaires."
    assert entry["source"].startswith("ticket #")


def test_drafts_output_file_is_not_overwritten_without_force(db: Path, tmp_path: Path):
    target = tmp_path / "drafts.yaml"
    result = faqbot(db, "drafts", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert "1 draft(s) written" in result.stdout
    assert yaml.safe_load(target.read_text(encoding="utf-8"))["entries"]

    target.write_text("# reviewed by staff\n", encoding="utf-8")
    refused = faqbot(db, "drafts", "--output", str(target))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert target.read_text(encoding="utf-8") == "# reviewed by staff\n"
    assert faqbot(db, "drafts", "--output", str(target), "--force").returncode == 0
    assert "entries" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["report", "drafts"])
def test_a_missing_database_gives_one_clear_line(tmp_path: Path, command: str):
    missing = tmp_path / "nowhere" / "faqbot.sqlite3"
    result = faqbot(missing, command)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"faqbot: no database at {missing} (set FAQBOT_DB to the bot's database file)"
    )
    assert not missing.parent.exists()  # nothing created by a typo in FAQBOT_DB


def test_a_file_that_is_not_a_database_gives_one_clear_line(tmp_path: Path):
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_text("not a database, just notes\n" * 100, encoding="utf-8")
    result = faqbot(bogus, "report")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a database" in result.stderr
