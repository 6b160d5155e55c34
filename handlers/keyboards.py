"""The inline keyboards under the bot's messages; button labels in the message's language."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.answering.knowledge import Entry, KnowledgeBase, Topic
from bot.answering.matcher import Candidate
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, gettext_for
from handlers import callbacks, texts

MAX_RELATED = 3

log = logging.getLogger(__name__)


def _button(label: str, data: str) -> InlineKeyboardButton | None:
    """A callback button, or None (logged) when its data would exceed Telegram's 64 bytes."""
    if not callbacks.fits(data):
        log.warning("callback data %r is too long for Telegram; button dropped", data)
        return None
    return InlineKeyboardButton(label, callback_data=data)


def _markup(rows: Iterable[Sequence[InlineKeyboardButton | None]]) -> InlineKeyboardMarkup:
    kept = [[b for b in row if b is not None] for row in rows]
    return InlineKeyboardMarkup([row for row in kept if row])


def language_picker() -> InlineKeyboardMarkup:
    return _markup(
        [[_button(LANGUAGE_NAMES[lang], callbacks.language_choice(lang)) for lang in LANGUAGES]]
    )


def _ask_row(language: str, question_id: int | None, label: str | None = None) -> list:
    _ = gettext_for(language)
    return [_button(label or _("Ask the team"), callbacks.ask_team(question_id))]


def _default_language_row(offer_default: bool, language: str) -> list:
    if not offer_default:
        return []
    _ = gettext_for(language)
    return [_button(_("Always answer in English"), callbacks.default_language(language))]


def answer_keyboard(
    kb: KnowledgeBase,
    entry: Entry,
    language: str,
    question_id: int | None = None,
    offer_default: bool = False,
    also: str | None = None,
    shown: tuple[str, ...] = (),
) -> InlineKeyboardMarkup:
    """Related questions, 👍/👎, "Ask the team" and, when the answer is in another language
    than the user's, a button to make it the default. `also`: the entry answering the second
    half of a compound question, first; `shown`: entries in the message already, not offered."""
    related = [r for r in entry.related if r in kb.entries and r != also and r not in shown][
        :MAX_RELATED
    ]
    if also in kb.entries:
        related = [also, *related][:MAX_RELATED]
    rows = [
        [_button(kb.entries[r].title(language), callbacks.related(language, r))] for r in related
    ]
    rows.append(
        [
            _button("👍", callbacks.feedback(True, language, entry.id)),
            _button("👎", callbacks.feedback(False, language, entry.id)),
        ]
    )
    rows.append(_ask_row(language, question_id))
    rows.append(_default_language_row(offer_default, language))
    return _markup(rows)


def suggestions_keyboard(
    kb: KnowledgeBase,
    suggestions: Sequence[Candidate],
    language: str,
    question_id: int | None = None,
    offer_default: bool = False,
) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    rows = [
        [_button(kb.entries[c.faq_id].title(language), callbacks.suggestion(language, c.faq_id))]
        for c in suggestions
        if c.faq_id in kb.entries
    ]
    rows.append(_ask_row(language, question_id, _("None of these — ask the team")))
    rows.append(_default_language_row(offer_default, language))
    return _markup(rows)


def gap_keyboard(
    entry: Entry, language: str, question_id: int | None = None, offer_default: bool = False
) -> InlineKeyboardMarkup:
    """Under "the FAQ does not say that": the subject's entry, and "Ask the team"."""
    return _markup(
        [
            [_button(entry.title(language), callbacks.related(language, entry.id))],
            _ask_row(language, question_id),
            _default_language_row(offer_default, language),
        ]
    )


def escalation_keyboard(
    language: str, question_id: int | None = None, offer_default: bool = False
) -> InlineKeyboardMarkup:
    return _markup(
        [_ask_row(language, question_id), _default_language_row(offer_default, language)]
    )


def _topic_rows(kb: KnowledgeBase, language: str) -> list[list]:
    return [[_button(t.names[language], callbacks.topic(t.id))] for t in kb.topics]


def topics_keyboard(kb: KnowledgeBase, language: str) -> InlineKeyboardMarkup:
    return _markup(_topic_rows(kb, language))


def off_topic_keyboard(
    kb: KnowledgeBase, language: str, question_id: int | None = None
) -> InlineKeyboardMarkup:
    """The topics, and "Ask the team" last: a question judged outside the programme may
    still be one for the team, and must not be lost."""
    return _markup([*_topic_rows(kb, language), _ask_row(language, question_id)])


def topic_keyboard(kb: KnowledgeBase, topic: Topic, language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    rows = [
        [_button(kb.entries[e].title(language), callbacks.menu_entry(e))]
        for e in topic.entry_ids
        if e in kb.entries
    ]
    rows.append([_button("« " + _("Back"), callbacks.topics())])
    return _markup(rows)


def menu_entry_keyboard(entry: Entry, language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    return _markup([[_button("« " + _("Back"), callbacks.topic(entry.topic))]])


def callback_data(markup: InlineKeyboardMarkup | None) -> set[str]:
    """The callback data of every button of `markup`."""
    rows = markup.inline_keyboard if markup else ()
    return {str(b.callback_data) for row in rows for b in row if b.callback_data is not None}


def without_buttons(markup: InlineKeyboardMarkup | None, prefix: str) -> InlineKeyboardMarkup:
    """`markup` minus the buttons whose callback data starts with `prefix` (one-shot buttons)."""
    rows = markup.inline_keyboard if markup else ()
    return _markup(
        [b for b in row if not str(b.callback_data or "").startswith(prefix)] for row in rows
    )


def staff_card_keyboard(
    ticket_id: int,
    language: str,
    kb: KnowledgeBase | None = None,
    guesses: Iterable[tuple[str, float]] = (),
) -> InlineKeyboardMarkup:
    """Under a ticket card in the staff chat: "I take it" and "Close", then one "Answer with"
    button per entry the engine guessed (its answer goes to the user in one tap)."""
    _ = gettext_for(language)
    rows: list[list[InlineKeyboardButton | None]] = [
        [
            _button(_("I take it"), callbacks.staff_take(ticket_id)),
            _button(_("Close"), callbacks.staff_close(ticket_id)),
        ]
    ]
    if kb is not None:
        for faq_id, _score in guesses:
            entry = kb.entries.get(faq_id)
            if entry is not None:
                label = texts.answer_with_entry_label(language, entry.title(language))
                rows.append([_button(label, callbacks.staff_faq_answer(ticket_id, faq_id))])
    return _markup(rows)


def forget_keyboard(language: str) -> InlineKeyboardMarkup:
    """Under the /forget question: confirm or cancel."""
    return _markup(
        [
            [
                _button(texts.forget_yes(language), callbacks.forget(True)),
                _button(texts.forget_cancel(language), callbacks.forget(False)),
            ]
        ]
    )


def team_answer_keyboard(ticket_id: int, language: str) -> InlineKeyboardMarkup:
    """Under a team answer, for the user: "Solved" and "Reply to continue"."""
    return _markup(
        [
            [
                _button(texts.solved_label(language), callbacks.solved(ticket_id)),
                _button(texts.reply_label(language), callbacks.reply_to_ticket(ticket_id)),
            ]
        ]
    )


def media_offer_keyboard(message_id: int, language: str) -> InlineKeyboardMarkup:
    return _markup(
        [[_button(texts.media_offer_label(language), callbacks.media_to_team(message_id))]]
    )


def learn_keyboard(candidate_id: int, language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    return _markup(
        [
            [
                _button("✅ " + _("Add"), callbacks.learn("a", candidate_id)),
                _button("✖ " + _("Reject"), callbacks.learn("r", candidate_id)),
                _button(_("Skip"), callbacks.learn("s", candidate_id)),
            ]
        ]
    )


def home_keyboard(
    kb: KnowledgeBase, language: str, entry_ids: Sequence[str], *, picker: bool = False
) -> InlineKeyboardMarkup:
    """The home screen (handlers/home.py): the language picker's row when `picker`, then the
    most asked questions (their answer as a new message, like a related question), then the
    topics (the menu opens in place)."""
    rows: list[list[InlineKeyboardButton | None]] = []
    if picker:
        rows += language_picker().inline_keyboard
    rows += [
        [_button("❓ " + kb.entries[e].title(language), callbacks.related(language, e))]
        for e in entry_ids
        if e in kb.entries
    ]
    rows += [[_button("📂 " + t.names[language], callbacks.topic(t.id))] for t in kb.topics]
    return _markup(rows)
