"""The gettext catalogs are complete: every string of the code, in every language, with the
same placeholders, none fuzzy, and the compiled catalogs up to date with the `.po` files."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR, gettext_for

ROOT = Path(__file__).resolve().parent.parent
FIX = "update the catalogs as locales/README.md says (pybabel extract, update, translate, compile)"


def code_messages() -> dict[str, str]:
    """msgid -> "file:line" of every translatable string, extracted as `pybabel extract` does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        if isinstance(message, tuple):  # plural forms
            message = message[0]
        found.setdefault(message, f"{filename}:{lineno}")
    return found


def catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=language)


def placeholders(text: str) -> set[str]:
    """`{name}` fields and `%s`/`%(name)s` conversions of a message."""
    fields = {f"{{{name}}}" for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    percent = set(re.findall(r"%(?:\([a-z_]+\))?[sdfr]", text))
    return fields | percent


@pytest.fixture(scope="module")
def in_code() -> dict[str, str]:
    messages = code_messages()
    assert len(messages) > 20, "extraction found almost nothing: is babel.cfg right?"
    return messages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_code_is_translated(in_code, language):
    po = catalog(language)
    problems = []
    for msgid, where in sorted(in_code.items()):
        message = po.get(msgid)
        if message is None:
            problems.append(f"missing ({where}): {msgid!r}")
        elif not message.string or not str(message.string).strip():
            problems.append(f"untranslated ({where}): {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy ({where}): {msgid!r}")
    assert not problems, f"{language}: " + "\n".join(problems) + f"\n{FIX}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogs_hold_nothing_the_code_lost(in_code, language):
    stale = [m.id for m in catalog(language) if m.id and m.id not in in_code]
    assert not stale, f"{language}: strings no longer in the code: {stale}\n{FIX}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_the_same_in_every_language(language):
    mismatched = [
        (m.id, m.string)
        for m in catalog(language)
        if m.id and m.string and placeholders(m.id) != placeholders(str(m.string))
    ]
    assert not mismatched, f"{language}: placeholders differ: {mismatched}"


def test_the_english_catalog_is_the_english_of_the_code(in_code):
    po = catalog("en")
    assert [m for m in in_code if po.get(m) and po.get(m).string != m] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_bot_speaks_what_the_catalog_says(language):
    """Catches a `.mo` compiled before the last `.po` edit."""
    _ = gettext_for(language)
    outdated = [m.id for m in catalog(language) if m.id and m.string and _(m.id) != m.string]
    assert not outdated, f"{language}: stale .mo, run pybabel compile -d locales -D messages"


def test_no_catalog_header_is_fuzzy():
    for language in LANGUAGES:
        assert not catalog(language).fuzzy, f"{language}: the header is marked fuzzy"
