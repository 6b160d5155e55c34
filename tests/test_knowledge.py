"""Loading the FAQ files: every problem reported with file and line, never a traceback."""

import shutil
from pathlib import Path

import pytest

from bot.answering.check import check_knowledge_base
from bot.answering.knowledge import (
    DEFAULT_FAQ_DIR,
    KnowledgeBaseError,
    load_knowledge_base,
    load_or_raise,
)

ENTRY = """\
topic:
  id: demo
  order: 1
  name: {fr: Démo, de: Demo, en: Demo}
entries:
  - id: demo-one
    questions:
      fr: ["Qu'est-ce que FORMLAB ?", "FORMLAB c'est quoi", usine-école FORMLAB, le FORMLAB]
      de: [Was ist FORMLAB, FORMLAB Lernfabrik, FORMLAB erklärt, das FORMLAB]
      en: [What is FORMLAB, FORMLAB factory school, FORMLAB explained, the FORMLAB]
    answer:
      fr: FORMLAB est une usine-école.
      de: FORMLAB ist eine Lernfabrik.
      en: FORMLAB is a factory-school.
    related: [RELATED]
    source: article 2019-03-25
"""


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def messages(path: Path) -> list[str]:
    return [str(p) for p in load_knowledge_base(path).problems]


def test_bundled_faq_loads_with_every_topic_and_language():
    kb = load_or_raise()
    assert len(kb) >= 30
    assert {t.id for t in kb.topics} >= {"programme", "sud-alsace", "kmo", "training", "be40"}
    for entry in kb:
        for lang in ("fr", "de", "en"):
            assert len(entry.questions[lang]) >= 4
            assert 0 < len(entry.answers[lang]) <= 600


def test_bundled_faq_passes_check_without_errors():
    result = check_knowledge_base(DEFAULT_FAQ_DIR)
    assert result.errors == []


def test_valid_file_loads(tmp_path):
    kb = load_or_raise(write(tmp_path, ENTRY.replace("[RELATED]", "[]")))
    assert kb.entries["demo-one"].title("de") == "Was ist FORMLAB"
    assert kb.entries["demo-one"].topic == "demo"


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    broken = ENTRY.replace("[RELATED]", "[]").replace("    source:", "   source: [unclosed")
    problem = messages(write(tmp_path, broken))[0]
    assert "demo.yaml:" in problem and "YAML syntax" in problem
    line = int(problem.split("demo.yaml:")[1].split(":")[0])
    assert 15 <= line <= 18


def test_unknown_related_id_is_an_error(tmp_path):
    problems = messages(write(tmp_path, ENTRY.replace("[RELATED]", "[nowhere]")))
    assert any("unknown related id 'nowhere'" in p and "demo.yaml:6" in p for p in problems)


def test_missing_language_and_too_few_variants(tmp_path):
    text = ENTRY.replace("[RELATED]", "[]").replace("      en: FORMLAB is a factory-school.\n", "")
    text = text.replace(", FORMLAB explained, the FORMLAB", "")
    problems = messages(write(tmp_path, text))
    assert any("missing or empty language 'en'" in p for p in problems)
    assert any("2 en question(s), at least 4" in p and "demo.yaml:10" in p for p in problems)


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, ENTRY.replace("[RELATED]", "[]"))
    write(tmp_path, ENTRY.replace("[RELATED]", "[]").replace("id: demo\n", "id: other\n"), "b.yaml")
    problems = messages(tmp_path)
    assert any("duplicate id 'demo-one'" in p and "b.yaml:6" in p for p in problems)


def test_unknown_field_is_reported(tmp_path):
    problems = messages(
        write(tmp_path, ENTRY.replace("[RELATED]", "[]").replace("answer:", "anwser:"))
    )
    assert any("unknown field 'anwser'" in p for p in problems)


def test_answer_longer_than_a_telegram_message_is_an_error(tmp_path):
    text = ENTRY.replace("[RELATED]", "[]").replace("FORMLAB is a factory-school.", "x" * 4100)
    problems = load_knowledge_base(write(tmp_path, text)).problems
    assert any(p.severity == "error" and "4096" in p.message.replace(",", "") for p in problems)


def test_broken_faq_raises_a_readable_error(tmp_path):
    write(tmp_path, "entries: [")
    with pytest.raises(KnowledgeBaseError) as info:
        load_or_raise(tmp_path)
    assert "YAML syntax" in str(info.value)


def test_check_reports_ambiguous_variants(tmp_path):
    folder = tmp_path / "faq"
    shutil.copytree(DEFAULT_FAQ_DIR, folder)
    kmo = (folder / "kmo.yaml").read_text(encoding="utf-8")
    # a KMØ question copied into the Be 4.0 entry: the engine cannot tell them apart
    be40 = (folder / "be40.yaml").read_text(encoding="utf-8")
    be40 = be40.replace("      fr:\n", "      fr:\n        - Qui peut venir à KMØ ?\n", 1)
    (folder / "be40.yaml").write_text(be40, encoding="utf-8")
    assert "Qui peut venir à KMØ" in kmo.replace("\xa0", " ")
    problems = check_knowledge_base(folder).problems
    assert any("Qui peut venir à KMØ" in p.message and "be40" in p.message for p in problems)


def test_the_vocabulary_must_name_faq_terms_and_give_each_word_one_meaning(tmp_path):
    import shutil

    from bot.answering.knowledge import DEFAULT_FAQ_DIR, load_knowledge_base

    faq = tmp_path / "faq"
    shutil.copytree(DEFAULT_FAQ_DIR, faq)
    (faq / "vocabulary.yaml").write_text(
        "vocabulary:\n"
        "  usine-école: [Lernfabrik, Fabrikschule]\n"
        "  Raumstation: [space station]\n"
        "  CCI: [Lernfabrik]\n",
        encoding="utf-8",
    )
    result = load_knowledge_base(faq)
    messages = [p.message for p in result.errors]
    assert any("'raumstation'" in m and "no FAQ question or answer" in m for m in messages)
    assert any("'Lernfabrik' stands for two terms" in m for m in messages)
    assert all(p.file.endswith("vocabulary.yaml") and p.line > 1 for p in result.errors)


def test_the_bundled_vocabulary_loads_and_is_used():
    from bot.answering.engine import Engine
    from bot.answering.knowledge import load_or_raise

    kb = load_or_raise()
    assert kb.synonyms["technologiezentrum"] == "centre technologique"
    decision = Engine(kb).decide("Was macht das Technologiezentrum?", language="de")
    assert decision.faq_id == "research-cte"
    # German written without umlauts is the same word: "französische" as "franzoesische"
    assert kb.synonyms["franzoesische"] == kb.synonyms["franzosische"] == "frankreich"
    assert kb.synonyms["gemeindeverbaende"] == "intercommunalites"


def faq_with_gaps(tmp_path: Path, gaps_yaml: str) -> Path:
    """A copy of the bundled FAQ with `gaps_yaml` as its gaps.yaml."""
    faq = tmp_path / "faq"
    shutil.copytree(DEFAULT_FAQ_DIR, faq)
    (faq / "gaps.yaml").write_text(gaps_yaml, encoding="utf-8")
    return faq


def test_gap_questions_must_name_an_entry_and_never_be_one_of_its_questions(tmp_path):
    faq = faq_with_gaps(
        tmp_path,
        "gaps:\n"
        "  no-such-entry:\n"
        "    en: ['Where is the moon base?']\n"
        "  kmo-what:\n"
        "    en: ['What is KMØ?']\n"
        "    xx: ['Quoi ?']\n",
    )
    messages = [p.message for p in load_knowledge_base(faq).errors]
    assert any("unknown entry id 'no-such-entry'" in m for m in messages)
    assert any("'What is KMØ?' is also a question of entry 'kmo-what'" in m for m in messages)
    assert any("unknown language 'xx'" in m for m in messages)


def test_check_refuses_a_gap_question_the_engine_answers(tmp_path):
    # the FORMLAB entry's own question, barely reworded: still answered, so no gap
    faq = faq_with_gaps(
        tmp_path, "gaps:\n  training-formlab:\n    en: ['what is FORMLAB exactly?']\n"
    )
    problems = check_knowledge_base(faq).errors
    assert any("gaps:" in p.message and "answered with entry" in p.message for p in problems)


def test_check_warns_of_a_gap_question_told_apart_only_by_stop_words(tmp_path):
    # "existe" and "aujourd'hui" are stop words: what is left is "centre excellence", which
    # would take "c'est quoi le centre d'excellence ?" from its entry
    faq = faq_with_gaps(
        tmp_path,
        "gaps:\n  research-cte:\n    fr: [\"le centre d'excellence existe aujourd'hui ?\"]\n",
    )
    warnings = check_knowledge_base(faq).warnings
    assert any("holds only words of the entry's own questions" in p.message for p in warnings)


def test_a_gap_question_gets_the_gap_reply_on_its_subject():
    from bot.answering.engine import GAP, Engine

    engine = Engine(load_or_raise())
    assert load_or_raise().gaps["sudalsace-selected"]["fr"]
    decision = engine.decide("c'est quoi la liste des 11 intercommunalités ?", language="fr")
    assert (decision.status, decision.faq_id) == (GAP, "sudalsace-selected")
    assert [c.faq_id for c in decision.suggestions] == ["sudalsace-selected"]
    # nothing outside the engine ever sees the gap questions' own index entries
    assert all(not c.faq_id.startswith("gap:") for c in decision.candidates)
    # the count the FAQ does give is still answered
    decision = engine.decide("combien d'intercommunalités dans le Sud Alsace ?", language="fr")
    assert (decision.status, decision.faq_id) == ("answer", "sudalsace-selected")
