"""The `faqbot` console script, run as a user would run it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAQBOT = str(Path(sys.executable).parent / "faqbot")


def faqbot(*args: str, stdin: str | None = None, env: dict | None = None):
    return subprocess.run(
        [FAQBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_ask_json_one_object_per_question():
    run = faqbot("ask", "--json", "c koi KMØ ?", "Wie viele Besucher hatte Be 4.0?")
    assert run.returncode == 0, run.stderr
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert first["status"] == "answer" and first["faq_id"] == "kmo-what"
    assert first["language"] == "fr" and "KMØ" in first["text"]
    assert second["faq_id"] == "be40-visitors" and second["language"] == "de"
    assert "3.430" in second["text"] or "3 430" in second["text"] or "3430" in second["text"]
    for key in ("question", "status", "faq_id", "score", "language", "text", "suggestions"):
        assert key in first


def test_ask_reads_questions_from_stdin_and_forces_language():
    run = faqbot("ask", "--json", "--lang", "en", "-", stdin="c koi le FORMLAB\n\nbonjour\n")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["answer", "smalltalk"]
    assert lines[0]["language"] == "en" and "factory" in lines[0]["text"]


def test_ask_plain_text_for_unknown_question_says_team():
    run = faqbot("ask", "How do I renew my passport?")
    assert run.returncode == 0
    assert "escalate" in run.stdout and "team" in run.stdout


def test_chat_picks_a_suggestion_by_number_and_browses_topics():
    script = "industrie du futur\n1\n/topics\n4\n/lang de\n1\n/quit\n"
    run = faqbot("chat", "--lang", "fr", stdin=script)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "1." in out and "2." in out  # suggestions then topics, numbered
    assert "KMØ" in out  # topic 4 is KMØ
    assert "Sprache" in out or "Deutsch" in out


def test_chat_shows_what_would_be_sent_to_staff():
    run = faqbot("chat", stdin="How do I renew my passport?\n")
    assert run.returncode == 0
    # the question, with its detected language, exactly as it would reach the staff chat
    assert "[en] How do I renew my passport?" in run.stdout


def test_check_ok_on_bundled_faq():
    run = faqbot("check")
    assert run.returncode == 0, run.stdout
    assert "OK" in run.stdout


def test_check_fails_on_broken_faq_with_file_and_line(tmp_path):
    folder = tmp_path / "faq"
    shutil.copytree(ROOT / "faq", folder)
    (folder / "kmo.yaml").write_text("topic: [broken\n", encoding="utf-8")
    run = faqbot("check", str(folder))
    assert run.returncode == 1
    assert "kmo.yaml:" in run.stdout and "YAML syntax" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_broken_faq_does_not_crash_ask(tmp_path):
    (tmp_path / "a.yaml").write_text("entries: [", encoding="utf-8")
    run = faqbot("ask", "kmo", env={"FAQBOT_FAQ_DIR": str(tmp_path)})
    assert run.returncode == 1
    assert "a.yaml" in run.stderr and "Traceback" not in run.stderr


def test_eval_prints_accuracy_per_language(tmp_path):
    data = tmp_path / "eval.yaml"
    data.write_text(
        '- {q: "c koi le formlab", lang: fr, expect: training-formlab}\n'
        '- {q: "what is the price of a FORMLAB course", lang: en, expect: null}\n'
        '- {q: "wie viele besucher hatte be 4.0", lang: de, expect: kmo-what}\n',
        encoding="utf-8",
    )
    run = faqbot("eval", str(data))
    assert run.returncode == 0, run.stderr
    assert "fr" in run.stdout and "100.0%" in run.stdout
    assert "expected kmo-what, got be40-visitors" in run.stdout


def test_eval_of_a_folder_reports_the_held_out_part_apart(tmp_path):
    (tmp_path / "eval_article.yaml").write_text(
        '- {q: "c koi le formlab", lang: fr, fact: "x", expect: training-formlab}\n'
        '- {q: "KMØ, c pour les artistes aussi", lang: fr, fact: "x", expect: kmo-who,'
        " holdout: true}\n",
        encoding="utf-8",
    )
    run = faqbot("eval", str(tmp_path))
    assert run.returncode == 0, run.stderr
    held_out = run.stdout.split("conversation sets, held out")[1].splitlines()
    assert held_out[2].startswith("in-scope right") and held_out[2].endswith("(1)")
    # German and English have no items: no rate, not 100 % confidently wrong
    assert held_out[4].split()[:5] == ["confidently", "wrong", "0.0%", "-", "-"]
    # with nothing held out, no rates of nothing
    (tmp_path / "eval_article.yaml").write_text(
        '- {q: "c koi le formlab", lang: fr, fact: "x", expect: training-formlab}\n',
        encoding="utf-8",
    )
    run = faqbot("eval", str(tmp_path))
    assert "conversation sets, held out: none" in run.stdout
    assert not [line for line in run.stdout.splitlines() if line.endswith("(0)") and "%" in line]


def test_ask_lists_the_topics_a_reply_shows_as_buttons():
    run = faqbot("ask", "quel temps fait-il à Mulhouse ce week-end ?")
    assert run.returncode == 0, run.stderr
    assert "  - KMØ, la cité du numérique" in run.stdout  # not "Voici les thèmes :" and nothing
    run = faqbot("ask", "--json", "aide")
    assert "KMØ, la cité du numérique" in json.loads(run.stdout)["topics"]
    run = faqbot("ask", "--json", "c'est quoi KMØ")
    assert json.loads(run.stdout)["topics"] == []


def test_bad_configuration_is_one_clear_line():
    run = faqbot("ask", "kmo", env={"FAQBOT_ANSWER_SCORE": "high"})
    assert run.returncode == 2
    assert "FAQBOT_ANSWER_SCORE" in run.stderr and "Traceback" not in run.stderr


def test_ask_dialogue_decides_each_message_in_its_conversation():
    run = faqbot(
        "ask",
        "--dialogue",
        stdin="Qu'est-ce que KMØ ?\net pour les étudiants ?\nok merci\n\net pour les étudiants ?\n",
    )
    assert run.returncode == 0, run.stderr
    turns = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(t["dialogue"], t["turn"], t["status"]) for t in turns] == [
        (0, 1, "answer"),
        (0, 2, "answer"),
        (0, 3, "smalltalk"),
        (1, 1, "clarify"),
    ]
    assert turns[1]["faq_id"] == "kmo-who" and turns[1]["follows"] == "kmo-what"
    # a new conversation: nothing before it for "et pour…" to point at, so it asks for more
    assert turns[3]["faq_id"] is None


def test_ask_dialogue_without_a_language_takes_the_first_message_s():
    run = faqbot("ask", "--dialogue", stdin="Hallo\nwas ist kmo\n\nhilfe\n\nhmm\n")
    assert run.returncode == 0, run.stderr
    turns = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(t["status"], t["language"]) for t in turns] == [
        ("smalltalk", "de"),
        ("answer", "de"),
        ("smalltalk", "de"),
        ("clarify", "fr"),  # nothing tells: the default language
    ]
    forced = faqbot("ask", "--dialogue", "--lang", "fr", stdin="Hallo\n")
    assert json.loads(forced.stdout)["language"] == "fr"  # the user's own language holds


def test_chat_knows_the_bot_s_commands_and_names_no_button_it_lacks():
    run = faqbot(
        "chat",
        stdin="/start\n/ask où est la poste ?\nWhat is the Be 4.0 fair?\n1\n/language de\n",
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "1. Le programme Territoires d'Industrie" in out  # /start shows the topics
    assert "[fr] où est la poste ?" in out  # /ask: what staff would get
    assert "(Here: /ask followed by your question sends it to the team.)" in out
    assert "How many visitors did Be 4.0 have?" in out  # 1: in English, the conversation's
    assert "Sprache auf Deutsch eingestellt." in out  # /language as /lang
