"""Adherence figures: completion and on-time rates, submissions and mood lift, by group and period.

Every figure reads the `assignment_progress` macro of schema.sql, where credit, the cap at
expected_count, on-time credit and mood lift are defined once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from duckdb import DuckDBPyConnection

from analytics.store.period import Period
from analytics.store.scope import Scope

if TYPE_CHECKING:  # typing only: `summary --by client` reads its rows without pandas (DuckDB's .df() imports it)
    import pandas as pd

# The groupings `summary` offers: name -> column of assignment_progress (an allow-list; user text
# never becomes an identifier).
GROUP_BY = {
    "client": "client_id",
    "therapist": "therapist_id",
    "type": "assignment_type",
    "week": "week",
}

# The figures of one group of assignment_progress rows; {key} comes from GROUP_BY only.
GROUP_FIGURES = """
select {key},
       coalesce(sum(expected_count) filter (where is_due), 0)::bigint         as expected,
       coalesce(sum(credit) filter (where is_due), 0)::double                 as credit,
       sum(credit) filter (where is_due)
           / nullif(sum(expected_count) filter (where is_due), 0)             as completion_rate,
       sum(on_time_credit) filter (where is_due)
           / nullif(sum(expected_count) filter (where is_due), 0)             as on_time_rate,
       sum(submissions)::bigint                                               as submissions,
       sum(mood_lift_sum) / nullif(sum(mood_lift_n), 0)                       as mood_lift_mean,
       sum(mood_lift_n)::bigint                                               as mood_lift_n,
       max(last_submission_at)                                                as last_submission_at
from assignment_progress($as_of, $scope_therapist)
{where}
group by {key}
"""

# Weeks are those of due_on; weeks after the week of as_of hold nothing due yet and are left out.
WEEK_LIMIT = "where week <= date_trunc('week', $as_of::date)"

SUMMARY = "select * from (" + GROUP_FIGURES + ") order by {key}"

# By client every client in scope gets a row, with zeros when nothing was ever set.
SUMMARY_BY_CLIENT = """
with grouped as (""" + GROUP_FIGURES.format(key="client_id", where="") + """)
select c.client_id, c.therapist_id,
       coalesce(g.expected, 0) as expected, coalesce(g.credit, 0) as credit,
       g.completion_rate, g.on_time_rate, coalesce(g.submissions, 0) as submissions,
       g.mood_lift_mean, coalesce(g.mood_lift_n, 0) as mood_lift_n, g.last_submission_at
from clients c
left join grouped g using (client_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
order by c.client_id
"""

def summary(con: DuckDBPyConnection, *, scope: Scope, by: str, as_of: date) -> pd.DataFrame:
    """One row per group, as known on `as_of`.

    Columns: the group key (client_id, therapist_id, assignment_type, or week as the Monday's
    date), expected (sum of expected_count of due assignments), credit, completion_rate and
    on_time_rate (0-1, empty when nothing is due), submissions (made on or before as_of to the
    group's active assignments, due or not), mood_lift_mean (points on the 0-10 scale) and
    mood_lift_n; by client also therapist_id and last_submission_at (practice local time).
    By week, weeks after the week of as_of are left out.
    """
    if by not in GROUP_BY:
        raise ValueError(f"by must be one of {', '.join(GROUP_BY)}")
    params = {"as_of": as_of, "scope_therapist": scope.therapist_id}
    if by == "client":
        return con.execute(SUMMARY_BY_CLIENT, params).df()
    key = GROUP_BY[by]
    where = WEEK_LIMIT if by == "week" else ""
    frame = con.execute(SUMMARY.format(key=key, where=where), params).df()
    return frame.drop(columns=["last_submission_at"])


@dataclass(frozen=True)
class PeriodFigures:
    """Completion over the assignments due in one period, as known at the period's as-of date."""

    period: Period
    as_of: date
    due: int  # assignments due in the period
    expected: float  # sum of their expected_count
    credit: float
    completion_rate: float | None  # None when nothing was due
    on_time_rate: float | None


@dataclass(frozen=True)
class PeriodHeadline:
    """The Caseload's numbers for a scope and period: active clients, the period's figures and the previous period's
    (Headline without the Overview's submission counts, which the Caseload does not show: at 10M 43 ms of a page run)."""

    active_clients: int
    current: PeriodFigures
    previous: PeriodFigures


@dataclass(frozen=True)
class Headline:
    """The Overview's numbers for a scope and period, with the previous period for comparison."""

    active_clients: int
    current: PeriodFigures
    previous: PeriodFigures
    submissions_last_7_days: int
    submissions_previous_7_days: int


PERIOD_FIGURES = """
select count(*)                                               as due,
       coalesce(sum(expected_count), 0)                       as expected,
       coalesce(sum(credit), 0)                               as credit,
       sum(credit) / nullif(sum(expected_count), 0)           as completion_rate,
       sum(on_time_credit) / nullif(sum(expected_count), 0)   as on_time_rate
from due_assignments($as_of, $scope_therapist)
where due_on between $start and $end
"""

ACTIVE_CLIENTS = """
select count(*) from clients
where status = 'active' and ($scope_therapist is null or therapist_id = $scope_therapist)
"""

# Every submission counts here, whatever its assignment's status: it is work the client reported. Two windows of
# local days, [$start, $end] and [$prior_start, $prior_end], counted from one read of the days that span both
# (schema.sql's submission_counts: the facts' days when current).
SUBMISSIONS_BETWEEN = """
select coalesce(sum(submissions) filter (where submitted_on between $start and $end), 0),
       coalesce(sum(submissions) filter (where submitted_on between $prior_start and $prior_end), 0)
from submission_counts(least($start, $prior_start), greatest($end, $prior_end), $scope_therapist)
"""


def period_figures(con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date) -> PeriodFigures:
    """Due assignments, expected, credit, completion and on-time rate for one period."""
    as_of = period.as_of(today)
    due, expected, credit, completion, on_time = con.execute(
        PERIOD_FIGURES,
        {"as_of": as_of, "scope_therapist": scope.therapist_id, "start": period.start, "end": period.end},
    ).fetchone()
    return PeriodFigures(period, as_of, int(due), float(expected), float(credit),
                         None if completion is None else float(completion),
                         None if on_time is None else float(on_time))


def period_headline(con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date) -> PeriodHeadline:
    """Active clients, the period's figures and the previous period's."""
    active = con.execute(ACTIVE_CLIENTS, {"scope_therapist": scope.therapist_id}).fetchone()[0]
    return PeriodHeadline(
        active_clients=int(active),
        current=period_figures(con, scope=scope, period=period, today=today),
        previous=period_figures(con, scope=scope, period=period.previous(), today=today),
    )


def headline(con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date) -> Headline:
    """Active clients, the period's figures and the previous period's (period_headline), and submissions in the last
    7 days."""
    figures = period_headline(con, scope=scope, period=period, today=today)
    week_ago = today - timedelta(days=6)
    last_7, prior_7 = con.execute(
        SUBMISSIONS_BETWEEN,
        {"scope_therapist": scope.therapist_id, "start": week_ago, "end": today,
         "prior_start": week_ago - timedelta(days=7), "prior_end": week_ago - timedelta(days=1)},
    ).fetchone()
    return Headline(
        active_clients=figures.active_clients,
        current=figures.current,
        previous=figures.previous,
        submissions_last_7_days=int(last_7),
        submissions_previous_7_days=int(prior_7),
    )


WEEKLY_COMPLETION = """
with weeks as (
    select unnest(generate_series(date_trunc('week', $start::date), date_trunc('week', $as_of::date),
                                  interval 7 day))::date as week
),
due as (
    select week,
           sum(expected_count)                                   as expected,
           sum(credit)                                           as credit,
           sum(credit) / sum(expected_count)                     as completion_rate,
           sum(on_time_credit) / sum(expected_count)             as on_time_rate
    from due_assignments($as_of, $scope_therapist)
    where due_on between $start and $end
    group by week
)
select w.week, coalesce(d.expected, 0) as expected, coalesce(d.credit, 0) as credit, d.completion_rate,
       d.on_time_rate, w.week <= $as_of::date and $as_of::date < w.week + 6 as so_far
from weeks w
left join due d using (week)
order by w.week
"""


def weekly_completion(con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date) -> pd.DataFrame:
    """One row per ISO week from the period's start to its as-of date, empty weeks included: week (Monday),
    expected, credit, completion_rate and on_time_rate (0-1; NaN when nothing was due that week) and
    so_far (True for the as-of date's week when it has not ended: counted so far, not a full week)."""
    return con.execute(
        WEEKLY_COMPLETION,
        {"as_of": period.as_of(today), "scope_therapist": scope.therapist_id,
         "start": period.start, "end": period.end},
    ).df()


THERAPISTS_IN_SCOPE = """
select therapist_id, name from therapists
where $scope_therapist is null or therapist_id = $scope_therapist
order by name, therapist_id
"""


def therapists(con: DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """The therapists the scope may see: therapist_id, name (sorted by name)."""
    return con.execute(THERAPISTS_IN_SCOPE, {"scope_therapist": scope.therapist_id}).df()


STORE_CONTENTS = """
select 'clients' as "what", count(*) as "rows", min(intake_date)::varchar as first, max(intake_date)::varchar as last
from clients where $scope_therapist is null or therapist_id = $scope_therapist
union all
select 'assignments', count(*), min(a.due_on)::varchar, max(a.due_on)::varchar
from assignments a join clients c using (client_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
union all
select 'submissions', count(*), min(s.submitted_on)::varchar, max(s.submitted_on)::varchar
from submission_facts s join assignments a using (assignment_id) join clients c using (client_id)
where ($scope_therapist is null or c.therapist_id = $scope_therapist)
  and (s.submitted_at <= $first_at::timestamptz + interval 2 day or s.submitted_at >= $last_at::timestamptz - interval 2 day)
union all
select 'measures', count(*), min(m.administered_on)::varchar, max(m.administered_on)::varchar
from measures m join clients c using (client_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
"""

# The same for the practice: every stored row is in its scope, so the tables are read alone. Every assignment,
# submission and measure belongs to a stored client (imports check the references, an undo that would orphan rows is
# refused), so the counts are the joined ones; without the joins DuckDB answers a table's count, first and last from
# its statistics (10M submissions: 1.8 s -> 2 ms).
STORE_CONTENTS_PRACTICE = """
select 'clients' as "what", count(*) as "rows", min(intake_date)::varchar as first, max(intake_date)::varchar as last
from clients
union all
select 'assignments', count(*), min(due_on)::varchar, max(due_on)::varchar
from assignments
union all
select 'submissions', count(*), min(submitted_on)::varchar, max(submitted_on)::varchar
from submission_facts
where submitted_at <= $first_at::timestamptz + interval 2 day or submitted_at >= $last_at::timestamptz - interval 2 day
union all
select 'measures', count(*), min(administered_on)::varchar, max(administered_on)::varchar
from measures
"""


# The first and last instant of the submissions in scope, and how many there are.
SUBMISSION_EDGES = """
select count(*), min(s.submitted_at), max(s.submitted_at)
from submissions s join assignments a using (assignment_id) join clients c using (client_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
"""
SUBMISSION_EDGES_PRACTICE = "select count(*), min(submitted_at), max(submitted_at) from submissions"


def store_contents(con: DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """What the store holds for the scope: what, rows, first and last date (intake, due, submitted, administered).

    The submissions' first and last local day are read near their first and last instant only (two days either
    way hold every instant whose local day can be the first or the last, whatever the time zone: offsets lie within
    -12 h..+14 h), so the local time is worked out for those rows, not for every submission."""
    edges, contents, scoped = (
        (SUBMISSION_EDGES_PRACTICE, STORE_CONTENTS_PRACTICE, {}) if scope.therapist_id is None
        else (SUBMISSION_EDGES, STORE_CONTENTS, {"scope_therapist": scope.therapist_id}))
    count, first_at, last_at = con.execute(edges, scoped).fetchone()
    frame = con.execute(contents, {**scoped, "first_at": first_at, "last_at": last_at}).df()
    frame.loc[frame["what"] == "submissions", "rows"] = count  # the rows near the edges were counted above
    return frame
