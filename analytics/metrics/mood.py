"""Mood over time: a client's daily and weekly mood, mood lift per submission and by type, and mood trends.

A submission's *mood* is `mood_after`, or `mood_before` when only that was given (0-10, higher is
better). Mood is mood whatever became of the assignment, so the series take every submission made in
[period.start, as of] to the client's assignments, cancelled ones included; mood *lift* by type
keeps to active assignments, like the adherence figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics.stats import mean_interval, t_quantile_975
from analytics.store.period import Period
from analytics.store.scope import Scope

# Each mood rating of the clients in scope made in [start, as_of] (all assignment statuses);
# $client_id null means every client in scope.
CLIENT_MOODS = """
client_moods as (
    select a.client_id,
           s.submitted_local,
           s.submitted_on,
           coalesce(s.mood_after, s.mood_before)::double as mood
    from submission_facts s
    join assignments_since($start) a using (assignment_id)
    join clients c using (client_id)
    where near_local_days(s.submitted_at, $start, $as_of)
      and s.submitted_on between $start and $as_of
      and coalesce(s.mood_after, s.mood_before) is not null
      and ($client_id is null or a.client_id = $client_id)
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
)
"""


def _params(scope: Scope, period: Period, today: date, client_id: str | None) -> dict[str, object]:
    return {"start": period.start, "as_of": period.as_of(today), "client_id": client_id,
            "scope_therapist": scope.therapist_id}


# The 7-day window is a range over calendar days, so days without a rating simply add nothing.
DAILY_MOOD = "with " + CLIENT_MOODS + """,
daily as (
    select submitted_on as day, avg(mood) as mood_mean, count(*) as n, sum(mood) as mood_sum
    from client_moods
    group by submitted_on
)
select day,
       mood_mean,
       n,
       sum(mood_sum) over last_7_days / sum(n) over last_7_days as rolling_7d,
       sum(n) over last_7_days                                  as n_7d
from daily
window last_7_days as (order by day range between interval 6 days preceding and current row)
order by day
"""


def daily_mood(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> pd.DataFrame:
    """One row per day with a mood rating in [period.start, as of]: day (date), mood_mean (0-10, mean of
    the day's ratings), n (ratings that day), rolling_7d (mean of every rating in the 7 days ending that
    day, within the period) and n_7d (ratings behind it)."""
    scope.require_client(con, client_id)
    return con.execute(DAILY_MOOD, _params(scope, period, today, client_id)).df()


WEEKLY_MOOD = "with " + CLIENT_MOODS + """
select date_trunc('week', submitted_on)::date as week, avg(mood) as mood_mean, count(*) as n
from client_moods
group by week
order by week
"""


def weekly_mood(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> pd.DataFrame:
    """One row per ISO week with a mood rating: week (Monday of the submission's calendar date),
    mood_mean (0-10) and n (ratings). Same week key as adherence.weekly_completion, so the two share an axis."""
    scope.require_client(con, client_id)
    return con.execute(WEEKLY_MOOD, _params(scope, period, today, client_id)).df()


MOOD_LIFTS = """
select s.submitted_local as submitted_at, a.title, a.assignment_type,
       s.mood_before, s.mood_after, s.mood_lift
from submission_facts s
join assignments_since($start) a using (assignment_id)
join clients c using (client_id)
where a.client_id = $client_id
  and s.submitted_on between $start and $as_of
  and s.mood_lift is not null
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
order by s.submitted_local, s.submission_id
"""


def mood_lifts(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> pd.DataFrame:
    """One row per submission in [period.start, as of] with both moods, oldest first: submitted_at
    (practice local time), title, assignment_type, mood_before, mood_after (0-10) and mood_lift (points)."""
    scope.require_client(con, client_id)
    return con.execute(MOOD_LIFTS, _params(scope, period, today, client_id)).df()


# The same submissions as MOOD_LIFTS, summarised.
CLIENT_LIFT = "select avg(mood_lift), stddev_samp(mood_lift), count(*) from (" + MOOD_LIFTS + ")"


@dataclass(frozen=True)
class LiftSummary:
    """Mean mood lift over a set of submissions: points on the 0-10 scale, n submissions, the mean's 95% t interval."""

    mean: float | None
    n: int
    ci_low: float | None
    ci_high: float | None


def client_lift(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> LiftSummary:
    """The mean mood lift over the client's submissions of `mood_lifts`, with n and its 95% interval (n >= 2)."""
    scope.require_client(con, client_id)
    mean, sd, n = con.execute(CLIENT_LIFT, _params(scope, period, today, client_id)).fetchone()
    if not n:
        return LiftSummary(None, 0, None, None)
    interval = mean_interval(float(mean), float(sd), int(n)) if n > 1 else None
    low, high = interval if interval else (None, None)
    return LiftSummary(float(mean), int(n), low, high)


LIFT_BY_TYPE = """
select a.assignment_type,
       count(*)                     as n,
       avg(s.mood_lift)             as mean_lift,
       stddev_samp(s.mood_lift)     as sd
from submission_facts s
join assignments a using (assignment_id)
join clients c using (client_id)
where a.status = 'active'
  and s.submitted_on between $start and $as_of
  and s.mood_lift is not null
  and ($client_id is null or a.client_id = $client_id)
  and ($assignment_type is null or a.assignment_type = $assignment_type)
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
group by a.assignment_type
order by a.assignment_type
"""


def lift_by_type(
    con: DuckDBPyConnection,
    *,
    scope: Scope,
    period: Period,
    today: date,
    client_id: str | None = None,
    assignment_type: str | None = None,
) -> pd.DataFrame:
    """Mood lift per assignment type over submissions made in [period.start, as of] to active assignments
    in scope (one client's when `client_id` is given): assignment_type, n (submissions with both moods),
    mean_lift and sd (points), ci_low and ci_high (the mean's 95% t interval; NaN when n < 2).
    Types with no lift have no row."""
    if client_id is not None:
        scope.require_client(con, client_id)
    params = {**_params(scope, period, today, client_id), "assignment_type": assignment_type}
    frame = con.execute(LIFT_BY_TYPE, params).df()
    intervals = [mean_interval(m, s, int(n)) or (math.nan, math.nan)
                 for m, s, n in zip(frame["mean_lift"], frame["sd"], frame["n"], strict=True)]
    frame["ci_low"] = [low for low, _ in intervals]
    frame["ci_high"] = [high for _, high in intervals]
    return frame


@dataclass(frozen=True)
class MoodTrend:
    """A least-squares line through one client's mood ratings against time.

    slope_per_week is in mood points (0-10 scale) per week, with its 95% interval; all three are None
    when there are fewer than 3 ratings or they all fall on one day. first_day/last_day are the
    calendar dates of the first and last rating (None without ratings).
    """

    slope_per_week: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    first_day: date | None
    last_day: date | None


# Time is weeks since the period's start (local time, so 18:00 on day 3 is 3.75/7 weeks). The regr_*
# sums give the slope and its standard error: se = sqrt((Syy - slope * Sxy) / (n - 2) / Sxx).
MOOD_TREND = "with " + CLIENT_MOODS + """,
points as (
    select client_id, submitted_on, mood,
           (epoch(submitted_local) - epoch($start::timestamp)) / (7 * 86400) as weeks
    from client_moods
)
select client_id,
       regr_count(mood, weeks)::bigint  as n,
       regr_slope(mood, weeks)          as slope,
       regr_sxx(mood, weeks)            as sxx,
       regr_syy(mood, weeks)            as syy,
       regr_sxy(mood, weeks)            as sxy,
       min(submitted_on)                as first_day,
       max(submitted_on)                as last_day
from points
group by client_id
order by client_id
"""


def _trend_lines(sums: pd.DataFrame) -> pd.DataFrame:
    """slope_per_week, ci_low, ci_high (NaN below 3 ratings or on one day) from MOOD_TREND's sums (two days or more:
    the first day before the last; counting the distinct days cost a grouping by client and day)."""
    has_line = (sums["n"] >= 3) & (sums["first_day"] < sums["last_day"])
    n = sums["n"].astype(float)
    slope = sums["slope"].where(has_line)
    residual = (sums["syy"] - sums["slope"] * sums["sxy"]).clip(lower=0)  # rounding can dip below 0
    se = np.sqrt(residual / (n - 2) / sums["sxx"]).where(has_line)
    ratings = sums["n"].where(has_line)
    # (the quantile of each count of ratings once, not once a client: 45k clients at 10M take a few dozen counts)
    t = ratings.map({k: t_quantile_975(int(k) - 2) for k in ratings.dropna().unique().tolist()}).astype(float)
    return pd.DataFrame({"slope_per_week": slope, "ci_low": slope - t * se, "ci_high": slope + t * se})


def _none_if_nan(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def mood_trend(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> MoodTrend:
    """The client's mood trend over ratings made in [period.start, as of] (see MoodTrend)."""
    scope.require_client(con, client_id)
    sums = con.execute(MOOD_TREND, _params(scope, period, today, client_id)).df()
    if sums.empty:
        return MoodTrend(None, None, None, 0, None, None)
    line = _trend_lines(sums).iloc[0]
    row = sums.iloc[0]
    return MoodTrend(
        slope_per_week=_none_if_nan(line["slope_per_week"]),
        ci_low=_none_if_nan(line["ci_low"]),
        ci_high=_none_if_nan(line["ci_high"]),
        n=int(row["n"]),
        first_day=pd.Timestamp(row["first_day"]).date(),
        last_day=pd.Timestamp(row["last_day"]).date(),
    )


def caseload_mood_trends(con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date) -> pd.DataFrame:
    """mood_trend for every client in scope with a rating in [period.start, as of], in one query:
    client_id, slope_per_week, ci_low, ci_high (NaN below 3 ratings or on one day) and n (ratings)."""
    sums = con.execute(MOOD_TREND, _params(scope, period, today, None)).df()
    return pd.concat([sums[["client_id"]], _trend_lines(sums), sums[["n"]]], axis=1)


# Per client in scope with a mood rating in [start, as_of]: the recent window's mean against the whole
# window's median (the client's usual level).
MOOD_LEVELS = "with " + CLIENT_MOODS + """
select client_id,
       avg(mood) filter (where submitted_on >= $recent_from)   as recent_mean,
       count(*) filter (where submitted_on >= $recent_from)    as recent_n,
       median(mood)                                            as usual_median,
       count(*)                                                as usual_n
from client_moods
group by client_id
order by client_id
"""


def mood_levels(con: DuckDBPyConnection, *, scope: Scope, today: date, recent_days: int, usual_days: int
                ) -> pd.DataFrame:
    """Each client in scope with a mood rating in the `usual_days` days ending today: client_id,
    recent_mean and recent_n (mean and count of the ratings in the `recent_days` days ending today; NaN
    and 0 without any), usual_median and usual_n (median and count over the `usual_days` days)."""
    period = Period.last_days(usual_days, today=today)
    params = {**_params(scope, period, today, None),
              "recent_from": Period.last_days(recent_days, today=today).start}
    frame = con.execute(MOOD_LEVELS, params).df()
    frame["recent_n"] = frame["recent_n"].astype(int)
    return frame
