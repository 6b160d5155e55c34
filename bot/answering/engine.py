"""The answer engine: from a free-text question to one decision the user will see.

`classify` holds the decision rules as a small pure function; `Engine` wires the knowledge
base, the match index, language detection and the translated texts around it. The terminal
chat and the Telegram handlers both use `Engine.decide`.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from itertools import chain

from bot.answering.knowledge import LANGUAGES, KnowledgeBase
from bot.answering.language import LanguageGuess, detect_language, vocabulary_lexicon
from bot.answering.matcher import (
    Candidate,
    MatchIndex,
    MatchSettings,
    asks_out_of_scope,
    build_index,
    match,
    years_in,
)
from bot.answering.text import QUESTION_WORDS, tokens, words
from bot.i18n import gettext_for

ANSWER, SUGGEST, ESCALATE, SMALLTALK = "answer", "suggest", "escalate", "smalltalk"
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class Thresholds:
    """Scores (0-100) that separate answering, suggesting and escalating.

    Calibrated with `faqbot eval tests/data/eval.yaml`; override with FAQBOT_ANSWER_SCORE,
    FAQBOT_SUGGEST_SCORE and FAQBOT_TIE_MARGIN.
    """

    answer: float = 50.0
    suggest: float = 30.0
    # Two entries closer than this are a near tie: suggest both rather than guess.
    tie_margin: float = 3.0
    # The answered entry must explain at least this share of the question's weight: "the
    # budget of KMØ" shares "budget" with one entry and "KMØ" with another, and neither is it.
    min_explained: float = 0.48


def classify(
    candidates: list[Candidate], thresholds: Thresholds, out_of_scope: bool = False
) -> tuple[str, list[Candidate]]:
    """answer (one entry), suggest (up to three) or escalate, from ranked candidates.

    `out_of_scope`: the question asks what the FAQ never holds (a price, opening hours, a
    deadline); the best entry is then only suggested, never given as the answer.
    """
    if not candidates or candidates[0].score < thresholds.suggest:
        return ESCALATE, []
    best = candidates[0]
    tie = len(candidates) > 1 and best.score - candidates[1].score < thresholds.tie_margin
    confident = best.score >= thresholds.answer and best.explained >= thresholds.min_explained
    if confident and not tie and not out_of_scope:
        return ANSWER, [best]
    close = [c for c in candidates if c.score >= thresholds.suggest]
    return SUGGEST, close[:MAX_SUGGESTIONS]


# Greetings, thanks and goodbyes: answered kindly, never matched against the FAQ.
_SMALLTALK_CORE = {
    "thanks": frozenset("merci thanks thank thx ty danke dank dankeschon merci".split()),
    "bye": frozenset("revoir bye goodbye tschuss tschau ciao wiedersehen bald journee".split()),
    "hello": frozenset(
        "bonjour salut bonsoir coucou hello hi hey hallo moin servus gruezi gruss guten "
        "morning evening afternoon greetings hiya".split()
    ),
}
_SMALLTALK_FILLER = frozenset(
    "a au auf bis bonne tag good very much so a lot all there you everyone vielen herzlichen "
    "beaucoup bien toi vous le la les monsieur madame sehr zusammen euch ihnen to team".split()
)
_SMALLTALK_WORDS = _SMALLTALK_FILLER.union(*_SMALLTALK_CORE.values())


def smalltalk_kind(text: str) -> str | None:
    """'thanks', 'bye' or 'hello' when the text is nothing but that; otherwise None."""
    ws = set(words(text))
    if not ws or len(ws) > 6 or not ws <= _SMALLTALK_WORDS:
        return None
    return next((kind for kind, core in _SMALLTALK_CORE.items() if ws & core), None)


@dataclass(frozen=True)
class Decision:
    """What the engine decided for one question, and the text the user sees."""

    question: str
    status: str
    language: str
    faq_id: str | None
    score: float
    suggestions: tuple[Candidate, ...]
    candidates: tuple[Candidate, ...]
    text: str

    def as_json(self, kb: KnowledgeBase) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "faq_id": self.faq_id,
            "score": self.score,
            "language": self.language,
            "text": self.text,
            "suggestions": [
                {
                    "faq_id": c.faq_id,
                    "question": kb.entries[c.faq_id].title(self.language),
                    "score": c.score,
                }
                for c in self.suggestions
            ],
        }


@dataclass
class Engine:
    """A knowledge base ready to answer: its match index and language lexicon built once."""

    kb: KnowledgeBase
    thresholds: Thresholds = field(default_factory=Thresholds)
    settings: MatchSettings = field(default_factory=MatchSettings)
    # The entry given to a question without any content word.
    vague_entry: str = "assistant-about"

    def __post_init__(self) -> None:
        self.index: MatchIndex = build_index(
            ((e.id, lang, q) for e in self.kb for lang in LANGUAGES for q in e.questions[lang]),
            self.settings,
        )
        index = self.index
        folded_by_language: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
        for folded, lang in zip(index.variant_folded, index.variant_language, strict=True):
            folded_by_language[lang].append(folded)
        self.lexicon = vocabulary_lexicon(
            {
                lang: chain.from_iterable(map(str.split, texts))
                for lang, texts in folded_by_language.items()
            }
        )
        self._entry_words: dict[str, frozenset[str]] = {}

    def entry_words(self, faq_id: str) -> frozenset[str]:
        """Every content word of an entry, questions and answers (computed when first asked)."""
        if faq_id not in self._entry_words:
            entry = self.kb.entries[faq_id]
            texts = [*entry.answers.values(), *(q for qs in entry.questions.values() for q in qs)]
            self._entry_words[faq_id] = frozenset(tokens(" ".join(texts), self.index.stopwords))
        return self._entry_words[faq_id]

    def detect(self, question: str, default: str = "fr") -> LanguageGuess:
        return detect_language(question, default, self.lexicon)

    def decide(
        self, question: str, language: str | None = None, default_language: str = "fr"
    ) -> Decision:
        """Answer, suggest or escalate `question`; in `language` if forced, else its own."""
        # A forced language (the user's choice, or the handler's own detection) spares one.
        lang = (
            language if language in LANGUAGES else self.detect(question, default_language).language
        )
        kind = smalltalk_kind(question)
        if kind:
            return Decision(
                question, SMALLTALK, lang, None, 0.0, (), (), smalltalk_text(kind, lang)
            )
        words = tokens(question, self.index.stopwords)  # once: matching and the rules share it
        content = set(words) - set(QUESTION_WORDS.values())
        if not content and self.vague_entry in self.kb.entries:
            # Nothing but question words ("what can you do?", "tu sers à quoi ?"): say what
            # the assistant knows rather than bother the team with an empty question.
            entry = self.kb.entries[self.vague_entry]
            return Decision(question, ANSWER, lang, entry.id, 0.0, (), (), entry.answers[lang])
        candidates = match(self.index, words, limit=MAX_SUGGESTIONS + 2)
        out_of_scope = asks_out_of_scope(self.index, words)
        years = years_in(words)
        if candidates and years and not out_of_scope:
            out_of_scope = bool(years - self.entry_words(candidates[0].faq_id))
        status, chosen = classify(candidates, self.thresholds, out_of_scope)
        best = candidates[0].score if candidates else 0.0
        if status == ANSWER:
            entry = self.kb.entries[chosen[0].faq_id]
            return Decision(
                question,
                ANSWER,
                lang,
                entry.id,
                best,
                (),
                tuple(candidates),
                entry.answers[lang],
            )
        if status == SUGGEST:
            return Decision(
                question,
                SUGGEST,
                lang,
                None,
                best,
                tuple(chosen),
                tuple(candidates),
                self.suggestion_text(chosen, lang),
            )
        return Decision(
            question,
            ESCALATE,
            lang,
            None,
            best,
            (),
            tuple(candidates),
            escalation_text(lang),
        )

    def suggestion_text(self, chosen: list[Candidate], lang: str) -> str:
        _ = gettext_for(lang)
        lines = [_("I am not sure I understood. Did you mean:")]
        lines += [f"{i}. {self.kb.entries[c.faq_id].title(lang)}" for i, c in enumerate(chosen, 1)]
        return "\n".join(lines)


def escalation_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _(
        "The FAQ has no answer to this question yet. The programme's team can answer it: "
        "ask the team and the answer will come back here."
    )


def smalltalk_text(kind: str, lang: str) -> str:
    _ = gettext_for(lang)
    if kind == "thanks":
        return _("You're welcome! Ask me anything else about the Territoire d'Industrie.")
    if kind == "bye":
        return _("Goodbye, and good luck with your projects in Sud Alsace!")
    return _(
        "Hello! I answer questions about the Sud Alsace Territoire d'Industrie: the programme, "
        "KMØ, Campus Industrie 4.0, training, the Be 4.0 fair. What would you like to know?"
    )


def settle(engine: Engine) -> Engine:
    """Take a serving engine out of the cyclic garbage collector's reach.

    A built index is hundreds of thousands of objects at 10,000 entries; a full collection
    walking them lands in the middle of some question (hundreds of milliseconds). The index
    holds no reference cycle, so reference counting still frees an engine a reload replaces.
    """
    gc.collect()
    gc.freeze()
    return engine
