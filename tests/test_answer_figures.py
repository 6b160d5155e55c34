"""The three answers of an entry state the same figures: numbers and years agree across fr, de
and en, whatever each language's way of writing them (1,3 / 1.3; 10 000 / 10.000 / 10,000;
quatre / vier / four)."""

import re

import pytest

from bot.answering.knowledge import LANGUAGES, load_or_raise

# Number words the answers use for small counts, by language.
WORDS = {
    "fr": {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "vingtaine": 20, "trente": 30},
    "de": {"zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "zwanzig": 20, "dreißig": 30},
    "en": {"two": 2, "three": 3, "four": 4, "five": 5, "twenty": 20, "thirty": 30},
}
# A number not glued to letters (4iTec, m2A are names); thousands grouped by a space, a
# no-break space, a dot or a comma; a decimal part after a comma or a dot.
_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?![\d])|\d+(?:[.,]\d+)?)(?![\w])"
)


def figures(language: str, text: str) -> set[str]:
    found = set()
    for match in _NUMBER.finditer(text):
        raw = match[1]
        if re.fullmatch(r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+", raw):
            value = re.sub(r"[ \u00a0\u202f.,]", "", raw)
        else:
            value = raw.replace(",", ".")
        found.add(value)
    for word in re.findall(r"\w+", text.lower()):
        if word in WORDS[language]:
            found.add(str(WORDS[language][word]))
    return found


def test_figures_are_read_the_same_way_in_each_language():
    assert figures("fr", "1,3 milliard d'euros, 10\u00a0000 emplois, 25 %") == {
        "1.3",
        "10000",
        "25",
    }
    assert figures("de", "1,3 Mrd. Euro, 10.000 Arbeitsplätze, 25 %") == {"1.3", "10000", "25"}
    assert figures("en", "€1.3 billion, 10,000 jobs, 25%") == {"1.3", "10000", "25"}
    assert figures("en", "4iTec 4.0 and m2A, four needs") == {"4.0", "4"}
    assert figures("de", "am 22. November 2018") == {"22", "2018"}


@pytest.mark.parametrize("entry", list(load_or_raise()), ids=lambda e: e.id)
def test_each_entry_states_the_same_figures_in_every_language(entry):
    by_language = {lang: figures(lang, entry.answers[lang]) for lang in LANGUAGES}
    assert by_language["fr"] == by_language["de"] == by_language["en"], by_language
