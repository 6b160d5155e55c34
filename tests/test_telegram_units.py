"""Unit tests of the conversation's decisions: languages, inputs, callback data, keyboards,
texts, HTML splitting, retention and log redaction. No network."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.answering.conversation import reply_language
from bot.answering.engine import Engine
from bot.answering.knowledge import load_or_raise
from bot.answering.language import LanguageGuess
from bot.answering.matcher import Candidate
from bot.config import Settings
from bot.formatting import MESSAGE_LIMIT, escape, split_html, utf16_length
from bot.i18n import format_number
from bot.logs import JsonFormatter, token_secrets
from bot.store.retention import DAY, purge_question_log
from bot.store.storage import Storage
from handlers import callbacks, keyboards, texts
from handlers.rules import (
    EMPTY,
    MAX_QUESTION_LENGTH,
    TOO_LONG,
    language_from_code,
    question_problem,
    strip_mention,
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_or_raise())


def data(markup) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row]


# ---------------------------------------------------------------------------- languages


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("fr", "fr"),
        ("de", "de"),
        ("en", "en"),
        ("de-CH", "de"),
        ("EN-gb", "en"),
        ("es", "fr"),
        ("", "fr"),
        (None, "fr"),
    ],
)
def test_language_from_telegram_code(code, expected):
    assert language_from_code(code, "fr") == expected


def guess(language: str, **scores: float) -> LanguageGuess:
    full = {"fr": 0.0, "de": 0.0, "en": 0.0, **scores}
    return LanguageGuess(language, 1.0, full)


def test_a_clearly_other_language_wins_over_the_preference():
    assert reply_language(guess("de", de=4.8), "fr") == "de"
    assert reply_language(guess("de", de=2.0, en=1.0), "fr") == "de"


def test_weak_or_mixed_evidence_keeps_the_preference():
    assert reply_language(guess("fr", fr=1.9), "en") == "en"  # "formation"
    assert reply_language(guess("de", de=2.5, en=2.0), "fr") == "fr"
    assert reply_language(guess("en"), "de") == "de"  # no evidence at all
    assert reply_language(guess("en", en=3.0), "en") == "en"


@pytest.mark.parametrize(
    ("question", "preferred", "expected"),
    [
        ("Was ist KMØ?", "fr", "de"),
        ("What is KMØ?", "de", "en"),
        ("Qu'est-ce que KMØ ?", "en", "fr"),
        ("KMØ", "de", "de"),
        ("Be 4.0", "en", "en"),
    ],
)
def test_reply_language_with_the_real_detector(engine, question, preferred, expected):
    assert reply_language(engine.detect(question, preferred), preferred) == expected


def test_what_is_not_a_question():
    assert question_problem("Qu'est-ce que KMØ ?") is None
    assert question_problem("x" * MAX_QUESTION_LENGTH) is None
    assert question_problem("x" * (MAX_QUESTION_LENGTH + 1)) == TOO_LONG
    assert question_problem("👍" * (MAX_QUESTION_LENGTH + 1)) == TOO_LONG
    for empty in ["", "   ", "👍", "?!…", None]:
        assert question_problem(empty) == EMPTY


def test_mentions_of_the_bot_only():
    assert strip_mention("@SudBot Was ist KMØ?", "sudbot") == "Was ist KMØ?"
    assert strip_mention("Was ist KMØ, @sudbot ?", "sudbot") == "Was ist KMØ, ?"
    assert strip_mention("@sudbot_fan hello", "sudbot") is None
    assert strip_mention("Was ist KMØ?", "sudbot") is None


# ---------------------------------------------------------------------------- callback data


def test_every_callback_of_the_faq_fits_and_matches_its_pattern(engine):
    kb = engine.kb
    produced = [(callbacks.topics(), callbacks.TOPICS), (callbacks.ask_team(), callbacks.ASK_TEAM)]
    produced.append((callbacks.ask_team(2**62), callbacks.ASK_TEAM))
    for lang in ("fr", "de", "en"):
        produced += [
            (callbacks.language_choice(lang), callbacks.LANGUAGE_CHOICE),
            (callbacks.default_language(lang), callbacks.DEFAULT_LANGUAGE),
        ]
        for entry in kb:
            produced += [
                (callbacks.related(lang, entry.id), callbacks.RELATED),
                (callbacks.suggestion(lang, entry.id), callbacks.SUGGESTION),
                (callbacks.feedback(True, lang, entry.id), callbacks.FEEDBACK),
                (callbacks.feedback(False, lang, entry.id), callbacks.FEEDBACK),
            ]
    for topic in kb.topics:
        produced.append((callbacks.topic(topic.id), callbacks.TOPIC))
    for entry in kb:
        produced.append((callbacks.menu_entry(entry.id), callbacks.MENU_ENTRY))

    all_patterns = [
        callbacks.LANGUAGE_CHOICE,
        callbacks.DEFAULT_LANGUAGE,
        callbacks.TOPICS,
        callbacks.TOPIC,
        callbacks.MENU_ENTRY,
        callbacks.RELATED,
        callbacks.SUGGESTION,
        callbacks.FEEDBACK,
        callbacks.ASK_TEAM,
    ]
    for value, pattern in produced:
        assert callbacks.fits(value), value
        matching = [p for p in all_patterns if re.match(p, value)]
        assert matching == [pattern], value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "lang:it",
        "lang:de:1",
        "dl:",
        "t:",
        "t:KMO",
        "e:",
        "q:xx:kmo-what",
        "fb:2:fr:kmo-what",
        "fb:1:kmo-what",
        "ask:",
        "ask:abc",
        "ask:1:2",
        "s:fr:",
        "x" * 65,
    ],
)
def test_malformed_callback_data_matches_no_pattern(value):
    patterns = [getattr(callbacks, name) for name in dir(callbacks) if name.isupper()]
    patterns = [p for p in patterns if isinstance(p, str) and p.startswith("^")]
    assert not any(re.match(p, value) for p in patterns)


def test_too_long_callback_data_drops_the_button(engine, caplog):
    entry = engine.kb.entries["kmo-what"]
    long_entry = replace(entry, id="x" * 60)
    with caplog.at_level(logging.WARNING):
        markup = keyboards.answer_keyboard(engine.kb, long_entry, "fr")
    assert not any(d.startswith("fb:") for d in data(markup))
    assert "too long" in caplog.text


# ---------------------------------------------------------------------------- keyboards


def test_answer_keyboard(engine):
    kb = engine.kb
    entry = kb.entries["kmo-what"]
    markup = keyboards.answer_keyboard(kb, entry, "de", question_id=12, offer_default=True)
    related = [f"q:de:{r}" for r in entry.related[: keyboards.MAX_RELATED]]
    assert data(markup) == [*related, "fb:1:de:kmo-what", "fb:0:de:kmo-what", "ask:12", "dl:de"]
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert labels[: len(related)] == [kb.entries[r].title("de") for r in entry.related[:3]]
    assert labels[-2:] == ["Team fragen", "Immer auf Deutsch antworten"]

    plain = keyboards.answer_keyboard(kb, entry, "fr")
    assert "ask" in data(plain) and not any(d.startswith("dl:") for d in data(plain))


def test_suggestions_keyboard_has_at_most_the_suggestions_and_the_team(engine):
    kb = engine.kb
    suggestions = [Candidate("kmo-what", 50, "", "fr"), Candidate("be40-what", 45, "", "fr")]
    markup = keyboards.suggestions_keyboard(kb, suggestions, "en", question_id=3)
    assert data(markup) == ["s:en:kmo-what", "s:en:be40-what", "ask:3"]
    assert markup.inline_keyboard[-1][0].text == "None of these — ask the team"


def test_without_buttons_removes_one_shot_buttons(engine):
    kb = engine.kb
    markup = keyboards.answer_keyboard(kb, kb.entries["kmo-what"], "en", 1, offer_default=True)
    after = keyboards.without_buttons(markup, callbacks.FEEDBACK_PREFIX)
    assert not any(d.startswith("fb:") for d in data(after))
    assert data(after) == [d for d in data(markup) if not d.startswith("fb:")]
    assert data(keyboards.without_buttons(None, "fb:")) == []


def test_topic_keyboards(engine):
    kb = engine.kb
    assert data(keyboards.topics_keyboard(kb, "fr")) == [f"t:{t.id}" for t in kb.topics]
    topic = kb.topics[0]
    assert data(keyboards.topic_keyboard(kb, topic, "de"))[-1] == "t"
    entry = kb.entries[topic.entry_ids[0]]
    back = keyboards.menu_entry_keyboard(entry, "fr").inline_keyboard
    assert [(b.text, b.callback_data) for row in back for b in row] == [
        ("« Retour", f"t:{topic.id}")
    ]


# ---------------------------------------------------------------------------- texts, HTML


def test_dynamic_text_is_escaped(engine):
    entry = engine.kb.entries["kmo-what"]
    tricky = replace(
        entry,
        questions={**entry.questions, "en": ("Is <b>KMØ</b> & co open?",)},
        answers={**entry.answers, "en": "Yes <script> & no </i>"},
    )
    html = texts.answer(tricky, "en")
    assert html == (
        "<b>Is &lt;b&gt;KMØ&lt;/b&gt; &amp; co open?</b>\n\nYes &lt;script&gt; &amp; no &lt;/i&gt;"
    )
    assert texts.welcome("en", "<Ann>").startswith("Hello &lt;Ann&gt;!")
    assert escape("a 'quoted' \"text\"") == "a 'quoted' \"text\""


def test_numbers_are_formatted_for_the_locale():
    assert format_number(3430, "fr") == "3\u202f430"
    assert format_number(3430, "de") == "3.430"
    assert format_number(3430, "en") == "3,430"
    assert "3.430 Zeichen" in texts.too_long("de", 3430, 1000)
    assert "1.000 lesen" in texts.too_long("de", 3430, 1000)
    assert "after 1,000 days" in texts.privacy_text("en", retention_days=1000)


def test_help_lists_the_commands_in_the_language(engine):
    help_fr = texts.help_text("fr", 35, 8)
    assert "35 réponses réparties en 8 thèmes" in help_fr
    assert "/topics — Parcourir les questions par thème" in help_fr
    assert "/privacy — Ce qui est conservé sur vous" in help_fr


def test_toasts_fit_in_an_answer_callback_query():
    for lang in ("fr", "de", "en"):
        for toast in [
            texts.expired_button(lang),
            texts.feedback_thanks(lang, True),
            texts.feedback_thanks(lang, False),
            texts.default_language_set(lang),
        ]:
            assert 0 < len(toast) <= 200


def test_short_messages_are_not_split():
    assert split_html("<b>Bonjour</b> &amp; bienvenue") == ["<b>Bonjour</b> &amp; bienvenue"]


def test_long_messages_split_at_paragraphs_and_words():
    paragraph = " ".join(["Mot"] * 300)  # 1,199 characters
    text = "\n\n".join([paragraph] * 8)
    parts = split_html(text)
    assert len(parts) == 3
    assert all(utf16_length(p) <= MESSAGE_LIMIT for p in parts)
    assert all(p.startswith("Mot") and p.endswith("Mot") for p in parts)
    assert "\n\n".join(parts) == text


def test_a_split_never_cuts_a_tag_or_an_entity_and_keeps_tags_balanced():
    text = "<b>" + "&amp; " * 1500 + "</b>" + " <i>fin</i>"
    parts = split_html(text, limit=1000)
    assert all(utf16_length(p) <= 1000 for p in parts)
    for part in parts:
        assert part.count("<b>") == part.count("</b>")
        assert not re.search(r"&[a-z]*$", part) and not re.search(r"^[a-z]*;", part)
    assert parts[0].startswith("<b>&amp;") and parts[1].startswith("<b>&amp;")
    assert parts[-1].endswith("<i>fin</i>")


def test_emoji_count_twice_and_unbroken_text_is_cut_hard():
    text = "😀" * 3000  # 6,000 UTF-16 units
    parts = split_html(text)
    assert [utf16_length(p) for p in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == text


# ---------------------------------------------------------------------------- retention, logs


def test_old_questions_and_feedback_are_purged(tmp_path):
    storage = Storage(tmp_path / "db.sqlite3")
    old = storage.log_question(1, "fr", "vieille question", "escalate", None, 0.0)
    storage.add_feedback(1, "kmo-what", "fr", True)
    recent = storage.log_question(1, "fr", "question récente", "answer", "kmo-what", 80.0)
    with storage.transaction() as db:
        db.execute(
            "UPDATE questions SET created_at = ? WHERE id = ?", (time.time() - 400 * DAY, old)
        )
        db.execute("UPDATE feedback SET created_at = ?", (time.time() - 400 * DAY,))

    assert purge_question_log(storage, older_than_days=365) == 2
    assert [r["id"] for r in storage.query("SELECT id FROM questions")] == [recent]
    assert storage.query("SELECT * FROM feedback") == []
    assert purge_question_log(storage, older_than_days=365) == 0
    storage.close()


def test_the_token_never_reaches_the_logs():
    token = "123:SECRET-part-of-the-token"
    formatter = JsonFormatter([*token_secrets(token), "hook-secret", None])
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "POST %s %s %s",
        (f"https://x/bot{token}/getMe", "123%3ASECRET-part-of-the-token", "hook-secret"),
        None,
    )
    line = formatter.format(record)
    expected = "POST https://x/bot[redacted]/getMe 123%3A[redacted] [redacted]"
    assert json.loads(line)["msg"] == expected


def test_log_lines_are_one_json_object_each_with_extras_and_tracebacks():
    formatter = JsonFormatter(["123:ABCDEFGHIJ"])
    try:
        raise ValueError("bad 123:ABCDEFGHIJ")
    except ValueError:
        record = logging.LogRecord(
            "bot.telegram.app", logging.ERROR, __file__, 1, "two\nlines", (), sys.exc_info()
        )
    record.update_id = 42
    line = formatter.format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["level"] == "ERROR" and fields["logger"] == "bot.telegram.app"
    assert fields["msg"] == "two\nlines" and fields["update_id"] == 42
    assert fields["ts"].endswith("Z")
    assert "ValueError: bad [redacted]" in fields["exc"]


# ---------------------------------------------------------------------------- configuration


def test_env_example_documents_every_setting_and_loads():
    root = Path(__file__).resolve().parent.parent
    read = set(
        re.findall(r'"((?:TELEGRAM|STAFF|FAQBOT)_[A-Z_]+)"', (root / "bot/config.py").read_text())
    )
    example = (root / ".env.example").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert read and read <= set(values), f"not in .env.example: {sorted(read - set(values))}"
    settings = Settings.from_env(values)
    assert settings.token is None and settings.api_url == "https://api.telegram.org"


def test_only_the_wiring_and_the_handlers_import_telegram():
    import ast

    root = Path(__file__).resolve().parent.parent / "bot"
    importers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "telegram" or n.startswith("telegram.") for n in names):
                importers.add(path.relative_to(root).as_posix())
    # the wiring (bot/telegram/: the Application, the HTTP client it is built with) and no other
    assert "telegram/app.py" in importers
    assert all(path.startswith("telegram/") for path in importers), importers
