"""Settings from the environment (documented in `.env.example`), with embedded defaults.

Nothing here is required to chat in the terminal; `TELEGRAM_BOT_TOKEN` is required only by
`faqbot run`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine import Thresholds
from bot.knowledge import DEFAULT_FAQ_DIR
from bot.retention import RETENTION_DAYS
from bot.tickets import TicketLimits

DEFAULT_API_URL = "https://api.telegram.org"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _number(env, name, default, int)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default)
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    api_url: str = DEFAULT_API_URL
    staff_chat_id: int | None = None
    staff_user_ids: frozenset[int] = frozenset()
    db_path: Path = Path("data/faqbot.sqlite3")
    faq_dir: Path = DEFAULT_FAQ_DIR
    default_language: str = "fr"
    thresholds: Thresholds = field(default_factory=Thresholds)
    ticket_limits: TicketLimits = field(default_factory=TicketLimits)
    # The staff digest: tickets waiting longer than this, checked every `digest_interval_minutes`.
    digest_after_hours: float = 24.0
    digest_interval_minutes: float = 60.0
    # Questions, feedback and closed tickets are deleted after this many days (see /privacy).
    retention_days: int = RETENTION_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        language = env.get("FAQBOT_DEFAULT_LANGUAGE", "fr").strip() or "fr"
        if language not in ("fr", "de", "en"):
            raise ConfigError(f"FAQBOT_DEFAULT_LANGUAGE must be fr, de or en, got {language!r}")
        staff_chat = env.get("STAFF_CHAT_ID", "").strip()
        staff_users = env.get("STAFF_USER_IDS", "").replace(",", " ").split()
        try:
            staff_chat_id = int(staff_chat) if staff_chat else None
            staff_user_ids = frozenset(int(u) for u in staff_users)
        except ValueError:
            raise ConfigError(
                "STAFF_CHAT_ID and STAFF_USER_IDS must be numeric Telegram ids"
            ) from None
        defaults = Thresholds()
        limits = TicketLimits()
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
            api_url=(env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/"),
            staff_chat_id=staff_chat_id,
            staff_user_ids=staff_user_ids,
            db_path=Path(env.get("FAQBOT_DB", "").strip() or "data/faqbot.sqlite3"),
            faq_dir=Path(env.get("FAQBOT_FAQ_DIR", "").strip() or DEFAULT_FAQ_DIR),
            default_language=language,
            thresholds=Thresholds(
                answer=_number(env, "FAQBOT_ANSWER_SCORE", defaults.answer),
                suggest=_number(env, "FAQBOT_SUGGEST_SCORE", defaults.suggest),
                tie_margin=_number(env, "FAQBOT_TIE_MARGIN", defaults.tie_margin),
            ),
            ticket_limits=TicketLimits(
                max_open_per_user=_count(env, "FAQBOT_MAX_OPEN_TICKETS", limits.max_open_per_user),
                max_per_hour=_count(env, "FAQBOT_MAX_TICKETS_PER_HOUR", limits.max_per_hour),
            ),
            digest_after_hours=_positive(env, "FAQBOT_DIGEST_AFTER_HOURS", cls.digest_after_hours),
            digest_interval_minutes=_positive(
                env, "FAQBOT_DIGEST_INTERVAL_MINUTES", cls.digest_interval_minutes
            ),
            retention_days=_count(env, "FAQBOT_RETENTION_DAYS", RETENTION_DAYS),
        )
