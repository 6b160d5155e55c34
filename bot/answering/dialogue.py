"""A chat's short memory: what the user was last shown, and the conversation's language.

Users do not repeat the subject: "et c'était quand ?", "who can go there?", "und wo ist das?"
follow the answer before. `DialogueState` keeps, for one chat and for `IDLE_EXPIRY` seconds
after its last message, the entries last shown (an answer, or the suggestions), their topic,
the language the conversation is in, and the last outcome. It is a plain value: the engine
reads it (`Engine.decide(..., state=...)`) and `after` computes the next one, so the engine
stays a pure function of (question, state, knowledge base); the store keeps it between
messages (`bot/store/dialogues.py`), for the Telegram handlers and `faqbot chat` alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

# A conversation left alone this long starts afresh: a follow-up needs a fresh subject.
IDLE_EXPIRY = 30 * 60.0


@dataclass(frozen=True)
class DialogueState:
    language: str | None = None  # the conversation's language: that of the last clear message
    entries: tuple[str, ...] = ()  # the entries last shown, the answer first
    topic: str | None = None  # the topic of the last answer
    status: str | None = None  # the last outcome (answer, suggest, gap…)
    at: float = 0.0  # when the last message was handled (time.time())
    # The words (folded) of a message the user was asked to say more about: the next message
    # completes it.
    pending: str = ""

    def fresh(self, now: float) -> bool:
        """Whether this state still speaks for the conversation at `now`."""
        return bool(self.at) and now - self.at <= IDLE_EXPIRY

    def current(self, now: float) -> DialogueState:
        """This state if still fresh at `now`, else an empty one (the language is kept: a user
        who wrote German an hour ago still does)."""
        return self if self.fresh(now) else DialogueState(language=self.language)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> DialogueState:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                language=data.get("language"),
                entries=tuple(data.get("entries") or ()),
                topic=data.get("topic"),
                status=data.get("status"),
                at=float(data.get("at") or 0.0),
                pending=str(data.get("pending") or ""),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a damaged row is a conversation that starts afresh


def after(
    state: DialogueState,
    *,
    status: str,
    language: str,
    entries: tuple[str, ...],
    topic: str | None,
    now: float,
    pending: str = "",
) -> DialogueState:
    """The state once a message was handled: what was shown now, or (small talk, a question
    that showed nothing) the subject kept from before. `pending`: the message's words when
    the user was asked to say more."""
    if not entries:
        return DialogueState(language, state.entries, state.topic, status, now, pending)
    return DialogueState(language, entries, topic, status, now, pending)
