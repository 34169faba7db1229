"""The needs-attention thresholds: the limits of attention.RULES, with the practice's own values stored in `settings`
under `attention.<field>`, read, checked and saved here (attention re-exports them, so callers keep reading
`attention.Thresholds` and `attention.load_thresholds`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from duckdb import DuckDBPyConnection

from analytics.store.database import transaction

SETTINGS_PREFIX = "attention."


@dataclass(frozen=True)
class Thresholds:
    """The limits of the needs-attention rules (days are calendar days ending today)."""

    completion_below: float = 0.5  # 0-1
    completion_window_days: int = 28
    completion_min_due: int = 2  # assignments
    silent_days: int = 14
    missed_in_a_row: int = 3  # assignments
    mood_slope_per_week: float = -0.5  # mood points per week; a falling trend is at or below it
    mood_window_days: int = 28
    mood_min_n: int = 4  # mood ratings
    feedback_wait_days: int = 7
    feedback_window_days: int = 28
    phq9_rise: int = 6  # PHQ-9 points above the previous or lowest earlier score (the reliable change)
    gad7_rise: int = 4  # GAD-7 points, likewise
    phq9_severe_from: int = 20  # the PHQ-9 severe band starts here
    gad7_severe_from: int = 15  # the GAD-7 severe band starts here
    mood_drop_points: float = 2.0  # mood points the recent mean lies under the usual median, or more
    mood_recent_days: int = 7
    mood_usual_days: int = 28
    mood_recent_min_n: int = 2  # mood ratings in the recent days
    mood_usual_min_n: int = 5  # mood ratings in the usual days

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{field.name} must be a whole number, not {value!r}")
            if field.type == "float" and (isinstance(value, bool) or not isinstance(value, int | float)
                                          or not math.isfinite(value)):
                raise ValueError(f"{field.name} must be a number, not {value!r}")
        if not 0 < self.completion_below <= 1:
            raise ValueError("completion_below must be a rate above 0 and at most 1 (0.5 is 50%)")
        for name in ("completion_window_days", "completion_min_due", "silent_days", "missed_in_a_row",
                     "mood_window_days", "feedback_window_days", "phq9_rise", "gad7_rise", "mood_recent_days",
                     "mood_usual_days", "mood_recent_min_n", "mood_usual_min_n"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.feedback_wait_days < 0:
            raise ValueError("feedback_wait_days cannot be negative")
        if self.mood_min_n < 3:
            raise ValueError("mood_min_n must be at least 3 (a trend needs three ratings)")
        if not 1 <= self.phq9_severe_from <= 27 or not 1 <= self.gad7_severe_from <= 21:
            raise ValueError("the severe band must start within the measure's range (PHQ-9 1-27, GAD-7 1-21)")
        if self.mood_drop_points <= 0:
            raise ValueError("mood_drop_points must be above 0")
        if self.mood_recent_days >= self.mood_usual_days:
            raise ValueError("mood_recent_days must be fewer than mood_usual_days")


def _parse(field_type: str, text: str) -> int | float:
    if field_type == "int":
        return int(text.strip())
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def load_thresholds(con: DuckDBPyConnection) -> Thresholds:
    """The thresholds with the overrides stored in `settings` (keys attention.<field>) applied.

    Raises ValueError naming the key for an unknown key or a value that is not valid.
    """
    types = {field.name: field.type for field in fields(Thresholds)}
    stored = con.execute(
        "select key, value from settings where starts_with(key, $prefix) order by key", {"prefix": SETTINGS_PREFIX}
    ).fetchall()
    thresholds = Thresholds()
    for key, text in stored:
        name = key.removeprefix(SETTINGS_PREFIX)
        if name not in types:
            raise ValueError(f"setting {key!r} is not a needs-attention threshold")
        try:
            thresholds = replace(thresholds, **{name: _parse(types[name], text)})
        except ValueError as exc:
            raise ValueError(f"setting {key!r} has an invalid value {text!r}: {exc}") from exc
    return thresholds


def thresholds_or_defaults(con: DuckDBPyConnection) -> tuple[Thresholds, str | None]:
    """The stored thresholds, or the defaults with the reason when a stored one is not valid (the list stays useful)."""
    try:
        return load_thresholds(con), None
    except ValueError as exc:
        return Thresholds(), str(exc)


def save_thresholds(con: DuckDBPyConnection, thresholds: Thresholds) -> None:
    """Store every threshold under attention.<field>, in one transaction."""
    with transaction(con):
        for name, value in asdict(thresholds).items():
            con.execute(
                "insert into settings values ($key, $value) on conflict (key) do update set value = excluded.value",
                {"key": SETTINGS_PREFIX + name, "value": str(value)},
            )
