"""The team's office hours: when a question can expect an answer, and working time.

Working hours are the same on every working day (FAQBOT_OFFICE_HOURS, "09:00-17:00"), on the
working days of the week (FAQBOT_OFFICE_DAYS, "mon-fri"), in the team's time zone
(FAQBOT_TIMEZONE, "Europe/Paris"), minus the public holidays of FAQBOT_HOLIDAYS ("FR-6AE":
France with Alsace's own days, Good Friday and 26 December; "FR" for France alone, "" for
none). The holidays come from the `holidays` package, which follows each year's law.

Everything here works on timestamps (seconds since the epoch) and aware datetimes; nothing
knows Telegram.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_DAYS_AHEAD = 60  # the next opening is searched this far (a long holiday season, a typo)


class OfficeHoursError(ValueError):
    """A setting that does not describe office hours; the message says which and why."""


def parse_days(text: str) -> frozenset[int]:
    """ "mon-fri", "mon tue thu", "mon-wed,fri" -> weekday numbers (Monday 0)."""
    days: set[int] = set()
    for part in re.split(r"[\s,]+", text.strip().lower()):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            start = DAYS.index(first[:3])
            end = DAYS.index(last[:3]) if last else start
        except ValueError:
            raise OfficeHoursError(f"unknown day {part!r} (use mon, tue, … sun)") from None
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    if not days:
        raise OfficeHoursError("no working day")
    return frozenset(days)


def parse_hours(text: str) -> tuple[time, time]:
    match = _HOURS.match(text)
    if not match:
        raise OfficeHoursError(f"office hours {text!r} are not like 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60):
        raise OfficeHoursError(f"office hours {text!r}: no such time")
    opens = time(h1, m1)
    closes = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if closes <= opens:
        raise OfficeHoursError(f"office hours {text!r} close before they open")
    return opens, closes


@dataclass(frozen=True)
class OfficeHours:
    timezone: str = "Europe/Paris"
    hours: str = "09:00-17:00"
    days: str = "mon-fri"
    holidays: str = "FR-6AE"  # country, optionally "-" subdivision, as the holidays package

    def __post_init__(self) -> None:
        self.zone  # noqa: B018  (validate now: a typo fails at start, not at the first ticket)
        parse_hours(self.hours)
        parse_days(self.days)
        self._calendar(date.today().year)

    @functools.cached_property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError) as exc:
            raise OfficeHoursError(f"unknown time zone {self.timezone!r}") from exc

    def _calendar(self, year: int):
        country, _, subdivision = self.holidays.strip().partition("-")
        if not country:
            return {}
        return _calendar(country.upper(), subdivision or None, year)

    def is_holiday(self, day: date) -> bool:
        return day in self._calendar(day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in parse_days(self.days) and not self.is_holiday(day)

    @classmethod
    def always(cls, timezone: str = "Europe/Paris") -> OfficeHours:
        """No office hours (FAQBOT_OFFICE_HOURS=off): the team may answer at any time."""
        return cls(timezone=timezone, hours="00:00-24:00", days="mon-sun", holidays="")

    def _span(self, day: date) -> tuple[datetime, datetime]:
        opens, closes = parse_hours(self.hours)
        end = datetime.combine(day, closes, self.zone)
        if self.hours.strip().endswith("24:00"):
            end = datetime.combine(day + timedelta(days=1), time(0), self.zone)
        return datetime.combine(day, opens, self.zone), end

    def local(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, self.zone)

    def is_open(self, timestamp: float) -> bool:
        moment = self.local(timestamp)
        if not self.is_working_day(moment.date()):
            return False
        opens, closes = self._span(moment.date())
        return opens <= moment < closes

    def next_opening(self, timestamp: float) -> datetime | None:
        """When the team is next at work, from `timestamp` on (itself if open now)."""
        moment = self.local(timestamp)
        for offset in range(MAX_DAYS_AHEAD):
            day = moment.date() + timedelta(days=offset)
            if not self.is_working_day(day):
                continue
            opens, closes = self._span(day)
            if moment < closes:
                return max(opens, moment)
        return None

    def working_seconds(self, start: float, end: float) -> float:
        """Seconds of office hours between two timestamps (a wait as the team lives it)."""
        if end <= start:
            return 0.0
        first, last = self.local(start), self.local(end)
        total = 0.0
        day = first.date()
        while day <= last.date():
            if self.is_working_day(day):
                opens, closes = self._span(day)
                lo, hi = max(opens, first), min(closes, last)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total


@functools.lru_cache(maxsize=32)
def _calendar(country: str, subdivision: str | None, year: int):
    try:
        return holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        raise OfficeHoursError(f"no holidays known for {country}-{subdivision}: {exc}") from exc
