"""The `faqbot` command line: ask, chat, check, eval, report, drafts; run and reload the bot;
links and qr (the deep links of posters)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.answering.check import check_knowledge_base
from bot.answering.conversation import take_turn
from bot.answering.dialogue import DialogueState
from bot.answering.engine import (
    ANSWER,
    ESCALATE,
    GAP,
    OFF_TOPIC,
    SUGGEST,
    Decision,
    Engine,
    settle,
)
from bot.answering.evaluation import (
    Outcome,
    evaluate,
    format_conversation_report,
    format_report,
    load_conversation_sets,
    load_questions,
    run_conversations,
    without_faq_copies,
)
from bot.answering.knowledge import LEARNED_FILE, KnowledgeBaseError, LoadResult, load_or_raise
from bot.config import ConfigError, ServiceError, Settings
from bot.desk import learning
from bot.desk.tickets import answered_drafts, format_unanswered, render_drafts, unanswered_report
from bot.i18n import LANGUAGES, gettext_for
from bot.links import LinkError
from bot.pidfile import NoRunningBot, running_bot_pid
from bot.store.lock import exclusive_database
from bot.store.storage import Storage, StorageError


def _load_engine(settings: Settings, faq: str | None) -> Engine:
    kb = load_or_raise(Path(faq) if faq else settings.faq_dir)
    return Engine(kb, settings.thresholds)


def _questions(args: Sequence[str], stdin: TextIO) -> Iterable[str]:
    for question in args:
        if question == "-":
            yield from (line.strip() for line in stdin if line.strip())
        else:
            yield question


def cmd_ask(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    engine = _load_engine(settings, args.faq)
    if args.dialogue:
        return ask_dialogues(engine, args.lang, sys.stdin, out, settings.default_language)
    if not args.question:
        print("faqbot ask: give questions, or - to read them from stdin", file=sys.stderr)
        return 2
    for question in _questions(args.question, sys.stdin):
        decision = engine.decide(question, args.lang, settings.default_language)
        if args.json:
            print(json.dumps(decision.as_json(engine.kb), ensure_ascii=False), file=out)
        else:
            print(f"[{decision.status} {decision.faq_id or ''} {decision.score:.0f}]", file=out)
            print(decision.text, file=out)
            if decision.shows_topics:
                for topic in engine.kb.topics:
                    print(f"  - {topic.names[decision.language]}", file=out)
            print(file=out)
    return 0


def ask_dialogues(
    engine: Engine,
    language: str | None,
    lines: Iterable[str],
    out: TextIO,
    default: str = "fr",
) -> int:
    """`faqbot ask --json --dialogue`: one message per line, an empty line starts a new
    conversation; each message is decided in its conversation (as the Telegram chat does), one
    JSON object per line with its conversation's number (`dialogue`) and turn (`turn`).
    `language` None (no --lang): the user's language is not known, their messages tell it."""
    state, number, turn_number, clock = DialogueState(), 0, 0, 1_000_000.0
    for raw in lines:
        text = raw.strip()
        if not text:
            if turn_number:
                state, number, turn_number = DialogueState(), number + 1, 0
            continue
        clock += 5.0
        turn = take_turn(engine, text, state, language, clock, default)
        state, turn_number = turn.state, turn_number + 1
        record = turn.decision.as_json(engine.kb) | {"dialogue": number, "turn": turn_number}
        print(json.dumps(record, ensure_ascii=False), file=out)
    return 0


def print_check_report(result: LoadResult, out: TextIO) -> None:
    for problem in result.problems:
        print(problem, file=out)
    kb = result.knowledge_base
    summary = f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)" + (
        f"; {len(kb)} entries in {len(kb.topics)} topics" if kb else ""
    )
    print(("FAILED: " if result.errors else "OK: ") + summary, file=out)


def cmd_check(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    path = Path(args.path) if args.path else settings.faq_dir
    result = check_knowledge_base(path, settings.thresholds)
    print_check_report(result, out)
    return 1 if result.errors else 0


#: `faqbot reload` exit code when no bot is running (1 is "the FAQ has errors").
NO_BOT = 3


def cmd_reload(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Check the FAQ the bot serves, then ask the running bot (SIGHUP) to load it."""
    path = Path(args.faq) if args.faq else settings.faq_dir
    result = check_knowledge_base(path, settings.thresholds)
    print_check_report(result, out)
    if result.errors:
        print(
            "faqbot reload: the FAQ has errors; the running bot keeps serving the current one",
            file=sys.stderr,
        )
        return 1
    try:
        pid = running_bot_pid(settings.pid_path)
    except NoRunningBot as exc:
        print(f"faqbot reload: {exc}; the FAQ will be served at the next start", file=sys.stderr)
        return NO_BOT
    os.kill(pid, signal.SIGHUP)
    print(
        f"Reload requested: the bot (pid {pid}) checks {path} again and serves it; "
        "its log says when it is done",
        file=out,
    )
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    engine = _load_engine(settings, args.faq)
    if Path(args.file).is_dir():
        return eval_folder(engine, Path(args.file), out)
    try:
        items = load_questions(args.file)
    except (OSError, ValueError) as exc:
        print(f"faqbot eval: {exc}", file=sys.stderr)
        return 2

    def ask(question: str) -> Outcome:
        d = engine.decide(question, default_language=settings.default_language)
        return Outcome(d.status, d.faq_id, d.language)

    print(format_report(evaluate(items, ask)), file=out)
    return 0


def eval_folder(engine: Engine, folder: Path, out: TextIO) -> int:
    """`faqbot eval tests/data/`: the question set (eval.yaml) and the conversation sets, the
    part kept aside (holdout) reported apart from the rest."""
    if (folder / "eval.yaml").exists():
        items = load_questions(folder / "eval.yaml")
        print(
            format_report(evaluate(items, lambda q: _outcome(engine, q))).split("\n\n")[0], file=out
        )
        print(file=out)
    try:
        dialogues = without_faq_copies(load_conversation_sets(folder), engine.kb)
    except (OSError, ValueError, KeyError) as exc:
        print(f"faqbot eval: {exc}", file=sys.stderr)
        return 2
    for title, part in (
        ("conversation sets, whole data (what the test floors hold)", dialogues),
        ("conversation sets, tuning part", [d for d in dialogues if not d.holdout]),
        ("conversation sets, held out", [d for d in dialogues if d.holdout]),
    ):
        if not part:  # every held-out part measured and released: no rates of nothing
            print(f"{title}: none", file=out)
            print(file=out)
            continue
        report = run_conversations(engine, part)
        print(format_conversation_report(report, title), file=out)
        print(file=out)
    return 0


def _outcome(engine: Engine, question: str) -> Outcome:
    d = engine.decide(question)
    return Outcome(d.status, d.faq_id, d.language)


class TerminalChat:
    """The same conversation as on Telegram, in a terminal: the same turn (`take_turn`, with
    its dialogue state and language), the same commands (/start, /topics, /language, /ask,
    /help), and numbers for what Telegram shows as buttons."""

    def __init__(self, engine: Engine, language: str, write: Callable[[str], None]):
        self.engine = engine
        self.language = language
        self.write = write
        self.options: list[tuple[str, str]] = []  # (kind, id): ("entry", faq_id) | ("topic", id)
        self.state = DialogueState()
        self.clock = time.time

    @property
    def _(self) -> Callable[[str], str]:
        return gettext_for(self.language)

    def offer(self, title: str, options: list[tuple[str, str, str]]) -> None:
        """Print numbered choices: (kind, id, label)."""
        self.options = [(kind, ident) for kind, ident, _ in options]
        if options:
            if title:
                self.write(title)
            for i, (_, _, label) in enumerate(options, 1):
                self.write(f"  {i}. {label}")

    def show_entry(self, faq_id: str, also: str | None = None, then: str | None = None) -> None:
        """An answer, `then` a second text (a compound question's other half), and the
        related questions as numbered picks, `also` (the other half's entry) first."""
        entry = self.engine.kb.entries[faq_id]
        answer = entry.answers[self.language]
        self.write(answer)
        if then:
            self.write(then)
        if self._("Ask the team") in answer + (then or ""):  # the answer names the button
            self.write(self._("(Here: /ask followed by your question sends it to the team.)"))
        related = [r for r in entry.related if r in self.engine.kb.entries and r != also]
        if also in self.engine.kb.entries:
            related.insert(0, also)
        self.offer(
            self._("Related questions:"),
            [("entry", r, self.engine.kb.entries[r].title(self.language)) for r in related],
        )
        self.state = DialogueState(self.language, (faq_id,), entry.topic, ANSWER, self.clock())

    def show_topics(self) -> None:
        self.offer(
            self._("Topics:"),
            [("topic", t.id, t.names[self.language]) for t in self.engine.kb.topics],
        )

    def show_topic(self, topic_id: str) -> None:
        topic = self.engine.kb.topic(topic_id)
        if topic is None:
            return
        self.offer(
            topic.names[self.language],
            [("entry", e, self.engine.kb.entries[e].title(self.language)) for e in topic.entry_ids],
        )

    def handle(self, line: str) -> bool:
        """Process one line; False when the user wants to leave."""
        _ = self._
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit", "/q"):
            return False
        command, _space, rest = line.partition(" ")
        if command == "/start":
            self.write(self.help())
            self.show_topics()
            return True
        if command == "/topics":
            self.show_topics()
            return True
        if command in ("/lang", "/language"):
            choice = rest.strip()
            if choice in LANGUAGES:
                self.language = choice
                self.state = DialogueState(choice)
                self.write(self._("Language set to English."))
            else:
                self.write(_("Choose a language: /lang fr, /lang de or /lang en."))
            return True
        if command == "/help":
            self.write(self.help())
            return True
        if command == "/ask":
            if rest.strip():
                self.write(_("Would be sent to the team:") + f" [{self.language}] {rest.strip()}")
            else:
                self.write(
                    _(
                        "Send /ask followed by your question, for example: /ask Who can "
                        "join the programme?"
                    )
                )
            return True
        if line.isdigit() and self.options:
            number = int(line)
            if not 1 <= number <= len(self.options):
                self.write(_("Please choose a number from the list."))
                return True
            kind, ident = self.options[number - 1]
            if kind == "topic":
                self.show_topic(ident)
            else:
                self.show_entry(ident)
            return True
        turn = take_turn(self.engine, line, self.state, self.language, self.clock())
        self.state = turn.state
        self.language = turn.decision.language  # the conversation's, for what follows
        self.answer(turn.decision)
        return True

    def answer(self, decision: Decision) -> None:
        _ = gettext_for(decision.language)
        if decision.status == ANSWER and decision.faq_id:
            both = decision.both and decision.also in self.engine.kb.entries
            self.show_entry(
                decision.faq_id,
                also=None if both else decision.also,
                then=(
                    self.engine.kb.entries[decision.also].answers[self.language]
                    if both
                    else decision.also_text
                ),
            )
        elif decision.status == SUGGEST:
            self.offer(
                decision.text.splitlines()[0],
                [
                    ("entry", c.faq_id, self.engine.kb.entries[c.faq_id].title(decision.language))
                    for c in decision.suggestions
                ],
            )
            self.write(_("(type a number, or ask again in other words)"))
        else:
            self.write(decision.text)
            if decision.status == GAP and decision.faq_id:
                entry = self.engine.kb.entries[decision.faq_id]
                self.offer("", [("entry", entry.id, entry.title(decision.language))])
            elif decision.shows_topics:
                self.show_topics()
            if decision.status == OFF_TOPIC:  # as the bot's "Ask the team" under the topics
                self.write(_("(Here: /ask followed by your question sends it to the team.)"))
        if decision.status in (ESCALATE, GAP):
            self.write(
                _("Would be sent to the team:") + f" [{decision.language}] {decision.question}"
            )

    def help(self) -> str:
        return self._(
            "Ask a question about the Sud Alsace Territoire d'Industrie in French, German or "
            "English. Commands: /topics to browse, /lang fr|de|en to change language, /quit to "
            "leave. Type a number to choose a suggestion."
        )


def cmd_chat(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    engine = _load_engine(settings, args.faq)
    chat = TerminalChat(
        engine, args.lang or settings.default_language, lambda s: print(s, file=out)
    )
    print(chat.help(), file=out)
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return 0
        if not chat.handle(line):
            return 0


def _open_database(settings: Settings) -> Storage:
    """The bot's existing database; never creates one (a typo in FAQBOT_DB would)."""
    if not settings.db_path.is_file():
        raise StorageError(
            f"no database at {settings.db_path} (set FAQBOT_DB to the bot's database file)"
        )
    return Storage(settings.db_path)


def cmd_report(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    storage = _open_database(settings)
    try:
        groups = unanswered_report(storage, limit=args.limit)
    finally:
        storage.close()
    print(format_unanswered(groups), file=out)
    return 0


def cmd_drafts(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    storage = _open_database(settings)
    try:
        items = answered_drafts(storage)
    finally:
        storage.close()
    text = render_drafts(items)
    if not args.output:
        print(text, end="", file=out)
        return 0
    target = Path(args.output)
    if target.exists() and not args.force:
        print(
            f"faqbot drafts: {target} exists (it may hold reviewed edits); use --force",
            file=sys.stderr,
        )
        return 1
    target.write_text(text, encoding="utf-8")
    print(f"{len(items)} draft(s) written to {target}", file=out)
    return 0


def cmd_learn(
    args: argparse.Namespace, settings: Settings, out: TextIO, stdin: TextIO | None = None
) -> int:
    """Walk the candidate wordings one at a time, as /learn does: add, reject or skip.

    An added wording goes to the learned file only if the FAQ passes the check with it; the
    running bot is then asked to serve it (SIGHUP, as `faqbot reload`)."""
    stdin = stdin or sys.stdin
    storage = _open_database(settings)
    kb = load_or_raise(settings.faq_dir)
    language = settings.default_language
    added = 0
    skipped: set[int] = set()
    try:
        while (candidate := learning.next_candidate(storage, skipped)) is not None:
            entry = kb.entries.get(candidate.faq_id)
            title = entry.title(language) if entry is not None else candidate.faq_id
            print(f"\n{candidate.faq_id}: {title}", file=out)
            print(f"  new wording ({candidate.language}, seen {candidate.seen}x):", file=out)
            print(f"  {candidate.text}", file=out)
            print("  [a]dd, [r]eject, [s]kip, [q]uit? ", end="", file=out, flush=True)
            choice = (stdin.readline() or "q").strip().lower()[:1]
            if choice == "a":
                outcome = learning.accept(storage, settings.faq_dir, candidate, settings.thresholds)
                if outcome.accepted:
                    added += 1
                    print("  added", file=out)
                else:
                    print(f"  not added: {outcome.reason}", file=out)
                    skipped.add(candidate.id)
            elif choice == "r":
                learning.decide(storage, candidate, learning.REJECTED)
                print("  rejected", file=out)
            elif choice == "s":
                skipped.add(candidate.id)
            else:
                break
    finally:
        storage.close()
    print(f"\n{added} wording(s) added to {settings.faq_dir / LEARNED_FILE}", file=out)
    if added:
        try:
            os.kill(running_bot_pid(settings.pid_path), signal.SIGHUP)
            print("the running bot checks the FAQ again and serves it", file=out)
        except NoRunningBot:
            print("no bot is running: the wordings are served at its next start", file=out)
    return 0


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def cmd_run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Run the Telegram bot (long polling, or a webhook) until SIGTERM or Ctrl-C."""
    if not settings.token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set; put the token from @BotFather in the environment "
            "(see .env.example)"
        )
    if args.webhook:
        settings.check_webhook()
    if args.faq:  # the folder /reload and SIGHUP read again
        settings = replace(settings, faq_dir=Path(args.faq))
    # Telegram is only imported by the command that needs it.
    from bot.logs import configure_logging, token_secrets
    from bot.telegram.app import run, run_webhook

    # One bot per database, for the life of the process, before anything touches the file.
    with exclusive_database(settings.db_path):
        secrets = [*token_secrets(settings.token), settings.webhook_secret]
        configure_logging(args.verbose, secrets=secrets)
        engine = settle(_load_engine(settings, None))
        storage = Storage(settings.db_path)
        try:
            (run_webhook if args.webhook else run)(settings, engine, storage)
        finally:
            storage.close()
    return 0


def _bot_username(args: argparse.Namespace, settings: Settings) -> str:
    """--bot-username, else TELEGRAM_BOT_USERNAME, else getMe with the token."""
    from bot.links import clean_username, username_from_get_me

    name = args.bot_username or settings.bot_username
    if not name and settings.token:
        name = username_from_get_me(settings.api_url, settings.token)
    if not name:
        raise LinkError(
            "the links need the bot's username: --bot-username, TELEGRAM_BOT_USERNAME, "
            "or TELEGRAM_BOT_TOKEN to ask Telegram"
        )
    return clean_username(name)


def cmd_links(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Every topic's and entry's deep link, tab-separated: payload, kind, link, label."""
    from bot.links import all_links

    kb = load_or_raise(_faq_dir(args, settings))
    username = _bot_username(args, settings)
    for link in all_links(kb, username, args.lang or settings.default_language):
        print(f"{link.payload}\t{link.kind}\t{link.url}\t{link.label}", file=out)
    return 0


def cmd_qr(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """The QR code of one topic's or entry's deep link, as PNG or SVG for print."""
    from bot.links import find_link, write_qr

    kb = load_or_raise(_faq_dir(args, settings))
    link = find_link(kb, _bot_username(args, settings), args.target, settings.default_language)
    output = Path(args.output)
    version, size = write_qr(link.url, output, scale=args.scale)
    print(
        f"{output}: {link.url} ({link.kind} {link.target}: {link.label}); "
        f"QR version {version}, {size}×{size} modules",
        file=out,
    )
    return 0


def _faq_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.faq) if args.faq else settings.faq_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faqbot",
        description="Assistant of the Sud Alsace Territoire d'Industrie (FAQ, Telegram bot).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lang = {"choices": LANGUAGES, "help": "answer in this language (default: the question's)"}
    faq = {"help": "FAQ folder (default: FAQBOT_FAQ_DIR or the bundled faq/)"}

    ask = sub.add_parser("ask", help="answer questions ('-' reads one per line from stdin)")
    ask.add_argument("question", nargs="*", help="questions, or - to read them from stdin")
    ask.add_argument("--lang", **lang)
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument(
        "--dialogue",
        action="store_true",
        help="stdin holds conversations: one message per line, an empty line between two "
        "conversations; JSON out (with dialogue and turn numbers)",
    )
    ask.add_argument("--faq", **faq)
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="talk to the assistant in this terminal")
    chat.add_argument("--lang", **lang)
    chat.add_argument("--faq", **faq)
    chat.set_defaults(func=cmd_chat)

    check = sub.add_parser("check", help="validate the FAQ files (exit 1 on errors)")
    check.add_argument("path", nargs="?")
    check.set_defaults(func=cmd_check)

    ev = sub.add_parser("eval", help="accuracy on a labelled question set")
    ev.add_argument("file")
    ev.add_argument("--faq", **faq)
    ev.set_defaults(func=cmd_eval)

    report = sub.add_parser(
        "report", help="the most frequent questions the FAQ could not answer (FAQBOT_DB)"
    )
    report.add_argument("--limit", type=_positive, default=20, help="groups shown (default 20)")
    report.set_defaults(func=cmd_report)

    dr = sub.add_parser("drafts", help="YAML drafts of FAQ entries from staff answers (FAQBOT_DB)")
    dr.add_argument("--output", help="write to this file instead of printing")
    dr.add_argument("--force", action="store_true", help="overwrite an existing --output file")
    dr.set_defaults(func=cmd_drafts)

    learn = sub.add_parser(
        "learn", help="review new wordings learned from the team (FAQBOT_DB), as /learn does"
    )
    learn.set_defaults(func=cmd_learn)

    run = sub.add_parser("run", help="run the Telegram bot (long polling, TELEGRAM_BOT_TOKEN)")
    run.add_argument("--faq", **faq)
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates on a webhook (TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET, "
        "FAQBOT_LISTEN, FAQBOT_PORT) instead of long polling",
    )
    run.add_argument("--verbose", action="store_true", help="debug logs, users' messages included")
    run.set_defaults(func=cmd_run)

    reload = sub.add_parser(
        "reload",
        help="check the FAQ, then make the running bot serve it (exit 1: errors, 3: no bot)",
    )
    reload.add_argument("--faq", **faq)
    reload.set_defaults(func=cmd_reload)

    username = {
        "help": "the bot's username (default: TELEGRAM_BOT_USERNAME, else getMe with the token)"
    }
    links = sub.add_parser(
        "links", help="the deep link (t.me/<bot>?start=...) of every topic and entry"
    )
    links.add_argument("--bot-username", **username)
    links.add_argument("--lang", choices=LANGUAGES, help="labels in this language")
    links.add_argument("--faq", **faq)
    links.set_defaults(func=cmd_links)

    qr = sub.add_parser("qr", help="draw the QR code of a topic's or entry's deep link")
    qr.add_argument("target", help="a topic or entry id (or its payload: t-kmo, e-kmo-what)")
    qr.add_argument("--output", required=True, help="FILE.png or FILE.svg")
    qr.add_argument("--scale", type=_positive, default=10, help="pixels per module (10)")
    qr.add_argument("--bot-username", **username)
    qr.add_argument("--faq", **faq)
    qr.set_defaults(func=cmd_qr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.func(args, settings, sys.stdout)
    except ConfigError as exc:
        print(f"faqbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except (StorageError, ServiceError, LinkError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 1
    except KnowledgeBaseError as exc:
        print("faqbot: the FAQ cannot be loaded:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
