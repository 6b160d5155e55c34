"""The house style of the FAQ answers, as far as a machine can check it.

Small pure functions: each takes an answer's text (and its language) and returns `Finding`s,
the offset of the offending character and what to do. `bot.check` turns them into warnings
with file and line; `faq/README.md` explains the rules to the staff who edit the FAQ.

- Apostrophe: the straight ' in all three languages, as in the bot's own messages.
- Quotation marks: « … » in French, „…“ in German, “…” in English; never the straight ".
- French spacing: a no-break space (U+00A0 or the narrow U+202F) before ; : ! ?, inside
  « », before % and between the digit groups of a number (25 %, 10 000).
- Date framing: an entry marked `as_of: 2019-03` (it describes a project or a state of that
  month) says so in every language: « en mars 2019 », „Stand März 2019“, "as of March 2019".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

NO_BREAK_SPACES = "\u00a0\u202f"

MONTHS = {
    "fr": (
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    ).split(),
    "de": (
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
    ).split(),
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
}
#: How each language frames a dated answer; {month} {year} come from `as_of`.
FRAMING = {"fr": "en {month} {year}", "de": "Stand {month} {year}", "en": "as of {month} {year}"}

# Characters an answer of that language must not contain, and what to write instead.
_FORBIDDEN = {
    "fr": {
        "’": "write the apostrophe as a straight '",
        "‘": "write the apostrophe as a straight '",
        '"': "quote with « » (no-break spaces inside)",
        "“": "quote with « » (no-break spaces inside)",
        "”": "quote with « » (no-break spaces inside)",
        "„": "quote with « » (no-break spaces inside)",
    },
    "de": {
        "’": "write the apostrophe as a straight '",
        "‘": "write the apostrophe as a straight '",
        '"': "quote with „ “",
        "”": "quote with „ “ (the closing mark is “)",
        "«": "quote with „ “",
        "»": "quote with „ “",
    },
    "en": {
        "’": "write the apostrophe as a straight '",
        "‘": "write the apostrophe as a straight '",
        '"': "quote with “ ”",
        "„": "quote with “ ”",
        "«": "quote with “ ”",
        "»": "quote with “ ”",
    },
}
_PAIRS = {"fr": ("«", "»"), "de": ("„", "“"), "en": ("“", "”")}


@dataclass(frozen=True)
class Finding:
    """One departure from the house style: where in the answer, and what to do."""

    offset: int
    message: str


def quotes_and_apostrophes(language: str, text: str) -> list[Finding]:
    """Straight apostrophes; the quotation marks of the language, opened and closed."""
    findings = []
    forbidden = _FORBIDDEN.get(language, {})
    for i, char in enumerate(text):
        if char in forbidden:
            findings.append(Finding(i, f"{char!r}: {forbidden[char]}"))
    if language in _PAIRS:
        opening, closing = _PAIRS[language]
        depth = 0
        for i, char in enumerate(text):
            if char == opening:
                if depth:
                    findings.append(Finding(i, f"{opening} opened again before {closing}"))
                depth = 1
            elif char == closing:
                if not depth:
                    findings.append(Finding(i, f"{closing} closes a quotation never opened"))
                depth = 0
        if depth:
            findings.append(Finding(text.rindex(opening), f"{opening} is never closed"))
    return findings


def _is_time_or_url(text: str, i: int) -> bool:
    """14:30, http://…: a colon that is not punctuation."""
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    return text[i] == ":" and ((before.isdigit() and after.isdigit()) or after == "/")


_DIGIT_GROUP = re.compile(r"\d \d{3}(?!\d)")


def french_spacing(text: str) -> list[Finding]:
    """A no-break space before ; : ! ?, after « and before », before % and between the digit
    groups of a number (10 000)."""
    findings = []
    for i, char in enumerate(text):
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if char in ";:!?" and before not in NO_BREAK_SPACES and not _is_time_or_url(text, i):
            if before in (" ", "\t"):
                what = "a normal space"
            else:
                what = "no space"
            findings.append(Finding(i, f"{what} before {char!r}: use a no-break space"))
        elif char == "%" and before == " " and text[i - 2 : i - 1].isdigit():
            findings.append(Finding(i - 1, "25 %: use a no-break space before %"))
        elif char == " " and _DIGIT_GROUP.match(text, i - 1):
            findings.append(Finding(i, "10 000: use a no-break space between digit groups"))
        elif char == "«" and after not in NO_BREAK_SPACES:
            findings.append(Finding(i, "after « use a no-break space"))
        elif char == "»" and before not in NO_BREAK_SPACES:
            findings.append(Finding(i, "before » use a no-break space"))
    return findings


def framing(language: str, as_of: str) -> str:
    """The words that date an answer: 'en mars 2019', 'Stand März 2019', 'as of March 2019'."""
    year, month = as_of.split("-")
    return FRAMING[language].format(month=MONTHS[language][int(month) - 1], year=year)


def date_framing(language: str, text: str, as_of: str) -> list[Finding]:
    """An entry marked `as_of` says in its answer when what it describes was true."""
    if not as_of or language not in FRAMING:
        return []
    words = framing(language, as_of)
    spaced = re.sub(f"[{NO_BREAK_SPACES}]", " ", text)
    if words.casefold() in spaced.casefold():
        return []
    return [Finding(0, f"the entry is marked as_of {as_of}: say {words!r} in the answer")]


def answer_findings(language: str, text: str, as_of: str = "") -> Iterator[Finding]:
    """Every house-style finding for one answer, in order of the text."""
    findings = quotes_and_apostrophes(language, text)
    if language == "fr":
        findings += french_spacing(text)
    findings.sort(key=lambda f: f.offset)
    yield from date_framing(language, text, as_of)
    yield from findings
