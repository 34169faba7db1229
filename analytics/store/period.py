"""Reporting periods: a closed range of due dates, the date figures are known at, and the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PRESETS = {"Last 7 days": 7, "Last 28 days": 28, "Last 12 weeks": 84, "Last 26 weeks": 182}
DEFAULT_PRESET = "Last 28 days"


@dataclass(frozen=True)
class Period:
    """Assignments due from `start` to `end` (both included).

    Figures for a period are taken as of its end, or today when the period has not ended:
    submissions made after that date do not count, so a past period reads as it stood then
    and compares fairly with the period before it.
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    @classmethod
    def last_days(cls, days: int, *, today: date) -> Period:
        """The `days` days ending today."""
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_of(self, today: date) -> date:
        return min(self.end, today)

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"
