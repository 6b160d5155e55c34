"""One turn of a conversation, the same for the Telegram handlers, `faqbot chat`, `faqbot ask`
and the evaluation: the conversation's language, the decision, the next dialogue state.

The conversation's language is decided here and only here: the clear language of the user's
message, else the language the conversation was in (its last clear message), else the user's
own (their stored choice, else their Telegram profile: `preferred`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answering import dialogue
from bot.answering.dialogue import DialogueState
from bot.answering.engine import CLARIFY, Decision, Engine
from bot.answering.knowledge import LANGUAGES
from bot.answering.language import LanguageGuess
from bot.answering.text import fold

#: A message is "clearly" in another language when its best language has at least this much
#: evidence and twice as much as any other (see `bot.answering.language.detect_language`).
CLEAR_LANGUAGE_SCORE = 2.0
CLEAR_LANGUAGE_RATIO = 2.0


def reply_language(guess: LanguageGuess, preferred: str) -> str:
    """The language to answer in: the message's own when it is clearly another one.

    Short or mixed messages ("KMØ ?", "formation", "ok") carry too little evidence; they are
    answered in `preferred` rather than flipping between languages.
    """
    best = guess.language
    if best == preferred or best not in LANGUAGES:
        return preferred
    score = guess.scores.get(best, 0.0)
    runner_up = max((s for lang, s in guess.scores.items() if lang != best), default=0.0)
    if score >= CLEAR_LANGUAGE_SCORE and score >= CLEAR_LANGUAGE_RATIO * runner_up:
        return best
    return preferred


@dataclass(frozen=True)
class Turn:
    decision: Decision
    state: DialogueState  # the dialogue state after this message
    shown: tuple[str, ...]  # the entries the reply shows


def take_turn(
    engine: Engine,
    text: str,
    state: DialogueState,
    preferred: str | None,
    now: float,
    default: str = "fr",
) -> Turn:
    """Decide `text` in the conversation so far (`state`, taken as it is at `now`).

    `preferred` None: the user's own language is not known (no choice stored, a Telegram
    profile in another language, the command line without --lang); until the conversation has
    one, any evidence in the message decides ("Hallo", "hilfe"), else `default`."""
    state = state.current(now)
    speaking = state.language or preferred
    if speaking is None:
        language = engine.detect(text, default).language
    else:
        language = reply_language(engine.detect(text, speaking), speaking)
    decision = engine.decide(
        text, language=language, default_language=speaking or default, state=state
    )
    if decision.faq_id:
        shown: tuple[str, ...] = (decision.faq_id,)
    else:
        shown = tuple(c.faq_id for c in decision.suggestions)
    topic = engine.kb.entries[shown[0]].topic if shown else None
    pending = fold(text) if decision.status == CLARIFY else ""
    after = dialogue.after(
        state,
        status=decision.status,
        language=language,
        entries=shown,
        topic=topic,
        now=now,
        pending=pending,
    )
    return Turn(decision, after, shown)
