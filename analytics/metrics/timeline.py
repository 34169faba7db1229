"""One client's period week by week: every week of the period, empty ones included, with the homework due, the
submissions made and the mood reported, the current week marked as counted so far.

Completion reads `due_assignments` (as every completion figure does); submissions and mood read
`submission_facts` (every submission counts, whatever became of its assignment, as on the Client page).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics.clients import one_client_scope
from analytics.store.period import Period
from analytics.store.scope import Scope

# Every Monday from the week of the period's start to the week of its as-of date, with the client's due
# homework (by week of due_on), submissions and mood (by week of the calendar date submitted).
CLIENT_WEEKS = """
with weeks as (
    select unnest(generate_series(date_trunc('week', $start::date), date_trunc('week', $as_of::date),
                                  interval 7 day))::date as week
),
due as (
    select week, count(*) as due, sum(expected_count)::double as expected, sum(credit)::double as credit
    from due_assignments($as_of, $scope_therapist)
    where client_id = $client_id and due_on between $start and $end
    group by week
),
work as (
    select date_trunc('week', s.submitted_on)::date                     as week,
           count(*)                                                    as submissions,
           count(*) filter (where s.completion <> 'skipped')           as done,
           avg(coalesce(s.mood_after, s.mood_before))::double          as mood_mean,
           count(coalesce(s.mood_after, s.mood_before))                as mood_n
    from submission_facts s
    join assignments_since($start) a using (assignment_id)
    join clients c using (client_id)
    where a.client_id = $client_id
      and near_local_days(s.submitted_at, $start, $as_of)
      and s.submitted_on between $start and $as_of
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
    group by 1
)
select w.week,
       coalesce(d.due, 0)::bigint            as due,
       coalesce(d.expected, 0)               as expected,
       coalesce(d.credit, 0)                 as credit,
       d.credit / nullif(d.expected, 0)      as completion_rate,
       coalesce(k.submissions, 0)::bigint    as submissions,
       coalesce(k.done, 0)::bigint           as done,
       k.mood_mean,
       coalesce(k.mood_n, 0)::bigint         as mood_n
from weeks w
left join due d using (week)
left join work k using (week)
order by w.week
"""

COLUMNS = ["week", "first_day", "last_day", "days", "so_far", "due", "expected", "credit", "completion_rate",
           "submissions", "done", "mood_mean", "mood_n"]


def client_weeks(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> pd.DataFrame:
    """Every ISO week from the period's start to its as-of date, one row each, empty weeks included.

    Columns: week (Monday), first_day and last_day (the week's days inside [period.start, as of]), days
    (how many), so_far (True for the week of the as-of date when it has not ended: its figures are
    counted so far, not a full week), due (assignments due that week in the period, as of the as-of
    date), expected, credit, completion_rate (0-1; NaN when nothing was due), submissions (made that week:
    completed, partial or skipped), done (completed or partial), mood_mean (0-10, mood after or else
    before) and mood_n (ratings). Raises ScopeError for a client outside the scope.
    """
    scope = one_client_scope(con, scope=scope, client_id=client_id)  # the same rows, over one caseload
    as_of = period.as_of(today)
    params = {"client_id": client_id, "scope_therapist": scope.therapist_id, "start": period.start,
              "end": period.end, "as_of": as_of}
    frame = con.execute(CLIENT_WEEKS, params).df()
    frame["week"] = [pd.Timestamp(w).date() for w in frame["week"]]
    frame["first_day"] = [max(w, period.start) for w in frame["week"]]
    frame["last_day"] = [min(w + timedelta(days=6), as_of) for w in frame["week"]]
    frame["days"] = [(last - first).days + 1 for first, last in zip(frame["first_day"], frame["last_day"], strict=True)]
    frame["so_far"] = [w <= as_of < w + timedelta(days=6) for w in frame["week"]]
    return frame[COLUMNS]


def week_so_far(period: Period, today: date) -> date | None:
    """The Monday of the period's as-of week when that week has not ended (its figures are counted so far), else None."""
    as_of = period.as_of(today)
    monday = as_of - timedelta(days=as_of.weekday())
    return monday if as_of.weekday() < 6 else None


def silent_stretches(weeks: pd.DataFrame, *, min_days: int = 7) -> list[tuple[date, date]]:
    """Runs of weeks in `client_weeks` with no submission at all, as (first day, last day), that last at least
    `min_days` days (a day or two without a submission at the end of the period is no silence yet)."""
    stretches: list[tuple[date, date]] = []
    start = None
    rows = weeks.to_dict("records")
    for index, row in enumerate(rows):
        if row["submissions"] == 0 and start is None:
            start = row["first_day"]
        if start is not None and (row["submissions"] > 0 or index == len(rows) - 1):
            end = row["last_day"] if row["submissions"] == 0 else rows[index - 1]["last_day"]
            if (end - start).days + 1 >= min_days:
                stretches.append((start, end))
            start = None
    return stretches
