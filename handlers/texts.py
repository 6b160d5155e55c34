"""What the bot says, as Telegram HTML, in the user's language.

Every sentence is an English msgid translated in `locales/`; every piece of text that does not
come from this file (FAQ answers, names, even the translations) is escaped. Nothing here
imports Telegram, so the texts are easy to test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time

from bot.answering.knowledge import Entry, KnowledgeBase, Problem, Topic
from bot.desk.tickets import (
    ANSWERED,
    CLOSED,
    HOURLY_LIMIT,
    OPEN,
    OPEN_LIMIT,
    STAFF,
    USER,
    DeskStats,
    Ticket,
    TicketMessage,
)
from bot.formatting import bold, escape, strip_bidi
from bot.i18n import LANGUAGE_NAMES, format_duration, format_number, gettext_for
from bot.store.retention import RETENTION_DAYS

#: How much of a question a list line (/open, the digest) shows.
LIST_QUESTION_CHARS = 100
#: How many errors of a refused FAQ /reload shows (`faqbot check` lists them all).
RELOAD_ERRORS_SHOWN = 5


def italic(text: object) -> str:
    return f"<i>{escape(text)}</i>"


def command_descriptions(language: str) -> list[tuple[str, str]]:
    """The command menu: (command, description) in plain text, as Telegram shows it."""
    _ = gettext_for(language)
    return [
        ("start", _("Start and choose your language")),
        ("topics", _("Browse the questions by topic")),
        ("ask", _("Send a question to the team")),
        ("language", _("Change the language")),
        ("help", _("What this assistant can do")),
        ("privacy", _("What is stored about you")),
        ("forget", _("Delete what is stored about you")),
    ]


# The bot's public face: its profile (set at start, handlers/profile.py) and the home screen
# after /start (handlers/home.py). Plain text where Telegram shows it as such.

#: Telegram's limits for the profile's texts (setMyName, setMyShortDescription, setMyDescription).
NAME_LIMIT, SHORT_DESCRIPTION_LIMIT, DESCRIPTION_LIMIT = 64, 120, 512


def bot_name(language: str) -> str:
    """The bot's name, as the chat list shows it (plain text, at most 64 characters)."""
    _ = gettext_for(language)
    return _("Sud Alsace Territoire d'Industrie assistant")


def bot_short_description(language: str) -> str:
    """The bot's profile and the link previews (plain text, at most 120 characters)."""
    _ = gettext_for(language)
    return _(
        "The programme's FAQ on the Sud Alsace Territoire d'Industrie, in French, German "
        "and English."
    )


def bot_description(language: str) -> str:
    """What an empty chat with the bot shows before Start (plain text, at most 512
    characters). Only what the FAQ and the bot do: no date, address or number of its own."""
    _ = gettext_for(language)
    return "\n\n".join(
        [
            _(
                "I answer questions about the Sud Alsace Territoire d'Industrie (the programme, "
                "KMØ, Campus Industrie 4.0, training, the Be 4.0 fair) from the programme's FAQ, "
                "in French, German or English."
            ),
            _(
                "What the FAQ does not answer, I hand to the programme's team, who answer you "
                "here in this chat."
            ),
            _("Tap Start and ask your question in your own words."),
        ]
    )


def open_assistant(language: str) -> str:
    """The deep-link button under inline results (plain text)."""
    _ = gettext_for(language)
    return _("Open the assistant")


def inline_topic(topic: Topic, titles: Sequence[str], language: str) -> str:
    """A topic sent from inline mode: its name, then its questions."""
    _ = gettext_for(language)
    lines = [bold(topic.names[language]), escape(_("Questions of this topic:"))]
    return "\n".join([*lines, *("• " + escape(title) for title in titles)])


def welcome(language: str, first_name: str | None) -> str:
    _ = gettext_for(language)
    if first_name:
        greeting = escape(_("Hello {name}!")).format(name=escape(first_name))
    else:
        greeting = escape(_("Hello!"))
    return "\n\n".join(
        [
            greeting
            + " "
            + escape(_("I am the assistant of the Sud Alsace Territoire d'Industrie.")),
            escape(
                _(
                    "Ask me a question in French, German or English, in your own words, or "
                    "choose one of the most asked questions or a topic below."
                )
            ),
            escape(_("Choose your language:")),
        ]
    )


def choose_language(language: str) -> str:
    _ = gettext_for(language)
    current = _("Current language: {language}").format(language=LANGUAGE_NAMES[language])
    return escape(current) + "\n\n" + escape(_("Choose your language:"))


def language_set(language: str) -> str:
    """The confirmation, written in the language just chosen."""
    _ = gettext_for(language)
    return "\n\n".join(
        [
            escape(_("Language set to English.")),
            escape(
                _(
                    "Ask your question in your own words, or choose one of the most asked "
                    "questions or a topic below."
                )
            ),
        ]
    )


def help_text(language: str, entries: int, topics: int) -> str:
    _ = gettext_for(language)
    intro = _(
        "I answer questions about the Sud Alsace Territoire d'Industrie from an FAQ of "
        "{entries} answers in {topics} topics, in French, German and English."
    ).format(entries=format_number(entries, language), topics=format_number(topics, language))
    lines = [
        escape(_("Type your question in your own words: I answer in the language you write in."))
    ]
    lines += [
        f"/{command} — {escape(description)}"
        for command, description in command_descriptions(language)
        if command in ("topics", "ask", "language", "privacy", "forget")
    ]
    outro = _(
        "Under each answer, 👍 and 👎 tell the FAQ editors whether it helped, and "
        "“Ask the team” is there when the FAQ is not enough."
    )
    return "\n\n".join([escape(intro), "\n".join(lines), escape(outro)])


def privacy_text(language: str, retention_days: int = RETENTION_DAYS) -> str:
    _ = gettext_for(language)
    items = [
        _(
            "Your Telegram user ID and the language you chose, so that I answer you in that "
            "language. This preference does not expire."
        ),
        _(
            "The questions you type, with the answer I gave, and your 👍/👎 on answers. The "
            "FAQ editors read them to improve the answers; they are deleted automatically "
            "after {days} days."
        ).format(days=format_number(retention_days, language)),
        _(
            "If you ask the team, a ticket: your question, your name as Telegram shows it, "
            "and the messages exchanged with the team, always in a private chat with you, "
            "even when you asked in a group. Closed tickets are deleted automatically after "
            "{days} days."
        ).format(days=format_number(retention_days, language)),
        _(
            "Photos, voice messages, files and locations you send are neither downloaded "
            "nor stored."
        ),
        _("Messages go through Telegram's servers, under Telegram's own privacy policy."),
    ]
    forget = _(
        "Send /forget to delete everything stored about you at once: your language, your "
        "questions, your feedback and your tickets."
    )
    staff_copies = _(
        "/forget also deletes the bot's messages in the team's Telegram group that show your "
        "questions or your name (ticket cards, your follow-ups, the lists of waiting and "
        "unanswered questions), as long as Telegram allows it (48 hours after they were "
        "posted). Older ones and the team's own messages stay in that group's history: ask "
        "the team if you want them removed."
    )
    return (
        bold(_("What this assistant stores"))
        + "\n\n"
        + "\n".join("• " + escape(item) for item in items)
        + "\n\n"
        + escape(forget)
        + " "
        + escape(staff_copies)
    )


def answer(entry: Entry, language: str) -> str:
    """An FAQ answer under its question, both escaped."""
    return bold(entry.title(language)) + "\n\n" + escape(entry.answers[language])


def topics_menu(language: str) -> str:
    _ = gettext_for(language)
    return bold(_("Topics")) + "\n" + escape(_("Choose a topic:"))


def topic_menu(topic: Topic, language: str) -> str:
    _ = gettext_for(language)
    return bold(topic.names[language]) + "\n" + escape(_("Choose a question:"))


def suggestions(language: str, header: str | None = None) -> str:
    """Above suggestion buttons: "Did you mean", or the engine's own `header` for a follow-up
    ("About KMØ? Did you mean:")."""
    _ = gettext_for(language)
    return escape(header or _("I am not sure I understood. Did you mean:"))


def ticket_created(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Thank you, your question has been sent to the team as ticket #{number}. The "
            "answer will arrive here, in this chat."
        ).format(number=ticket_id)
    )


def asked_in_group(language: str, title: str, question: str) -> str:
    """The private message to a user who asked the team in a group: which question it is."""
    _ = gettext_for(language)
    intro = _("You asked the team in the group “{title}”:").format(title=title)
    return escape(intro) + "\n\n" + escape(question)


def written_privately(language: str, name: str) -> str:
    """In the group: the team's answer goes to the user's private chat."""
    _ = gettext_for(language)
    return escape(
        _(
            "{name}, I have written to you privately: the team's answer will reach you "
            "there, not in this group."
        ).format(name=name)
    )


def open_private_chat(language: str, name: str, link: str) -> str:
    """In the group, to a user who never opened a private chat with the bot."""
    _ = gettext_for(language)
    return escape(
        _(
            "{name}, the team answers privately, never in a group, and I cannot write to "
            "you yet. Open {link} and tap Start: your question then goes to the team."
        ).format(name=name, link=link)
    )


def team_unreachable(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Thank you, your question is saved as ticket #{number}, but the team cannot be "
            "reached from this chat yet. Meanwhile, try /topics or ask your question in "
            "other words."
        ).format(number=ticket_id)
    )


def already_filed(language: str, ticket_id: int) -> str:
    """A second "Ask the team" on a question that is a ticket already."""
    _ = gettext_for(language)
    return escape(
        _(
            "This question is already with the team as ticket #{number}. The answer will "
            "arrive here, in this chat."
        ).format(number=ticket_id)
    )


def sent_again(language: str) -> str:
    """Under a message sent a second time because an interruption hid whether the first try
    arrived (the outbox's at-least-once delivery)."""
    _ = gettext_for(language)
    return escape(_("(sent again after an interruption)"))


def flooding(language: str) -> str:
    """Once, to a user who sends more messages than the bot takes from one person."""
    _ = gettext_for(language)
    return escape(
        _(
            "You are sending messages faster than I can read them. I will skip the ones that "
            "arrive in the next minute; please send your question again after that."
        )
    )


def ticket_banned(language: str) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Sorry, I cannot pass your questions on to the team any more. The FAQ and "
            "/topics remain available."
        )
    )


def ticket_limit(language: str, kind: str = OPEN_LIMIT, retry_after: float | None = None) -> str:
    """A refused ticket (`LimitReached`): too many waiting (OPEN_LIMIT), or too many asked in
    the last hour (HOURLY_LIMIT: `retry_after` seconds until the next one is accepted)."""
    _ = gettext_for(language)
    if kind == HOURLY_LIMIT:
        # Whole minutes, rounded up: "in 1 minute" rather than "in 0 minutes" or "in 37 seconds".
        wait = max(60, math.ceil((retry_after or 0) / 60) * 60)
        return escape(
            _(
                "You have sent several questions to the team within the last hour. You can send "
                "a new one in {duration}; the FAQ and /topics remain available."
            ).format(duration=format_duration(wait, language))
        )
    return escape(
        _(
            "You already have several questions waiting for the team. Please wait for their "
            "answers before asking a new one; the FAQ and /topics remain available."
        )
    )


def ask_usage(language: str) -> str:
    _ = gettext_for(language)
    return escape(
        _("Send /ask followed by your question, for example: /ask Who can join the programme?")
    )


def team_answer_header(language: str, ticket_id: int) -> str:
    """The bold first line of every answer from the team: it names the ticket, so that a reply
    to the answer joins it even when which ticket it belongs to was never written down."""
    _ = gettext_for(language)
    return bold(
        _("Answer from the Territoire d'Industrie team (ticket #{number})").format(number=ticket_id)
    )


def staff_answer(language: str, answer_text: str, ticket_id: int, *, hint: bool = True) -> str:
    """A staff answer as the user receives it: `team_answer_header`, then the answer,
    escaped, then (`hint`) how to go on: reply to continue, or "Solved"."""
    html = team_answer_header(language, ticket_id)
    if answer_text:
        html += "\n\n" + escape(answer_text)
    if hint:
        html += "\n\n" + italic(reply_to_continue(language))
    return html


def who(user_name: str, username: str | None) -> str:
    """How staff see a user: the name Telegram shows, and the @username if there is one,
    without direction controls (see `bot.formatting.strip_bidi`)."""
    name = strip_bidi(user_name or "") or "?"
    return f"{name} (@{strip_bidi(username)})" if username else name


def staff_card(
    language: str,
    ticket: Ticket,
    details: Sequence[str] = (),
    *,
    kb: KnowledgeBase | None = None,
    zone: tzinfo | None = None,
) -> str:
    """A ticket as staff see it in the staff chat, its state first (the living card, edited
    as the ticket moves); everything that came from a user escaped. FAQ entries are shown by
    their question in the team's `language` (with `kb`), never by id or score.

    `details` (HTML lines, see `staff_ticket`) go between the guesses and the instructions.
    """
    _ = gettext_for(language)
    head = bold(_("Ticket #{number}").format(number=ticket.id))
    lines = [
        head + " · " + escape(card_state(language, ticket, zone)),
        escape(_("From: {name}").format(name=who(ticket.user_name, ticket.username))),
        escape(_("Language: {language}").format(language=LANGUAGE_NAMES[ticket.language])),
    ]
    if ticket.language != language:
        lines[-1] += " — " + bold(
            _("writes in {language}").format(language=language_name(ticket.language, language))
        )
    if ticket.asked_in is not None:
        lines.append(escape(_("Asked in the group “{title}”").format(title=ticket.asked_in)))
    delivery = card_delivery(language, ticket, zone)
    if delivery:
        lines.append(escape(delivery))
    lines += ["", escape(ticket.question), ""]
    replied = bot_replied(language, ticket, kb)
    if replied:
        lines.append(escape(replied))
    guesses = [_entry_title(kb, faq_id, language) for faq_id, _score in ticket.guesses]
    shown = ", ".join(f"“{title}”" for title in guesses if title) or _("none")
    lines.append(escape(_("FAQ answers that may fit: {questions}").format(questions=shown)))
    lines += [*details, escape(_("Reply to this message to answer the user."))]
    return "\n".join(lines)


def _entry_title(kb: KnowledgeBase | None, faq_id: str, language: str) -> str | None:
    if kb is None:
        return None
    entry = kb.entries.get(faq_id)
    return entry.title(language) if entry is not None else None


def language_name(code: str, in_language: str) -> str:
    """ "allemand", "German", "Deutsch": a language's name, in another language (Babel's)."""
    return Locale.parse(in_language).languages.get(code, code)


def _clock(timestamp: float, language: str, zone: tzinfo | None) -> str:
    moment = datetime.fromtimestamp(timestamp, zone or UTC)
    return format_time(moment, "short", locale=language)


def card_state(language: str, ticket: Ticket, zone: tzinfo | None = None) -> str:
    """The card's state line: waiting · taken by X · answered by X at HH:MM · closed by X."""
    _ = gettext_for(language)
    if ticket.status == CLOSED:
        if ticket.closed_by:
            return "🔒 " + _("closed by {name}").format(name=strip_bidi(ticket.closed_by))
        return "🔒 " + _("closed")
    if ticket.status == ANSWERED and ticket.last_answer_at is not None:
        when = _clock(ticket.last_answer_at, language, zone)
        if ticket.answered_by:
            name = strip_bidi(ticket.answered_by)
            return "✅ " + _("answered by {name} at {time}").format(name=name, time=when)
        return "✅ " + _("answered at {time}").format(time=when)
    taken = (
        _("taken by {name}").format(name=strip_bidi(ticket.assignee_name))
        if ticket.assignee_name
        else None
    )
    if ticket.first_answer_at is not None:
        again = "⏳ " + _("waiting for the team again (the user wrote)")
        return f"{again} · {taken}" if taken else again
    if taken:
        return "✋ " + taken
    return "⏳ " + _("waiting for the team")


def card_delivery(language: str, ticket: Ticket, zone: tzinfo | None = None) -> str | None:
    """✓ when the team's last answer reached the user, ✗ with Telegram's reason when not."""
    _ = gettext_for(language)
    if ticket.flagged:
        return "✗ " + _("Answer not delivered: {reason}").format(reason=ticket.flagged)
    if ticket.last_answer_at is not None:
        when = _clock(ticket.last_answer_at, language, zone)
        return "✓ " + _("Answer delivered at {time}").format(time=when)
    return None


def bot_replied(language: str, ticket: Ticket, kb: KnowledgeBase | None) -> str | None:
    """What the bot had replied before the user asked the team, in the team's language."""
    _ = gettext_for(language)
    reply = ticket.bot_reply
    if not reply:
        return None
    shown = _entry_title(kb, reply.get("shown") or "", language)
    suggested = [
        t for t in (_entry_title(kb, f, language) for f in reply.get("suggested") or []) if t
    ]
    if shown:
        return _("The bot had answered with “{question}”.").format(question=shown)
    if suggested:
        questions = ", ".join(f"“{t}”" for t in suggested)
        return _("The bot had suggested: {questions}.").format(questions=questions)
    if reply.get("status") == "escalate":
        return _("The bot had no answer.")
    return None


def _status(language: str, status: str) -> str:
    _ = gettext_for(language)
    names = {
        OPEN: _("waiting for the team"),
        ANSWERED: _("answered"),
        CLOSED: _("closed"),
    }
    return names.get(status, status)


def staff_ticket(
    language: str,
    ticket: Ticket,
    messages: Iterable[TicketMessage],
    now: float,
    *,
    kb: KnowledgeBase | None = None,
    zone: tzinfo | None = None,
) -> str:
    """/ticket N: the card again (its state on top), with its age and its conversation."""
    _ = gettext_for(language)
    details = [
        escape(
            _("Status: {status}. Age: {duration}.").format(
                status=_status(language, ticket.status),
                duration=format_duration(now - ticket.created_at, language),
            )
        )
    ]
    authors = {STAFF: _("Team:"), USER: _("User:")}
    conversation = [
        bold(authors[m.direction]) + " " + escape(m.text)
        for m in messages
        if m.direction in authors and m.text
    ]
    if conversation:
        details = [*details, "", *conversation, ""]
    return staff_card(language, ticket, details, kb=kb, zone=zone)


def staff_answered_with_entry(language: str, ticket_id: int, name: str, title: str) -> str:
    _ = gettext_for(language)
    name = strip_bidi(name)
    return escape(
        _("Ticket #{number}: {name} sent the FAQ answer “{question}” to the user.").format(
            number=ticket_id, name=name, question=title
        )
    )


def staff_faq_answer(language: str, entry: Entry, ticket_id: int) -> str:
    """An FAQ entry sent by staff as the answer to a ticket: `team_answer_header`, then the
    entry's question and answer, in the ticket's language, without the sentences that tell
    the user to ask the team (the team is answering), then how to go on."""
    text = without_ask_the_team(entry.answers[language], language)
    return "\n\n".join(
        [
            team_answer_header(language, ticket_id),
            bold(entry.title(language)) + "\n\n" + escape(text),
            italic(reply_to_continue(language)),
        ]
    )


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def without_ask_the_team(text: str, language: str) -> str:
    """`text` minus its sentences that point to "Ask the team" or /ask (an FAQ answer that
    staff send: the user is talking to the team already). Unchanged if nothing would remain."""
    _ = gettext_for(language)
    label = _("Ask the team").lower()
    kept = [
        sentence
        for sentence in _SENTENCE_END.split(text.strip())
        if label not in sentence.lower() and "/ask" not in sentence
    ]
    return " ".join(kept) if kept else text


def reply_to_continue(language: str) -> str:
    """Under a team answer (plain text): how the user goes on."""
    _ = gettext_for(language)
    return _(
        "Reply to this message to continue with the team, or tap “Solved” if this answers "
        "your question."
    )


def answer_with_entry_label(language: str, title: str) -> str:
    """A button under a ticket card (plain text): send this FAQ answer to the user."""
    _ = gettext_for(language)
    return _("Answer with: {question}").format(question=title)


def staff_undelivered(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "The answer to ticket #{number} could not be delivered: the user has blocked "
            "the bot or deleted the chat. The ticket is flagged."
        ).format(number=ticket_id)
    )


def staff_delivery_failed(language: str, ticket_id: int, error: str) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "The answer to ticket #{number} could not be delivered ({error}). The ticket is "
            "flagged; reply under the card again to retry."
        ).format(number=ticket_id, error=error)
    )


def staff_delivery_pending(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "The answer to ticket #{number} could not be sent yet: Telegram did not answer. "
            "It is kept and sent again automatically; the ticket stays in /open until it "
            "arrives."
        ).format(number=ticket_id)
    )


def staff_not_deliverable(language: str) -> str:
    """A reply to a card with something that cannot be passed on (a poll, a location…)."""
    _ = gettext_for(language)
    return escape(
        _(
            "This was not sent to the user: only text, photos, documents, videos, voice "
            "and audio messages can be passed on."
        )
    )


def staff_correction(language: str, answer_text: str) -> str:
    """A staff answer edited after it was delivered: the new text, as a correction."""
    _ = gettext_for(language)
    return bold(_("Correction from the Territoire d'Industrie team")) + "\n\n" + escape(answer_text)


def staff_delivered(language: str, ticket_id: int) -> str:
    """A toast-like short confirmation: plain text."""
    _ = gettext_for(language)
    return _("Answer to ticket #{number} delivered.").format(number=ticket_id)


def staff_taken(language: str, ticket_id: int, name: str) -> str:
    _ = gettext_for(language)
    name = strip_bidi(name)
    return escape(_("Ticket #{number} taken by {name}.").format(number=ticket_id, name=name))


def staff_closed(language: str, ticket_id: int, name: str) -> str:
    _ = gettext_for(language)
    name = strip_bidi(name)
    return escape(_("Ticket #{number} closed by {name}.").format(number=ticket_id, name=name))


def staff_reopened(language: str, ticket_id: int, name: str) -> str:
    _ = gettext_for(language)
    name = strip_bidi(name)
    return escape(_("Ticket #{number} reopened by {name}.").format(number=ticket_id, name=name))


def staff_banned(language: str, ticket_id: int, closed: Sequence[int]) -> str:
    _ = gettext_for(language)
    text = _(
        "The author of ticket #{number} is banned: their questions no longer reach the team."
    ).format(number=ticket_id)
    if closed:
        numbers = ", ".join(f"#{n}" for n in closed)
        text += " " + _("Tickets closed: {tickets}.").format(tickets=numbers)
    return escape(text)


def staff_unbanned(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _("The author of ticket #{number} can ask the team again.").format(number=ticket_id)
    )


def staff_no_ticket(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _("There is no ticket #{number}: it never existed or has been deleted.").format(
            number=ticket_id
        )
    )


def staff_usage(language: str, command: str) -> str:
    _ = gettext_for(language)
    if command == "reply":
        usage = _(
            "Send /reply followed by the ticket number and the answer, for example: "
            "/reply 12 The next session starts in March."
        )
    else:
        usage = _(
            "Send /{command} followed by the ticket number, for example: /{command} 12"
        ).format(command=command)
    return escape(usage)


def _list_line(language: str, ticket: Ticket, waited: float) -> str:
    """One ticket in /open or the digest: number, wait, author, language, the question's start."""
    _ = gettext_for(language)
    question = " ".join(ticket.question.split())
    if len(question) > LIST_QUESTION_CHARS:
        question = question[: LIST_QUESTION_CHARS - 1].rstrip() + "…"
    head = f"#{ticket.id} · {format_duration(waited, language)} · "
    head += f"{who(ticket.user_name, ticket.username)} · {LANGUAGE_NAMES[ticket.language]}"
    if ticket.assignee_name:
        head += " · " + _("taken by {name}").format(name=strip_bidi(ticket.assignee_name))
    if ticket.flagged:
        head = "⚠️ " + head
    return bold(head) + "\n" + escape(question)


def _see_ticket(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("Send /ticket followed by a number to see that ticket and answer it."))


def staff_open(
    language: str,
    tickets: Sequence[tuple[Ticket, float]],
    undelivered: Sequence[tuple[Ticket, float]] = (),
) -> str:
    """/open: tickets waiting for the team, oldest first, each with its age; then answered
    tickets whose answer could not be delivered (they wait for the team too)."""
    _ = gettext_for(language)
    if not tickets and not undelivered:
        return escape(_("No ticket is waiting for the team."))
    blocks = []
    if tickets:
        title = _("Tickets waiting for the team: {count}").format(
            count=format_number(len(tickets), language)
        )
        blocks += [bold(title), *(_list_line(language, t, age) for t, age in tickets)]
    if undelivered:
        title = _("Answers not delivered: {count}").format(
            count=format_number(len(undelivered), language)
        )
        blocks += [bold(title), *(_list_line(language, t, age) for t, age in undelivered)]
    return "\n\n".join([*blocks, _see_ticket(language)])


def staff_digest(language: str, after: float, tickets: Sequence[tuple[Ticket, float]]) -> str:
    """The periodic digest: tickets that have waited `after` seconds or more, longest first."""
    _ = gettext_for(language)
    title = _("Tickets without an answer (waiting over {duration}): {count}").format(
        duration=format_duration(after, language), count=format_number(len(tickets), language)
    )
    lines = [_list_line(language, t, waited) for t, waited in tickets]
    return "\n\n".join([bold(title), *lines, _see_ticket(language)])


def staff_stats(language: str, stats: DeskStats) -> str:
    """/stats: questions by language and outcome, tickets, median time to a first answer."""
    _ = gettext_for(language)
    outcomes = {
        "answer": _("answered"),
        "suggest": _("suggestions"),
        "escalate": _("not answered"),
    }
    total = sum(stats.questions.values())
    lines = [
        bold(_("Statistics")),
        "",
        escape(_("Questions: {count}").format(count=format_number(total, language))),
    ]
    for lang in LANGUAGE_NAMES:
        counts = {s: n for (q_lang, s), n in stats.questions.items() if q_lang == lang}
        if not counts:
            continue
        ordered = [s for s in outcomes if s in counts] + sorted(set(counts) - set(outcomes))
        parts = ", ".join(
            f"{outcomes.get(s, s)} {format_number(counts[s], language)}" for s in ordered
        )
        line = _("{language}: {count} ({outcomes})").format(
            language=LANGUAGE_NAMES[lang],
            count=format_number(sum(counts.values()), language),
            outcomes=parts,
        )
        lines.append(escape(line))
    tickets = _(
        "Tickets waiting for the team: {open}; answered: {answered}; closed: {closed}"
    ).format(
        open=format_number(stats.tickets.get(OPEN, 0), language),
        answered=format_number(stats.tickets.get(ANSWERED, 0), language),
        closed=format_number(stats.tickets.get(CLOSED, 0), language),
    )
    if stats.median_first_answer is None:
        median = _("Median time to a first answer: no answer yet")
    else:
        median = _("Median time to a first answer: {duration}").format(
            duration=format_duration(stats.median_first_answer, language)
        )
    lines += ["", escape(tickets), escape(median)]
    return "\n".join(lines)


def staff_reloaded(language: str, entries: int, topics: int, warnings: int) -> str:
    """/reload: the edited FAQ passed the check and is now served."""
    _ = gettext_for(language)
    lines = [
        bold(_("FAQ reloaded")),
        escape(
            _("{entries} answers in {topics} topics are now live.").format(
                entries=format_number(entries, language), topics=format_number(topics, language)
            )
        ),
    ]
    if warnings:
        lines.append(
            escape(
                _("Warnings: {count} (faqbot check lists them).").format(
                    count=format_number(warnings, language)
                )
            )
        )
    return "\n".join(lines)


def _problem_place(problem: Problem, faq_dir: Path) -> str:
    """file:line, the file relative to the FAQ folder's parent ("faq/kmo.yaml:12")."""
    path = Path(problem.file)
    try:
        shown = path.relative_to(faq_dir.parent)
    except ValueError:
        shown = path
    return f"{shown}:{problem.line}"


def staff_reload_refused(language: str, errors: Sequence[Problem], faq_dir: Path) -> str:
    """/reload: the edited FAQ has errors; the first ones, with file and line."""
    _ = gettext_for(language)
    lines = [
        bold(_("The FAQ was not reloaded: the current one stays live.")),
        escape(
            _("Errors: {count}. Fix them, then send /reload again:").format(
                count=format_number(len(errors), language)
            )
        ),
    ]
    for problem in errors[:RELOAD_ERRORS_SHOWN]:
        place = _problem_place(problem, faq_dir)
        lines.append(f"• <code>{escape(place)}</code> {escape(problem.message)}")
    more = len(errors) - RELOAD_ERRORS_SHOWN
    if more > 0:
        lines.append(
            escape(
                _("… and {count} more (faqbot check lists them all).").format(
                    count=format_number(more, language)
                )
            )
        )
    return "\n".join(lines)


def staff_unanswered(report: str) -> str:
    """/unanswered: the report of `bot.desk.tickets.format_unanswered`, preformatted."""
    return f"<pre>{escape(report)}</pre>"


def staff_followup(language: str, ticket: Ticket, text: str) -> str:
    """A user's follow-up, copied under the ticket card in the staff chat."""
    _ = gettext_for(language)
    return "\n".join(
        [
            bold(_("Follow-up on ticket #{number}").format(number=ticket.id)),
            escape(_("From: {name}").format(name=who(ticket.user_name, ticket.username))),
            "",
            escape(text),
            "",
            escape(_("Reply to this message to answer the user.")),
        ]
    )


def followup_sent(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Thank you, your message has been passed on to the team (ticket #{number}). The "
            "answer will arrive here, in this chat."
        ).format(number=ticket_id)
    )


def forget_confirm(language: str) -> str:
    _ = gettext_for(language)
    return "\n\n".join(
        [
            bold(_("Delete everything stored about you?")),
            escape(
                _(
                    "Your language, your questions, your feedback and your tickets with the "
                    "team, open ones included, will be deleted for good. The team will no "
                    "longer be able to answer your open questions."
                )
            ),
        ]
    )


def forget_yes(language: str) -> str:
    """Button label (plain text)."""
    _ = gettext_for(language)
    return _("Yes, delete")


def forget_cancel(language: str) -> str:
    """Button label (plain text)."""
    _ = gettext_for(language)
    return _("Cancel")


def forgotten(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("Done: everything stored about you has been deleted."))


def forget_cancelled(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("Nothing has been deleted."))


def not_text(language: str) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "I can only read text messages, not photos, voice messages, stickers, files or "
            "locations. Please type your question."
        )
    )


def edited(language: str) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "I only read new messages, not edited ones. Please send your question again as "
            "a new message."
        )
    )


def too_long(language: str, length: int, limit: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Your message is {length} characters long; I can read up to {limit}. Please ask "
            "a shorter question."
        ).format(length=format_number(length, language), limit=format_number(limit, language))
    )


def empty(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("Please type your question in words, for example: What is KMØ?"))


def unknown_command(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("I don't know this command. Send /help to see what I can do."))


def expired_button(language: str) -> str:
    """A toast (at most 200 characters): plain text, not HTML."""
    _ = gettext_for(language)
    return _("This button is no longer valid. Send /topics or ask your question again.")


def feedback_thanks(language: str, helpful: bool) -> str:
    """A toast: plain text."""
    _ = gettext_for(language)
    if helpful:
        return _("Thank you for your feedback!")
    return _("Thank you. If the answer did not help, tap “Ask the team”.")


def default_language_set(language: str) -> str:
    """A toast in the language just chosen: plain text."""
    return gettext_for(language)("Language set to English.")


def something_went_wrong(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("Sorry, something went wrong on my side. Please try again in a moment."))


# Storage faults, told in the staff chat (handlers/ops.py, handlers/common.report_error) ------


def staff_storage_failed(language: str, corrupted: bool, detail: str) -> str:
    """The database stopped keeping what the bot is told; `detail` is SQLite's own words."""
    _ = gettext_for(language)
    if corrupted:
        text = _(
            "The bot's database file is damaged ({detail}). New tickets and team answers may "
            "not be kept: restore the database from a backup."
        )
    else:
        text = _(
            "The bot cannot write to its database ({detail}). New tickets and team answers "
            "are not kept until this is fixed (disk space, file permissions)."
        )
    return "⚠️ " + bold(_("Storage problem")) + "\n" + escape(text.format(detail=detail))


def staff_storage_recovered(language: str) -> str:
    _ = gettext_for(language)
    return "✅ " + escape(_("The bot's database works again: tickets and answers are kept."))


def staff_not_stored(language: str) -> str:
    """A staff action (an answer, /close…) failed on a database error: nothing happened."""
    _ = gettext_for(language)
    return "⚠️ " + escape(
        _(
            "This could not be stored (database error), so nothing was sent or changed. "
            "Please try again once the database works again."
        )
    )


# The team's desk (issue 11) ---------------------------------------------------------------


def staff_help(language: str) -> str:
    """/help in the staff chat: the staff's commands and how to answer."""
    _ = gettext_for(language)
    commands = [
        ("/open", _("tickets waiting for the team, and answers not delivered")),
        ("/ticket N", _("ticket N again, with its conversation and its buttons")),
        ("/reply N text", _("answer ticket N (as replying to its card does)")),
        ("/close N", _("close ticket N (the user is told)")),
        ("/reopen N", _("put ticket N back in the queue")),
        ("/ban N", _("ban the author of ticket N")),
        ("/unban N", _("lift that ban")),
        ("/stats", _("questions, tickets, time to a first answer (working time)")),
        ("/unanswered", _("the questions the FAQ does not answer well")),
        ("/learn", _("review new wordings of FAQ questions, learned from the team")),
        ("/reload", _("serve the edited FAQ files, if they pass the check")),
    ]
    lines = [bold(_("Staff commands")), ""]
    lines += [f"{escape(command)} — {escape(what)}" for command, what in commands]
    lines += [
        "",
        escape(
            _(
                "Reply to a card or to a follow-up to answer the user (text, photo, "
                "document, voice or video)."
            )
        ),
    ]
    return "\n".join(lines)


def ticket_closed_for_user(language: str, ticket_id: int) -> str:
    """To the user, when their ticket is closed."""
    _ = gettext_for(language)
    return escape(
        _(
            "Your ticket #{number} with the team is now closed. If something is still "
            "unclear, reply to this message: the ticket opens again."
        ).format(number=ticket_id)
    )


def ticket_solved(language: str) -> str:
    """A toast, after "Solved" (plain text)."""
    _ = gettext_for(language)
    return _("Thank you! The ticket is closed; reply to the answer to open it again.")


def solved_label(language: str) -> str:
    _ = gettext_for(language)
    return "👍 " + _("Solved")


def reply_label(language: str) -> str:
    _ = gettext_for(language)
    return "💬 " + _("Reply to continue")


def reply_prompt(language: str, ticket_id: int) -> str:
    """A ForceReply prompt: the user's reply to it is a follow-up of the ticket."""
    _ = gettext_for(language)
    return escape(
        _("Write your message to the team about ticket #{number}:").format(number=ticket_id)
    )


def staff_close_warning(language: str, ticket_id: int) -> str:
    """A toast or a reply (plain text): closing over an unanswered follow-up."""
    _ = gettext_for(language)
    return _(
        "The user's last message on ticket #{number} has no answer yet. Close again within "
        "a minute to close it anyway."
    ).format(number=ticket_id)


def ask_prompt(language: str) -> str:
    """A bare /ask: a ForceReply prompt for the question."""
    _ = gettext_for(language)
    return escape(_("What would you like to ask the team? Write your question in reply."))


def _day(moment: datetime, language: str) -> str:
    """ "samedi 29 novembre", "Samstag, 29. November", "Saturday, November 29" (Babel)."""
    weekday = format_date(moment, "EEEE", locale=language)
    separator = " " if language == "fr" else ", "
    return weekday + separator + format_skeleton("MMMMd", moment, locale=language)


def ticket_expected(language: str, arrived: datetime, opening: datetime | None) -> str:
    """Under the confirmation of a ticket filed outside office hours: when to expect an
    answer, dates in the user's language (Babel)."""
    _ = gettext_for(language)
    day = _day(arrived, language)
    if opening is None:
        return escape(
            _("Your question arrived on {day}, outside the team's working hours.").format(day=day)
        )
    when = _day(opening, language)
    at = format_time(opening, "short", locale=language)
    return escape(
        _("Your question arrived on {day}: the team answers from {when} at {time}.").format(
            day=day, when=when, time=at
        )
    )


def media_offer(language: str) -> str:
    """A photo or a file outside a ticket: what the bot can do with it."""
    _ = gettext_for(language)
    return escape(
        _(
            "I can only read text, so I cannot answer a photo, a file or a voice message "
            "myself. The team can see it: tap the button below to send it to them, or "
            "type your question."
        )
    )


def media_offer_label(language: str) -> str:
    _ = gettext_for(language)
    return _("Send it to the team")


def media_question(language: str, kind: str, caption: str) -> str:
    """The question of a ticket filed from a photo or a file (shown on the card)."""
    _ = gettext_for(language)
    names = {
        "photo": _("a photo"),
        "document": _("a document"),
        "voice": _("a voice message"),
        "video": _("a video"),
        "audio": _("an audio file"),
    }
    what = _("The user sent {what} (below).").format(what=names.get(kind, kind))
    return f"{caption}\n\n({what})" if caption else what


def media_passed_on(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _("Thank you, the team can see it under ticket #{number}.").format(number=ticket_id)
    )


def staff_media_followup(language: str, ticket: Ticket, kind: str) -> str:
    """The caption of a user's photo or file copied under the card (at most 1024)."""
    _ = gettext_for(language)
    return (
        bold(_("Follow-up on ticket #{number}").format(number=ticket.id))
        + "\n"
        + escape(_("From: {name}").format(name=who(ticket.user_name, ticket.username)))
    )


def staff_learn_candidate(language: str, candidate, title: str) -> str:
    """/learn: one candidate wording of an FAQ question, to add, reject or skip."""
    _ = gettext_for(language)
    return "\n".join(
        [
            bold(_("New way to ask “{question}”?").format(question=title)),
            "",
            escape(candidate.text),
            "",
            escape(
                _("{language}, seen {count} time(s).").format(
                    language=LANGUAGE_NAMES[candidate.language],
                    count=format_number(candidate.seen, language),
                )
            ),
        ]
    )


def staff_learn_nothing(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("No new wording to review."))


def staff_learn_rejected(language: str) -> str:
    """A toast (plain text)."""
    _ = gettext_for(language)
    return _("Rejected.")


def staff_learn_added(language: str, live: bool) -> str:
    """Said in the staff chat once an accepted wording is in (plain text)."""
    _ = gettext_for(language)
    if live:
        return _("Added: the FAQ now answers this wording.")
    return _("Added to the learned wordings; the FAQ was not reloaded (see /reload).")


def staff_learn_refused(language: str, candidate, reason: str) -> str:
    _ = gettext_for(language)
    return "⚠️ " + escape(
        _("“{wording}” was not added: {reason}").format(wording=candidate.text, reason=reason)
    )


def staff_topics_refused(language: str, reason: str) -> str:
    """Once, in the staff chat, when STAFF_TOPICS=on but Telegram refuses to create topics."""
    _ = gettext_for(language)
    return escape(
        _(
            "I cannot create a topic per ticket in this group ({reason}). Tickets come here, "
            "in the main chat, meanwhile: make the group a forum and give the bot the "
            "“Manage topics” right, then restart it."
        ).format(reason=reason)
    )


def topic_name(language: str, ticket_id: int) -> str:
    """The forum topic of a ticket (STAFF_TOPICS=on), plain text: its number only, so that no
    user's words stay in the staff chat's topic list after /forget."""
    _ = gettext_for(language)
    return _("Ticket #{number}").format(number=ticket_id)
