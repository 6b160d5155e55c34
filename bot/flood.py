"""How many messages one person may send in a minute before the bot stops reading them.

A user who pastes 500 lines, or a script, must not keep the bot busy for minutes: within any
60 s, the first `per_minute` messages of a user are handled; the next one gets a polite notice
(`WARN`, once per flood), and the rest of that minute is dropped (`DROP`) and logged by update
id. Messages are counted at the time Telegram received them (the message date), so a backlog
that is handled late is still judged by when it was sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

ALLOW, WARN, DROP = "allow", "warn", "drop"
WINDOW = 60.0
PER_MINUTE = 20
# Users tracked before quiet ones are forgotten (memory stays bounded under a crowd).
KEPT_USERS = 4096


@dataclass
class _Sender:
    times: deque[float] = field(default_factory=deque)
    warned_until: float = 0.0


class FloodLimit:
    """`check(user_id, at)`: ALLOW, WARN or DROP for a message sent at `at` (seconds)."""

    def __init__(self, per_minute: int = PER_MINUTE, window: float = WINDOW):
        self.per_minute = per_minute
        self.window = window
        self._senders: dict[int, _Sender] = {}

    def check(self, user_id: int, at: float) -> str:
        if self.per_minute <= 0:
            return ALLOW
        sender = self._senders.get(user_id)
        if sender is None:
            if len(self._senders) >= KEPT_USERS:
                self._forget_quiet(at)
            sender = self._senders[user_id] = _Sender()
        while sender.times and sender.times[0] <= at - self.window:
            sender.times.popleft()
        if len(sender.times) < self.per_minute:
            sender.times.append(at)
            return ALLOW
        if at >= sender.warned_until:
            sender.warned_until = sender.times[0] + self.window
            return WARN
        return DROP

    def _forget_quiet(self, now: float) -> None:
        for user_id in [
            u for u, s in self._senders.items() if not s.times or s.times[-1] <= now - self.window
        ]:
            del self._senders[user_id]
