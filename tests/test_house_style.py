"""The house rules of the FAQ answers (`house_style.py`) and their warnings in `faqbot check`."""

from pathlib import Path

from bot.answering.check import check_knowledge_base
from bot.answering.house_style import (
    answer_findings,
    date_framing,
    framing,
    french_spacing,
    quotes_and_apostrophes,
)
from bot.answering.knowledge import load_knowledge_base

NB = "\u00a0"


def test_french_apostrophe_and_guillemets():
    assert quotes_and_apostrophes("fr", f"L'article dit «{NB}oui{NB}».") == []
    bad = quotes_and_apostrophes("fr", 'L’article dit "oui".')
    assert [f.offset for f in bad] == [1, 14, 18]


def test_german_quotes():
    assert quotes_and_apostrophes("de", "Bitte „Team fragen“ antippen, d'accord.") == []
    assert quotes_and_apostrophes("de", 'Bitte "Team fragen" antippen.')
    assert quotes_and_apostrophes("de", "Bitte „Team fragen” antippen.")
    assert quotes_and_apostrophes("de", "Bitte «Team fragen» antippen.")


def test_english_quotes():
    assert quotes_and_apostrophes("en", "Tap “Ask the team”; it doesn't hurt.") == []
    assert quotes_and_apostrophes("en", 'Tap "Ask the team".')
    assert quotes_and_apostrophes("en", "It doesn’t hurt.")


def test_quotation_marks_must_be_closed():
    assert quotes_and_apostrophes("en", "Tap “Ask the team.")
    assert quotes_and_apostrophes("fr", f"Touchez{NB}» ici")
    assert quotes_and_apostrophes("de", "„eins „zwei“")


def test_french_no_break_space_before_double_punctuation():
    assert french_spacing(f"Oui{NB}: c'est ça{NB}; vraiment{NB}? Oui\u202f!") == []
    assert french_spacing("Oui : non") == [french_spacing("Oui : non")[0]]
    assert "normal space" in french_spacing("Oui : non")[0].message
    assert "no space" in french_spacing("Oui: non")[0].message


def test_french_no_break_space_inside_guillemets():
    assert french_spacing(f"«{NB}Be 4.0{NB}»") == []
    assert len(french_spacing("« Be 4.0 »")) == 2


def test_french_no_break_space_in_numbers():
    assert french_spacing(f"près de 25{NB}%, 3{NB}430 visiteurs, 10\u202f000 emplois") == []
    assert len(french_spacing("près de 25 %, 3 430 visiteurs")) == 2
    assert french_spacing("en 2018 300 visiteurs")  # a year then a count reads as 2 018 300
    assert french_spacing("les 11 intercommunalités, 2013 puis 2016") == []


def test_times_and_addresses_are_not_punctuation():
    assert french_spacing("à 14:30, sur https://example.org") == []


def test_date_framing_in_each_language():
    assert framing("fr", "2019-03") == "en mars 2019"
    assert framing("de", "2019-03") == "Stand März 2019"
    assert framing("en", "2019-03") == "as of March 2019"
    assert date_framing("fr", f"En mars{NB}2019, c'est un projet.", "2019-03") == []
    assert date_framing("de", "Stand März 2019 ist es ein Projekt.", "2019-03") == []
    assert date_framing("en", "As of March 2019, it is a project.", "2019-03") == []
    assert date_framing("en", "It is a project planned for 2019.", "2019-03")
    assert date_framing("de", "Es ist ein Projekt (März 2019).", "2019-03")


def test_no_framing_needed_without_as_of():
    assert date_framing("fr", "Un projet.", "") == []


def test_answer_findings_only_apply_french_spacing_to_french():
    assert list(answer_findings("en", "Yes: it is.")) == []
    assert list(answer_findings("fr", "Oui: c'est ça."))


ENTRY = """\
topic:
  id: demo
  order: 1
  name: {fr: Démo, de: Demo, en: Demo}
entries:
  - id: demo-one
    as_of: AS_OF
    questions:
      fr: ["Qu'est-ce que FORMLAB ?", "FORMLAB c'est quoi", usine-école FORMLAB, le FORMLAB]
      de: [Was ist FORMLAB, FORMLAB Lernfabrik, FORMLAB erklärt, das FORMLAB]
      en: [What is FORMLAB, FORMLAB factory school, FORMLAB explained, the FORMLAB]
    answer:
      fr: >-
        En mars 2019, FORMLAB est un projet d'usine-école. Pour en savoir plus,
        touchez «\u00a0Demander à l'équipe\u00a0».
      de: >-
        Stand März 2019 ist FORMLAB ein Projekt.
      en: >-
        FORMLAB is a project. For more, tap
        "Ask the team".
    source: article 2019-03-25
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_check_warns_with_the_line_of_the_offending_text(tmp_path):
    result = check_knowledge_base(write(tmp_path, ENTRY.replace("AS_OF", "2019-03")))
    assert result.errors == []
    warnings = [str(p) for p in result.warnings]
    # the straight quotes are on the second line of the English answer (line 20)
    assert sum("demo.yaml:20: warning" in w and "en answer" in w for w in warnings) == 2
    # the missing framing is reported on the answer's first line
    assert any("demo.yaml:19:" in w and "'as of March 2019'" in w for w in warnings)
    assert not any("fr answer" in w or "de answer" in w for w in warnings)


def test_as_of_must_be_a_month(tmp_path):
    problems = load_knowledge_base(write(tmp_path, ENTRY.replace("AS_OF", "March"))).errors
    assert any("'as_of' must be a year and month" in p.message for p in problems)
    kb = load_knowledge_base(write(tmp_path, ENTRY.replace("AS_OF", "2019-03-25"))).knowledge_base
    assert kb is not None and kb.entries["demo-one"].as_of == "2019-03"


def test_bundled_faq_follows_the_house_style():
    from bot.answering.check import house_style_problems
    from bot.answering.knowledge import load_or_raise

    assert [str(p) for p in house_style_problems(load_or_raise())] == []
