"""What the bot says, as Telegram HTML, in the user's language.

Every sentence is an English msgid translated in `locales/`; every piece of text that does not
come from this file (FAQ answers, names, even the translations) is escaped. Nothing here
imports Telegram, so the texts are easy to test.
"""

from __future__ import annotations

from bot.formatting import bold, escape
from bot.i18n import LANGUAGE_NAMES, format_number, gettext_for
from bot.knowledge import Entry, Topic
from bot.retention import RETENTION_DAYS


def command_descriptions(language: str) -> list[tuple[str, str]]:
    """The command menu: (command, description) in plain text, as Telegram shows it."""
    _ = gettext_for(language)
    return [
        ("start", _("Start and choose your language")),
        ("topics", _("Browse the questions by topic")),
        ("language", _("Change the language")),
        ("help", _("What this assistant can do")),
        ("privacy", _("What is stored about you")),
    ]


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
                    "Ask me a question in French, German or English, in your own words, "
                    "or browse the questions with /topics."
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
            escape(_("Ask your question, or browse the questions with /topics.")),
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
        if command in ("topics", "language", "privacy")
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
            "Photos, voice messages, files and locations you send are neither downloaded "
            "nor stored."
        ),
        _("Messages go through Telegram's servers, under Telegram's own privacy policy."),
    ]
    return (
        bold(_("What this assistant stores"))
        + "\n\n"
        + "\n".join("• " + escape(item) for item in items)
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


def suggestions(language: str) -> str:
    _ = gettext_for(language)
    return escape(_("I am not sure I understood. Did you mean:"))


def ticket_created(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Thank you, your question has been sent to the team as ticket #{number}. The "
            "answer will arrive here, in this chat."
        ).format(number=ticket_id)
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


def ticket_banned(language: str) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "Sorry, I cannot pass your questions on to the team any more. The FAQ and "
            "/topics remain available."
        )
    )


def ticket_limit(language: str) -> str:
    _ = gettext_for(language)
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


def staff_answer(language: str, answer_text: str) -> str:
    """A staff answer as the user receives it: a bold header, then the answer, escaped."""
    _ = gettext_for(language)
    return bold(_("Answer from the Territoire d'Industrie team")) + "\n\n" + escape(answer_text)


def staff_card(
    language: str,
    ticket_id: int,
    question: str,
    user_name: str,
    username: str | None,
    ticket_language: str,
    guesses: tuple[tuple[str, float], ...],
) -> str:
    """A ticket as staff see it in the staff chat; everything that came from a user escaped."""
    _ = gettext_for(language)
    who = user_name or "?"
    if username:
        who += f" (@{username})"
    if guesses:
        best = ", ".join(
            f"{faq_id} ({format_number(round(score), language)})" for faq_id, score in guesses
        )
    else:
        best = _("none")
    lines = [
        bold(_("Ticket #{number}").format(number=ticket_id)),
        escape(_("From: {name}").format(name=who)),
        escape(_("Language: {language}").format(language=LANGUAGE_NAMES[ticket_language])),
        "",
        escape(question),
        "",
        escape(_("Best guesses: {guesses}").format(guesses=best)),
        escape(_("Reply to this message to answer the user.")),
    ]
    return "\n".join(lines)


def staff_undelivered(language: str, ticket_id: int) -> str:
    _ = gettext_for(language)
    return escape(
        _(
            "The answer to ticket #{number} could not be delivered: the user has blocked "
            "the bot or deleted the chat. The ticket is flagged."
        ).format(number=ticket_id)
    )


def staff_delivered(language: str, ticket_id: int) -> str:
    """A toast-like short confirmation: plain text."""
    _ = gettext_for(language)
    return _("Answer to ticket #{number} delivered.").format(number=ticket_id)


def staff_taken(language: str, ticket_id: int, name: str) -> str:
    _ = gettext_for(language)
    return escape(_("Ticket #{number} taken by {name}.").format(number=ticket_id, name=name))


def staff_closed(language: str, ticket_id: int, name: str) -> str:
    _ = gettext_for(language)
    return escape(_("Ticket #{number} closed by {name}.").format(number=ticket_id, name=name))


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
