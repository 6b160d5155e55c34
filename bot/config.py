"""Settings from the environment (documented in `.env.example`), with embedded defaults.

Nothing here is required to chat in the terminal; `TELEGRAM_BOT_TOKEN` is required only by
`faqbot run`, and `TELEGRAM_WEBHOOK_URL` and `TELEGRAM_WEBHOOK_SECRET` only by
`faqbot run --webhook` (`Settings.check_webhook`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.answering.engine import Thresholds
from bot.answering.knowledge import DEFAULT_FAQ_DIR
from bot.desk.office import OfficeHours, OfficeHoursError
from bot.desk.tickets import TicketLimits
from bot.flood import PER_MINUTE
from bot.store.retention import RETENTION_DAYS

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DB_PATH = Path("data/faqbot.sqlite3")
# What Telegram accepts as a webhook secret token (1-256 characters), from 16 on: a short
# secret is guessable (and would be masked all over the logs).
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class ServiceError(RuntimeError):
    """`faqbot run` cannot serve (a port is taken, Telegram refused the webhook); one line."""


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


def _port(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    value = _number(env, name, default, int)
    if value is not None and not 1 <= value <= 65535:
        raise ConfigError(f"{name} must be a TCP port (1-65535), got {value}")
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
    # The bot's @username, for `faqbot links` and `faqbot qr` (else getMe with the token).
    bot_username: str | None = None
    staff_chat_id: int | None = None
    staff_user_ids: frozenset[int] = frozenset()
    db_path: Path = DEFAULT_DB_PATH
    faq_dir: Path = DEFAULT_FAQ_DIR
    default_language: str = "fr"
    thresholds: Thresholds = field(default_factory=Thresholds)
    ticket_limits: TicketLimits = field(default_factory=TicketLimits)
    # The staff digest: tickets waiting longer than this, checked every `digest_interval_minutes`.
    digest_after_hours: float = 24.0
    digest_interval_minutes: float = 60.0
    # Questions, feedback and closed tickets are deleted after this many days (see /privacy).
    retention_days: int = RETENTION_DAYS
    # Messages one user may send in a minute before the bot stops reading them (bot/flood.py).
    flood_per_minute: int = PER_MINUTE
    # Webhook mode (`faqbot run --webhook`): the public HTTPS URL Telegram posts updates to (it
    # must reach this server's /telegram path) and the secret Telegram sends with each post.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # The bot's HTTP server: webhook, /healthz and /metrics on `listen`:`port` in webhook mode;
    # in polling mode /healthz and /metrics on `listen`:`health_port` when that is set.
    listen: str = "0.0.0.0"
    port: int = 8080
    health_port: int | None = None
    # The running bot's process id, for `faqbot reload` (default: next to the database).
    pid_file: Path | None = None
    # The team's office hours (bot/desk/office.py): FAQBOT_TIMEZONE, FAQBOT_OFFICE_HOURS,
    # FAQBOT_OFFICE_DAYS, FAQBOT_HOLIDAYS.
    # The default here is none (any time); `from_env` (the bot) sets Europe/Paris 9:00-17:00,
    # Monday to Friday, with the public holidays of Alsace.
    office: OfficeHours = field(default_factory=OfficeHours.always)
    # STAFF_TOPICS=on: the staff chat is a forum; each ticket gets its own topic, where the
    # card, the follow-ups and the answers live; closing the ticket closes the topic.
    staff_topics: bool = False

    @property
    def pid_path(self) -> Path:
        return self.pid_file or self.db_path.parent / "faqbot.pid"

    def check_webhook(self) -> None:
        """Raise `ConfigError` (one line) unless webhook mode has what it needs."""
        missing = [
            name
            for name, value in (
                ("TELEGRAM_WEBHOOK_URL", self.webhook_url),
                ("TELEGRAM_WEBHOOK_SECRET", self.webhook_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
                "webhook mode needs the public HTTPS URL of /telegram and a secret token "
                "(see .env.example)"
            )

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
        webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
        if webhook_url and not webhook_url.startswith("https://"):
            raise ConfigError(
                f"TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram requires it), "
                f"got {webhook_url!r}"
            )
        webhook_secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        if webhook_secret and not _SECRET_TOKEN.match(webhook_secret):
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET must be 16-256 characters among A-Z, a-z, 0-9, _ and -"
            )
        pid_file = env.get("FAQBOT_PID_FILE", "").strip()
        defaults = Thresholds()
        limits = TicketLimits()
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
            api_url=(env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/"),
            bot_username=env.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@") or None,
            staff_chat_id=staff_chat_id,
            staff_user_ids=staff_user_ids,
            db_path=Path(env.get("FAQBOT_DB", "").strip() or DEFAULT_DB_PATH),
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
            flood_per_minute=_count(env, "FAQBOT_FLOOD_PER_MINUTE", PER_MINUTE),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            listen=env.get("FAQBOT_LISTEN", "").strip() or cls.listen,
            port=_port(env, "FAQBOT_PORT", cls.port),
            health_port=_port(env, "FAQBOT_HEALTH_PORT", None),
            pid_file=Path(pid_file) if pid_file else None,
            office=_office(env),
            staff_topics=env.get("STAFF_TOPICS", "").strip().lower() in ("on", "1", "true", "yes"),
        )


def _office(env: Mapping[str, str]) -> OfficeHours:
    defaults = OfficeHours()
    timezone = env.get("FAQBOT_TIMEZONE", "").strip() or defaults.timezone
    try:
        if env.get("FAQBOT_OFFICE_HOURS", "").strip().lower() == "off":
            return OfficeHours.always(timezone)
        return OfficeHours(
            timezone=timezone,
            hours=env.get("FAQBOT_OFFICE_HOURS", "").strip() or defaults.hours,
            days=env.get("FAQBOT_OFFICE_DAYS", "").strip() or defaults.days,
            holidays=env.get("FAQBOT_HOLIDAYS", defaults.holidays).strip(),
        )
    except OfficeHoursError as exc:
        raise ConfigError(f"office hours: {exc}") from None
