"""Needs attention: the clients in scope that a therapist should look at first, and why.

Six rules, each written out in RULES with the practice's thresholds (stored in `settings` under
`attention.<field>`). Every rule is computed over the whole scope at once: the adherence rules in one
query over `due_assignments` and `submission_facts`, the mood rule by mood.caseload_mood_trends and the
deterioration rule by outcomes.measure_change, so each figure has one definition.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, timedelta

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics import mood, outcomes
from analytics.store.database import transaction
from analytics.store.period import Period
from analytics.store.scope import Scope

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
                     "mood_window_days", "feedback_window_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.feedback_wait_days < 0:
            raise ValueError("feedback_wait_days cannot be negative")
        if self.mood_min_n < 3:
            raise ValueError("mood_min_n must be at least 3 (a trend needs three ratings)")


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


def save_thresholds(con: DuckDBPyConnection, thresholds: Thresholds) -> None:
    """Store every threshold under attention.<field>, in one transaction."""
    with transaction(con):
        for name, value in asdict(thresholds).items():
            con.execute(
                "insert into settings values ($key, $value) on conflict (key) do update set value = excluded.value",
                {"key": SETTINGS_PREFIX + name, "value": str(value)},
            )


@dataclass(frozen=True)
class Rule:
    """One needs-attention rule: a short id and its wording, filled in from the thresholds."""

    id: str
    wording: str

    def text(self, thresholds: Thresholds) -> str:
        return self.wording.format(**asdict(thresholds), falling=-thresholds.mood_slope_per_week,
                                   phq9=outcomes.RELIABLE_CHANGE["PHQ-9"], gad7=outcomes.RELIABLE_CHANGE["GAD-7"])


# In order of severity: a client with as many reasons as another but a more severe one ranks first.
RULES: tuple[Rule, ...] = (
    Rule("deterioration", "Reliable deterioration from the first to the latest score: PHQ-9 up {phq9} points or "
                          "more, or GAD-7 up {gad7} points or more"),
    Rule("silent", "No submission in the last {silent_days} days while homework was due in that time"),
    Rule("missed_in_a_row", "The last {missed_in_a_row} assignments due were all missed (no credit)"),
    Rule("low_completion", "Completion under {completion_below:.0%} in the last {completion_window_days} days "
                           "(with at least {completion_min_due} assignments due)"),
    Rule("mood_falling", "Mood falling by {falling:g} points a week or more over the last {mood_window_days} days "
                         "(at least {mood_min_n} mood ratings, the 95% interval wholly below zero)"),
    Rule("feedback_waiting", "A completed or partial submission from the last {feedback_window_days} days has "
                             "waited more than {feedback_wait_days} days for feedback"),
)
SEVERITY = [rule.id for rule in RULES]


def rule_texts(thresholds: Thresholds = Thresholds()) -> list[tuple[str, str]]:
    """The rules as the page shows them, most severe first: (id, text)."""
    return [(rule.id, rule.text(thresholds)) for rule in RULES]


# One row per active or paused client in scope with the figures of the adherence rules and their
# flags. Windows are the N calendar days ending today ($..._from = today - (N - 1)).
ADHERENCE_FIGURES = """
with people as (
    select c.client_id, c.label, c.therapist_id, t.name as therapist_name, c.status
    from clients c
    left join therapists t using (therapist_id)
    where c.status in ('active', 'paused')
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
),
due as materialized (
    select client_id, assignment_id, due_on, expected_count, credit
    from due_assignments($today, $scope_therapist)
),
due_figures as (
    select client_id,
           count(*) filter (where due_on >= $completion_from)                        as recent_due,
           sum(credit) filter (where due_on >= $completion_from)
               / sum(expected_count) filter (where due_on >= $completion_from)       as recent_completion,
           count(*) filter (where due_on >= $silent_from)                            as silent_window_due,
           max(due_on) filter (where credit > 0)                                     as last_credited_due
    from due
    group by client_id
),
missed as (
    -- the assignments due after the last due date on which any assignment earned credit
    select client_id, count(*) as missed_streak
    from due
    join due_figures f using (client_id)
    where f.last_credited_due is null or due.due_on > f.last_credited_due
    group by client_id
),
client_work as (
    select a.client_id,
           s.submitted_on,
           a.status = 'active'
               and s.completion in ('completed', 'partial')
               and s.submitted_on between $feedback_from and $feedback_before
               and (coalesce(trim(s.therapist_feedback), '') = '' or s.feedback_local::date > $today)
               as awaits_feedback
    from submission_facts s
    join assignments a using (assignment_id)
    join clients c using (client_id)
    where s.submitted_on <= $today
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
),
work as (
    select client_id,
           max(submitted_on)                                            as last_submission_on,
           count(*) filter (where awaits_feedback)                      as feedback_waiting,
           max($today - submitted_on) filter (where awaits_feedback)    as feedback_oldest_days
    from client_work
    group by client_id
)
select p.*,
       d.recent_completion,
       coalesce(d.recent_due, 0)                      as recent_due,
       $today - w.last_submission_on                  as days_silent,
       w.last_submission_on,
       coalesce(d.silent_window_due, 0)               as silent_window_due,
       coalesce(m.missed_streak, 0)                   as missed_streak,
       coalesce(w.feedback_waiting, 0)                as feedback_waiting,
       w.feedback_oldest_days,
       coalesce(d.recent_due >= $completion_min_due and d.recent_completion < $completion_below, false)
                                                      as low_completion,
       coalesce(d.silent_window_due, 0) > 0
           and coalesce($today - w.last_submission_on >= $silent_days, true)
                                                      as silent,
       coalesce(m.missed_streak >= $missed_in_a_row, false) as missed_in_a_row,
       coalesce(w.feedback_waiting, 0) > 0            as feedback_waiting_flag
from people p
left join due_figures d using (client_id)
left join missed m using (client_id)
left join work w using (client_id)
"""


def _adherence_params(scope: Scope, today: date, t: Thresholds) -> dict[str, object]:
    def window_from(days: int) -> date:
        return today - timedelta(days=days - 1)

    return {
        "scope_therapist": scope.therapist_id,
        "today": today,
        "completion_from": window_from(t.completion_window_days),
        "completion_min_due": t.completion_min_due,
        "completion_below": t.completion_below,
        "silent_from": window_from(t.silent_days),
        "silent_days": t.silent_days,
        "missed_in_a_row": t.missed_in_a_row,
        "feedback_from": window_from(t.feedback_window_days),
        "feedback_before": today - timedelta(days=t.feedback_wait_days + 1),  # more than wait days ago
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _silent_reason(row: dict, t: Thresholds) -> str:
    due = _plural(int(row["silent_window_due"]), "assignment")
    if pd.isna(row["days_silent"]):
        return f"No submission yet ({due} due in the last {t.silent_days} days)"
    return f"No submission for {int(row['days_silent'])} days ({due} due in the last {t.silent_days} days)"


def _missed_reason(row: dict, t: Thresholds) -> str:
    return f"The last {int(row['missed_streak'])} assignments due were all missed"


def _completion_reason(row: dict, t: Thresholds) -> str:
    return f"Completion {row['recent_completion']:.0%} in the last {t.completion_window_days} days ({int(row['recent_due'])} due)"


def _mood_reason(row: dict, t: Thresholds) -> str:
    return (f"Mood falling {-row['mood_slope_per_week']:.1f} points a week over the last {t.mood_window_days} days "
            f"(95% CI {row['mood_ci_low']:.1f} to {row['mood_ci_high']:.1f}; {int(row['mood_n'])} ratings)")


def _feedback_reason(row: dict, t: Thresholds) -> str:
    waiting = int(row["feedback_waiting"])
    subject = "1 submission is" if waiting == 1 else f"{waiting} submissions are"
    return f"{subject} waiting for feedback, the oldest for {int(row['feedback_oldest_days'])} days"


def _deterioration_reasons(changes: pd.DataFrame) -> pd.Series:
    """Per client with a reliable deterioration: "Reliable deterioration: PHQ-9 8 → 14 (+6)" (measures joined by ;)."""
    worse = changes[changes["reliable_change"] == "reliable deterioration"]
    parts = [f"{m} {int(a)} → {int(b)} (+{int(b - a)})"
             for m, a, b in zip(worse["measure"], worse["first_score"], worse["latest_score"], strict=True)]
    texts = pd.Series(parts, index=worse.index, dtype="object").groupby(worse["client_id"]).agg("; ".join)
    return "Reliable deterioration: " + texts


COLUMNS = [
    "rank", "client_id", "label", "therapist_id", "therapist_name", "status", "reasons", "rule_ids", "n_reasons",
    "recent_completion", "recent_due", "days_silent", "last_submission_on", "missed_streak",
    "mood_slope_per_week", "mood_ci_low", "mood_ci_high", "mood_n", "phq9_change", "gad7_change",
    "feedback_waiting", "feedback_oldest_days",
]


def needs_attention(
    con: DuckDBPyConnection, *, scope: Scope, today: date, thresholds: Thresholds = Thresholds()
) -> pd.DataFrame:
    """The active and paused clients in scope with at least one reason for attention, most urgent first.

    Columns: rank (1 = first), client_id, label, therapist_id, therapist_name, status, reasons (list of
    texts with the client's own figures), rule_ids (list of RULES ids, most severe first), n_reasons,
    and the key figures: recent_completion (0-1, over assignments due in the last completion_window_days)
    and recent_due (assignments), days_silent (days since the last submission; NA if none) and
    last_submission_on, missed_streak (assignments due after the last due date on which any earned
    credit: all of them earned none), mood_slope_per_week, mood_ci_low, mood_ci_high (points a week
    over the last mood_window_days) and mood_n (ratings),
    phq9_change and gad7_change (latest - first score), feedback_waiting (submissions) and
    feedback_oldest_days. Ranked by n_reasons, then the most severe rule (RULES order), then the lowest
    recent_completion.
    """
    t = thresholds
    frame = con.execute(ADHERENCE_FIGURES, _adherence_params(scope, today, t)).df()

    trends = mood.caseload_mood_trends(con, scope=scope, period=Period.last_days(t.mood_window_days, today=today),
                                       today=today)
    trends = trends.rename(columns={"slope_per_week": "mood_slope_per_week", "ci_low": "mood_ci_low",
                                    "ci_high": "mood_ci_high", "n": "mood_n"})
    frame = frame.merge(trends, on="client_id", how="left")
    frame["mood_n"] = frame["mood_n"].fillna(0).astype(int)

    changes = outcomes.measure_change(con, scope=scope)
    repeated = changes[changes["n"] >= 2].pivot(index="client_id", columns="measure", values="change")
    for measure, column in (("PHQ-9", "phq9_change"), ("GAD-7", "gad7_change")):
        figures = repeated[measure] if measure in repeated else pd.Series(dtype="float64")
        frame[column] = frame["client_id"].map(figures).astype("Int64")
    deterioration_text = frame["client_id"].map(_deterioration_reasons(changes))

    mood_falling = ((frame["mood_n"] >= t.mood_min_n) & (frame["mood_slope_per_week"] <= t.mood_slope_per_week)
                    & (frame["mood_ci_high"] < 0))  # NaN (no trend) compares False
    flags = {
        "deterioration": deterioration_text.notna(),
        "silent": frame["silent"],
        "missed_in_a_row": frame["missed_in_a_row"],
        "low_completion": frame["low_completion"],
        "mood_falling": mood_falling,
        "feedback_waiting": frame["feedback_waiting_flag"],
    }
    writers = {"silent": _silent_reason, "missed_in_a_row": _missed_reason, "low_completion": _completion_reason,
               "mood_falling": _mood_reason, "feedback_waiting": _feedback_reason}
    texts = pd.DataFrame({"deterioration": deterioration_text}, index=frame.index)
    for rule_id, write in writers.items():
        flagged = frame[flags[rule_id]]
        texts[rule_id] = pd.Series([write(row, t) for row in flagged.to_dict("records")], index=flagged.index,
                                   dtype="object")

    flagged = pd.DataFrame(flags)[SEVERITY]
    keep = flagged.any(axis=1)
    frame, flagged, texts = frame[keep].copy(), flagged[keep], texts.loc[keep, SEVERITY]
    frame["rule_ids"] = [[r for r, hit in zip(SEVERITY, hits, strict=True) if hit] for hits in flagged.to_numpy()]
    frame["reasons"] = [[text for text, hit in zip(row, hits, strict=True) if hit]
                        for row, hits in zip(texts.to_numpy(), flagged.to_numpy(), strict=True)]
    frame["n_reasons"] = frame["rule_ids"].map(len)
    # Ids sorted by severity compare like a binary number with the most severe rule as the top bit.
    frame["severity"] = frame["rule_ids"].map(lambda ids: sum(2 ** (len(SEVERITY) - SEVERITY.index(r)) for r in ids))
    frame = frame.sort_values(["n_reasons", "severity", "recent_completion", "label", "client_id"],
                              ascending=[False, False, True, True, True], na_position="last")
    frame["rank"] = range(1, len(frame) + 1)
    return frame[COLUMNS].reset_index(drop=True)
