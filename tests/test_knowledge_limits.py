"""Loading the FAQ is bounded: a YAML alias bomb ("billion laughs"), a 20 MB file or a 30 MB
folder is refused as a `faqbot check` error with its file (and line), without the memory it
would take, and `/reload` keeps serving the previous FAQ.

The bounds are checked in a separate Python process: before the limits, the alias bomb made
loading walk a billion values (it never finished), so an in-process test would hang instead of
failing. The child reports tracemalloc's peak; the timeout is only a generous guard."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.answering.knowledge import (
    MAX_FILE_BYTES,
    MAX_FOLDER_BYTES,
    load_knowledge_base,
    load_or_raise,
)
from bot.cli import main
from bot.config import Settings
from bot.metrics import Metrics
from handlers.common import ENGINE, METRICS, SETTINGS, reload_faq
from tests.test_knowledge import ENTRY

MB = 1024 * 1024
# What checking a refused file may allocate (Python's allocations, tracemalloc, the child's
# imports included): checking the bundled FAQ (100 KB) peaks at about 7 MB, refusing the files
# below at 6 to 7 MB; read and walked, they would take gigabytes.
MEMORY_BOUND = 16 * MB

ALIAS_BOMB = """\
topic:
  id: bomb
  name: {fr: B, de: B, en: B}
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
entries: *i
"""

CHILD = """
import json, sys, tracemalloc
tracemalloc.start()
from bot.answering.check import check_knowledge_base
result = check_knowledge_base(sys.argv[1])
print(json.dumps({"errors": [str(p) for p in result.errors],
                  "peak": tracemalloc.get_traced_memory()[1]}))
"""


def no_valid_entry(folder: Path) -> str:
    return f"{folder}:0: error: the knowledge base has no valid entry"


def check_in_child(path: Path) -> tuple[list[str], int]:
    """`faqbot check`'s errors on `path`, and the peak of Python memory while checking."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,  # a guard against a hang, not a measure: the refusal takes milliseconds
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return report["errors"], report["peak"]


def valid_entry(n: int) -> str:
    """The demo file's entry under another id, as it appears in an entries list."""
    entry = ENTRY.split("entries:\n", 1)[1].replace("related: [RELATED]", "related: []")
    return entry.replace("demo-one", f"demo-{n}")


def test_a_yaml_alias_bomb_is_refused_with_its_line_without_blowing_memory(tmp_path: Path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB, encoding="utf-8")
    errors, peak = check_in_child(tmp_path)
    assert errors == [
        f"{bomb}:5: error: YAML syntax: aliases (*a) are not allowed in FAQ files; "
        "write the value out",
        no_valid_entry(tmp_path),
    ]
    assert peak < MEMORY_BOUND, f"{peak / MB:.0f} MB"


def test_an_alias_is_refused_even_a_harmless_one(tmp_path: Path):
    text = ENTRY.replace("related: [RELATED]", "related: []").replace(
        "source: article 2019-03-25", "source: &src article 2019-03-25\n    x: *src"
    )
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    result = load_knowledge_base(tmp_path)
    assert result.knowledge_base is None
    [error, _no_valid_entry] = result.errors
    assert error.line == 17 and "aliases (*src) are not allowed" in error.message


def test_a_20_mb_faq_file_is_refused_unread(tmp_path: Path):
    big = tmp_path / "big.yaml"
    head = ENTRY.split("entries:\n", 1)[0] + "entries:\n"
    with big.open("w", encoding="utf-8") as fh:
        fh.write(head)
        n = 0
        while fh.tell() < 20 * MB:
            fh.write(valid_entry(n))
            n += 1
    (tmp_path / "ok.yaml").write_text(
        ENTRY.replace("related: [RELATED]", "related: []").replace("id: demo\n", "id: ok\n"),
        encoding="utf-8",
    )
    errors, peak = check_in_child(tmp_path)
    assert errors == [
        f"{big}:0: error: the file is 20.0 MB, more than the 1.0 MB a FAQ file may have; not read"
    ]
    assert peak < MEMORY_BOUND, f"{peak / MB:.0f} MB"


def test_a_folder_over_10_mb_is_refused_before_any_file_is_read(tmp_path: Path):
    for i in range(12):  # 12 files just under the 1 MB a file may have
        with (tmp_path / f"part{i:02}.yaml").open("wb") as fh:
            fh.truncate(MAX_FILE_BYTES - 1)
    errors, peak = check_in_child(tmp_path)
    assert errors == [
        f"{tmp_path}:0: error: the FAQ files add up to 12.0 MB, more than the 10.0 MB a FAQ "
        "may have; none was read"
    ]
    assert peak < MEMORY_BOUND, f"{peak / MB:.0f} MB"
    assert MAX_FOLDER_BYTES < 12 * (MAX_FILE_BYTES - 1)


def test_faqbot_check_fails_on_the_bomb(tmp_path: Path, capsys: pytest.CaptureFixture):
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "bomb.yaml:5: error: YAML syntax: aliases (*a) are not allowed" in out
    assert "FAILED: 2 error(s)" in out  # and "no valid entry"


def test_deeply_nested_yaml_is_an_error_not_a_crash(tmp_path: Path):
    (tmp_path / "deep.yaml").write_text("entries: " + "[" * 50_000, encoding="utf-8")
    result = load_knowledge_base(tmp_path)
    assert [str(p) for p in result.errors] == [
        f"{tmp_path / 'deep.yaml'}:1: error: YAML nested too deeply",
        no_valid_entry(tmp_path),
    ]


async def test_reload_keeps_the_previous_faq_when_the_new_one_is_a_bomb(tmp_path: Path):
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "demo.yaml").write_text(ENTRY.replace("related: [RELATED]", "related: []"))
    engine = Engine(load_or_raise(faq))
    bot_data = {SETTINGS: Settings(faq_dir=faq), METRICS: Metrics(), ENGINE: engine}
    (faq / "bomb.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    result = await asyncio.wait_for(reload_faq(bot_data), 60)  # a guard: it takes milliseconds
    assert [p.line for p in result.errors] == [5]
    assert bot_data[ENGINE] is engine  # the previous FAQ stays live


def test_a_faq_file_that_never_ends_is_not_read(tmp_path: Path):
    """A symbolic link to /dev/zero has size 0 but no end: it is not a regular file."""
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "demo.yaml").write_text(ENTRY.replace("related: [RELATED]", "related: []"))
    errors, peak = check_in_child(tmp_path)
    assert errors == [f"{tmp_path / 'zero.yaml'}:0: error: cannot read: not a regular file"]
    assert peak < MEMORY_BOUND, f"{peak / MB:.0f} MB"
