"""What works: completion, on-time rate, mood lift and quality per assignment type, and homework vs outcome change.

Completion figures read `due_assignments` (credit and its cap are defined once in schema.sql); mood
lift and quality read `submission_facts` with the selection of `mood.lift_by_type`: submissions made
in [period.start, as of] to active assignments. A mean resting on fewer than MIN_N observations is
returned as NaN (with its n), so no page can show it as a number: say "not enough data" instead.
The definitions are written out in data/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd
from duckdb import DuckDBPyConnection
from scipy import stats

from analytics.metrics.clients import one_client_scope
from analytics.metrics.stats import mean_interval
from analytics.store.access import shown_labels
from analytics.store.period import Period
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES, MEASURES, TYPE_LABELS

# A mean (mood lift, quality) needs at least this many observations to be shown as a number.
MIN_N = 5
# A correlation's Fisher-z interval needs n - 3 > 0.
MIN_CORRELATION_N = 4
# Below this |r| an association is worded as "very slight" (Cohen's threshold of a small correlation).
WEAK_R = 0.1

# One row per assignment type with something due in the period or a rated submission in it.
# Completion: assignments due in [start, end] as known on as_of. Mood lift and quality:
# submissions made in [start, as_of] to active assignments (due or not yet due).
BY_TYPE = """
with due as (
    select assignment_type,
           count(*)                                  as due,
           sum(expected_count)::bigint               as expected,
           sum(credit)::double                       as credit,
           sum(on_time_credit)::double               as on_time_credit
    from due_assignments($as_of, $scope_therapist)
    where due_on between $start and $end
      and ($client_id is null or client_id = $client_id)
    group by assignment_type
),
work as (
    select a.assignment_type,
           count(s.mood_lift)                        as mood_lift_n,
           avg(s.mood_lift)::double                  as mood_lift_mean,
           stddev_samp(s.mood_lift)::double          as mood_lift_sd,
           count(s.quality)                          as quality_n,
           avg(s.quality)::double                    as quality_mean
    from submission_facts s
    join assignments_since($start) a using (assignment_id)
    join clients c using (client_id)
    where a.status = 'active'
      and near_local_days(s.submitted_at, $start, $as_of)
      and s.submitted_on between $start and $as_of
      and ($client_id is null or a.client_id = $client_id)
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
    group by a.assignment_type
)
select coalesce(d.assignment_type, w.assignment_type)  as assignment_type,
       coalesce(d.due, 0)                               as due,
       coalesce(d.expected, 0)                          as expected,
       coalesce(d.credit, 0)                            as credit,
       d.credit / nullif(d.expected, 0)                 as completion_rate,
       d.on_time_credit / nullif(d.expected, 0)         as on_time_rate,
       w.mood_lift_mean,
       w.mood_lift_sd,
       coalesce(w.mood_lift_n, 0)                       as mood_lift_n,
       w.quality_mean,
       coalesce(w.quality_n, 0)                         as quality_n
from due d
full join work w using (assignment_type)
where coalesce(d.due, 0) > 0 or coalesce(w.mood_lift_n, 0) > 0 or coalesce(w.quality_n, 0) > 0
"""

BY_TYPE_COLUMNS = [
    "assignment_type", "type_label", "due", "expected", "credit", "completion_rate", "on_time_rate",
    "mood_lift_mean", "mood_lift_ci_low", "mood_lift_ci_high", "mood_lift_n", "quality_mean", "quality_n",
    "enough_mood_data", "enough_quality_data",
]


def type_order(types: pd.Series) -> pd.Series:
    """Sort key: the canonical types in ASSIGNMENT_TYPES order, then any other spelling alphabetically."""
    rank = {t: i for i, t in enumerate(ASSIGNMENT_TYPES)}
    return types.map(lambda t: (rank.get(t, len(rank)), t))


def by_type(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, client_id: str | None = None
) -> pd.DataFrame:
    """Effectiveness of each assignment type for the scope (or one client) over the period.

    One row per type with something due in the period or a rated submission in it, canonical types
    first (in ASSIGNMENT_TYPES order). Columns: assignment_type, type_label; due (assignments),
    expected (sum of expected_count), credit, completion_rate and on_time_rate (0-1, NaN when nothing
    is due); mood_lift_mean (points on the 0-10 scale) with mood_lift_ci_low / mood_lift_ci_high
    (95% t interval) and mood_lift_n (submissions with both moods); quality_mean (0-4) and quality_n
    (rated submissions); enough_mood_data / enough_quality_data (n >= MIN_N). A mean and its interval
    are NaN when its n is under MIN_N: show "not enough data", never a number.
    """
    if client_id is not None:
        scope = one_client_scope(con, scope=scope, client_id=client_id)  # the same rows, over one caseload
    params = {"scope_therapist": scope.therapist_id, "client_id": client_id, "start": period.start,
              "end": period.end, "as_of": period.as_of(today)}
    frame = con.execute(BY_TYPE, params).df()
    frame = frame.sort_values("assignment_type", key=type_order, ignore_index=True)
    frame.insert(1, "type_label", [TYPE_LABELS.get(t, t) for t in frame["assignment_type"]])
    frame["enough_mood_data"] = frame["mood_lift_n"] >= MIN_N
    frame["enough_quality_data"] = frame["quality_n"] >= MIN_N
    intervals = [
        mean_interval(mean, sd, int(n)) if enough else None
        for mean, sd, n, enough in zip(frame["mood_lift_mean"], frame["mood_lift_sd"], frame["mood_lift_n"],
                                       frame["enough_mood_data"], strict=True)
    ]
    frame["mood_lift_ci_low"] = [i[0] if i else math.nan for i in intervals]
    frame["mood_lift_ci_high"] = [i[1] if i else math.nan for i in intervals]
    frame["mood_lift_mean"] = frame["mood_lift_mean"].where(frame["enough_mood_data"])
    frame["quality_mean"] = frame["quality_mean"].where(frame["enough_quality_data"])
    return frame[BY_TYPE_COLUMNS]


# ---------------------------------------------------------------------------------------------
# Homework and outcome change across the caseload
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdherenceOutcome:
    """How clients' completion rates go with their change on one measure, over one period.

    points: one row per client in scope with something due in the period and at least two scores of
    the measure in it: client_id, label, completion_rate (0-1), change (latest − first score in the
    period, points; negative is better). r is Pearson's correlation of completion_rate and change
    (None below MIN_CORRELATION_N clients or when either has no spread), ci_low / ci_high its 95%
    interval by Fisher's z, slope / intercept the least-squares line change = intercept + slope ×
    completion_rate (for a scatter), n the number of clients, and wording a sentence for people that
    calls it an association, never a cause.
    """

    measure: str
    points: pd.DataFrame
    n: int
    r: float | None
    ci_low: float | None
    ci_high: float | None
    slope: float | None
    intercept: float | None
    wording: str


# Completion per client over the assignments due in the period (as of its as-of date); change per
# client between their first and latest score of the measure taken in [start, as_of].
ADHERENCE_OUTCOME = """
with completion as (
    select client_id, sum(credit)::double / sum(expected_count) as completion_rate
    from due_assignments($as_of, $scope_therapist)
    where due_on between $start and $end
    group by client_id
),
scores as (
    select m.client_id,
           (arg_max(m.score, m.administered_on) - arg_min(m.score, m.administered_on))::double as change
    from measures m
    join clients c using (client_id)
    where m.measure = $measure
      and m.administered_on between $start and $as_of
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
    group by m.client_id
    having count(*) >= 2
)
select p.client_id, c.label, p.completion_rate, s.change,
       count(*) over ()                                        as n,
       corr(s.change, p.completion_rate) over ()              as r,
       regr_slope(s.change, p.completion_rate) over ()        as slope,
       regr_intercept(s.change, p.completion_rate) over ()    as intercept
from completion p
join scores s using (client_id)
join clients c using (client_id)
order by p.client_id
"""


def correlation_interval(r: float, n: int) -> tuple[float, float] | None:
    """The 95% interval of Pearson's r by Fisher's z: atanh(r) is about normal with sd 1 / √(n − 3), so the
    interval is tanh of scipy.stats.norm's 95% interval there; None when n < MIN_CORRELATION_N."""
    if n < MIN_CORRELATION_N:
        return None
    if abs(r) >= 1:
        return (r, r)
    low, high = stats.norm.interval(0.95, loc=math.atanh(r), scale=1 / math.sqrt(n - 3))
    return math.tanh(low), math.tanh(high)


def _signed(value: float, digits: int = 2) -> str:
    """A number with a real minus sign (−0.42), as in print."""
    text = f"{value:.{digits}f}"
    return text.replace("-", "\u2212")


def association_wording(measure: str, r: float | None, interval: tuple[float, float] | None, n: int) -> str:
    """The association in words: its direction only when the 95% interval excludes zero; always 'not a cause'."""
    if r is None or interval is None:
        if n < MIN_CORRELATION_N:
            return (f"Not enough data: {n} client{'s' if n != 1 else ''} had homework due and two {measure} "
                    f"scores in this period; at least {MIN_CORRELATION_N} are needed to look for an association.")
        return (f"No association can be computed for {measure}: the {n} clients all had the same completion rate "
                f"or the same change.")
    low, high = interval
    figures = f"(r = {_signed(r)}, 95% CI {_signed(low)} to {_signed(high)}, n = {n})"
    # with many clients a negligible r can have an interval clear of zero: say how small it is
    slightly = "very slightly " if abs(r) < WEAK_R else ""
    if low > 0:
        lead = f"Clients who completed more homework tended to improve {slightly}less on {measure} {figures}."
    elif high < 0:
        lead = f"Clients who completed more homework tended to improve {slightly}more on {measure} {figures}."
    else:
        lead = (f"There was no clear association between how much homework clients completed and their change "
                f"on {measure} {figures}.")
    return lead + " This is an association, not proof that homework caused the change."


def _float_or_none(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def adherence_outcome(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, measure: str
) -> AdherenceOutcome:
    """Completion rate against change on `measure` (PHQ-9 or GAD-7) for the clients in scope (see AdherenceOutcome).

    A client is a point when something was due for them in the period and they have at least two
    scores of the measure taken in [period.start, as of]; at most one row per client in scope.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}")
    params = {"scope_therapist": scope.therapist_id, "start": period.start, "end": period.end,
              "as_of": period.as_of(today), "measure": measure}
    frame = con.execute(ADHERENCE_OUTCOME, params).df()
    n = len(frame)
    r = _float_or_none(frame["r"].iloc[0]) if n else None
    if r is not None and math.isnan(r):
        r = None
    interval = correlation_interval(r, n) if r is not None else None
    if interval is None:
        r = None  # below MIN_CORRELATION_N an r has no interval: not shown either
    slope = _float_or_none(frame["slope"].iloc[0]) if n and r is not None else None
    intercept = _float_or_none(frame["intercept"].iloc[0]) if n and r is not None else None
    return AdherenceOutcome(
        measure=measure,
        points=shown_labels(con, frame[["client_id", "label", "completion_rate", "change"]].reset_index(drop=True),
                            scope=scope),  # pseudonyms in the analyst's view
        n=n,
        r=r,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        slope=slope,
        intercept=intercept,
        wording=association_wording(measure, r, interval, n),
    )
