"""The practice manager's figures: every client's adherence, breakdowns, the weekly heatmap and the spread of rates.

Every completion figure reads the `due_assignments` macro of schema.sql (credit, its cap and on-time
credit are defined there once); late work and feedback read `submission_facts` (the period's days only, found first
by the stored instant: `near_local_days`), the last submission the derived facts (`client_last_submission_days`).
The definitions are written out in data/README.md.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from duckdb import DuckDBPyConnection

from analytics.metrics.adherence import GROUP_BY, GROUP_FIGURES, summary
from analytics.store.period import Period
from analytics.store.scope import Scope
from analytics.store.vocabulary import TYPE_LABELS

if TYPE_CHECKING:  # typing only: `summary --by client` reads its rows without pandas (DuckDB's .df() imports it)
    import pandas as pd

# A week counts towards a streak when the client earned at least this share of what was due in it.
STREAK_THRESHOLD = 0.8

# The optional assignment-type filter, the same in every query.
TYPE_FILTER = "($assignment_type is null or assignment_type = $assignment_type)"


def _current_params(scope: Scope, period: Period, today: date, assignment_type: str | None) -> dict:
    """The bound parameters of a period's figures."""
    return {
        "scope_therapist": scope.therapist_id,
        "assignment_type": assignment_type,
        "start": period.start,
        "end": period.end,
        "as_of": period.as_of(today),
    }


def _period_params(scope: Scope, period: Period, today: date, assignment_type: str | None) -> dict:
    """The bound parameters of a period's figures and the previous period's."""
    previous = period.previous()
    return {
        **_current_params(scope, period, today, assignment_type),
        "previous_start": previous.start,
        "previous_end": previous.end,
        "previous_as_of": previous.as_of(today),
    }


# The figures of the assignments due in a period, grouped by {key} (a column of due_assignments
# taken from an allow-list) and read from {source}: due_assignments as known on the period's as-of
# date, or a CTE holding it. {start} and {end} name bound parameters.
DUE_FIGURES = """
select {key} as key,
       count(*)                                                   as due,
       sum(expected_count)::bigint                                as expected,
       sum(credit)::double                                        as credit,
       sum(credit)::double / sum(expected_count)                  as completion_rate,
       sum(on_time_credit)::double / sum(expected_count)          as on_time_rate
from {source}
where due_on between ${start} and ${end} and """ + TYPE_FILTER + """
group by {key}
"""


def _due_figures(key: str, *, previous: bool = False, source: str | None = None) -> str:
    """DUE_FIGURES for the period (or the previous one), by default read from due_assignments as of its as-of date."""
    prefix = "previous_" if previous else ""
    source = source or f"due_assignments(${prefix}as_of, $scope_therapist)"
    return DUE_FIGURES.format(key=key, source=source, start=prefix + "start", end=prefix + "end")


# Each client's streak from the CTE `weekly` (client_id, week, met: at or above STREAK_THRESHOLD): the weeks after the
# latest week under the threshold (weeks with nothing due have no row). A grouped join, which costs less than a window
# over every client-week.
STREAKS = """
    select client_id, count(*) filter (where m.last_missed is null or w.week > m.last_missed) as streak_weeks
    from weekly w
    join (select client_id, max(week) filter (where not met) as last_missed from weekly group by client_id) m
        using (client_id)
    group by client_id
"""

# The weeks looked at first for a streak: the latest this many (most clients missed one of them, so their streak ends
# there and their earlier weeks are never grouped).
STREAK_RECENT_WEEKS = 4


def weekly_streaks(rows: str) -> str:
    """The CTEs weekly_recent, weekly and streaks (client_id, streak_weeks: STREAKS) over the CTE `rows` (the due
    assignments to count: client_id, week, credit, expected_count). CLIENT_OVERVIEW and CLIENT_SUMMARY both use them.

    `weekly` holds every client's weeks from $streak_recent_from on, and the earlier weeks only of the clients with no
    week under the threshold since then: a streak counts the weeks after the latest week under the threshold, so for
    a client with one since $streak_recent_from the earlier weeks count for nothing. The streaks are those of every
    week, whatever $streak_recent_from is (tests/metrics/test_streaks.py compares them); it only decides how many
    client-weeks are grouped (10M: 1.88M client-weeks, about one in six of them grouped; client_overview 1.04 ->
    0.90 s, docs/DESIGN.md "Wave 10"). `rows` is a CTE name from this module."""
    met = "sum(credit)::double / sum(expected_count) >= $streak_threshold as met"
    return f"""weekly_recent as (
    select client_id, week, {met}
    from {rows}
    where week >= $streak_recent_from
    group by client_id, week
),
weekly as (
    select * from weekly_recent
    union all
    select client_id, week, {met}
    from {rows}
    where week < $streak_recent_from
      and client_id in (select client_id from clients except select client_id from weekly_recent where not met)
    group by client_id, week
),
streaks as ({STREAKS})"""


def streak_recent_from(today: date) -> date:
    """The Monday STREAK_RECENT_WEEKS - 1 weeks before today's week's (weekly_streaks' $streak_recent_from)."""
    return today - timedelta(days=today.weekday(), weeks=STREAK_RECENT_WEEKS - 1)


# One row per client in scope. {current} is the period's figures by client: read from due_now when
# the period runs to today (the usual case: one pass over the submissions fewer), else from
# due_assignments as of the period's end.
#   streak          - weeks of due_on up to today, as known today (due_now), whatever the period;
#   last submission - any submission on or before as_of, whatever its assignment's status (it is
#                     work the client reported);
#   late work and feedback - completed or partial submissions made in [start, as_of] to active
#                     assignments (cancelled homework counts in no rate).
CLIENT_OVERVIEW = """
with roster as (
    select c.client_id, c.label, c.therapist_id, t.name as therapist_name, c.status
    from clients c
    left join therapists t using (therapist_id)
    where $scope_therapist is null or c.therapist_id = $scope_therapist
),
due_now as (
    select * from due_assignments($today, $scope_therapist) where """ + TYPE_FILTER + """
),
current_figures as ({current}),
previous_figures as (""" + _due_figures("client_id", previous=True) + """),
""" + weekly_streaks("due_now") + """,
last_submissions as (
    select client_id, last_submission_on from client_last_submission_days($as_of, $scope_therapist, $assignment_type)
),
work_in_period as (
    select a.client_id, f.submitted_at, f.feedback_at,
           f.submitted_on - a.due_on                               as days_late,
           holds_text(f.therapist_feedback)                        as has_feedback
    from submission_facts f
    join assignments_since($start) a on a.assignment_id = f.assignment_id
    join clients c on c.client_id = a.client_id
    where near_local_days(f.submitted_at, $start, $as_of)
      and f.submitted_on between $start and $as_of
      and a.status = 'active'
      and f.completion in ('completed', 'partial')
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
      and """ + TYPE_FILTER + """
),
work_figures as (
    select client_id,
           count(*) filter (where days_late > 0)                   as late_submissions,
           median(days_late) filter (where days_late > 0)          as median_days_late,
           count(*) filter (where has_feedback) / count(*)         as feedback_coverage
    from work_in_period
    group by client_id
),
feedback_delays as (
    -- elapsed time between the two instants (not local clock times, which jump at DST changes), in microseconds:
    -- what epoch(feedback_at - submitted_at) gives when the session's time zone is UTC, in a fraction of the time
    select w.client_id,
           round(median((epoch_us(w.feedback_at) - epoch_us(w.submitted_at)) / 1000000 / 86400), 1) as median_feedback_days
    from work_in_period w
    where w.has_feedback
    group by w.client_id
)
select r.client_id, r.label, r.therapist_id, r.therapist_name, r.status,
       coalesce(cur.due, 0)                                   as due,
       coalesce(cur.expected, 0)                              as expected,
       coalesce(cur.credit, 0)                                as credit,
       cur.completion_rate,
       cur.on_time_rate,
       prev.completion_rate                                   as previous_completion_rate,
       cur.completion_rate - prev.completion_rate             as completion_change,
       ls.last_submission_on,
       ($as_of::date - ls.last_submission_on)::double         as days_since_last_submission,
       coalesce(st.streak_weeks, 0)                           as streak_weeks,
       coalesce(wf.late_submissions, 0)                       as late_submissions,
       wf.median_days_late,
       wf.feedback_coverage,
       fd.median_feedback_days
from roster r
left join current_figures cur on cur.key = r.client_id
left join previous_figures prev on prev.key = r.client_id
left join streaks st using (client_id)
left join last_submissions ls using (client_id)
left join work_figures wf using (client_id)
left join feedback_delays fd using (client_id)
order by lower(r.label), r.client_id
"""


def client_overview(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, assignment_type: str | None = None
) -> pd.DataFrame:
    """One row per client in scope (every client, even with nothing due), sorted by label.

    Columns: client_id, label, therapist_id, therapist_name, status; for the assignments due in the
    period as of `period.as_of(today)`: due (assignments), expected (sum of expected_count), credit,
    completion_rate and on_time_rate (0-1, NaN when nothing is due); previous_completion_rate (the
    same for `period.previous()`), completion_change (current − previous, 0-1 scale, NaN if either is
    missing); last_submission_on (calendar date, any submission on or before as_of),
    days_since_last_submission (as_of − that date, days, so a past period reads as it stood; NaN if
    never); streak_weeks (weeks up to today's week at or above STREAK_THRESHOLD, see data/README.md);
    late_submissions (completed or partial submissions made in [start, as_of] after their due date) and median_days_late (days);
    feedback_coverage (0-1 share of those submissions with therapist feedback, NaN if none) and
    median_feedback_days (feedback_at − submitted_at in days, one decimal).
    `assignment_type` restricts every figure to assignments of that type.
    """
    as_of = period.as_of(today)
    current = _due_figures("client_id", source="due_now" if as_of == today else None)
    params = {**_period_params(scope, period, today, assignment_type), "today": today,
              "streak_threshold": STREAK_THRESHOLD, "streak_recent_from": streak_recent_from(today)}
    return con.execute(CLIENT_OVERVIEW.format(current=current), params).df()


# The rows of a breakdown: name -> (key column as in adherence.GROUP_BY, the groups to show, whether
# a previous period means anything). Clients and therapists in scope always have a row; types and
# weeks only when something was due (read from the current_figures / previous_figures CTEs).
BREAKDOWN_GROUPS = {
    "client": (
        GROUP_BY["client"],
        "select client_id as key, label from clients "
        "where $scope_therapist is null or therapist_id = $scope_therapist",
        True,
    ),
    "therapist": (
        GROUP_BY["therapist"],
        "select therapist_id as key, name as label from therapists "
        "where $scope_therapist is null or therapist_id = $scope_therapist",
        True,
    ),
    "type": (
        GROUP_BY["type"],
        "select key, key as label from current_figures union select key, key from previous_figures",
        True,
    ),
    "week": (
        GROUP_BY["week"],
        "select key, strftime(key, '%Y-%m-%d') as label from current_figures",
        False,
    ),
}

BREAKDOWN = """
with current_figures as ({current}),
previous_figures as ({previous}),
groups as ({groups})
select g.key as {key_column}, g.label,
       coalesce(cur.due, 0)                          as due,
       coalesce(cur.expected, 0)                     as expected,
       coalesce(cur.credit, 0)                       as credit,
       cur.completion_rate,
       cur.on_time_rate,
       prev.completion_rate                          as previous_completion_rate,
       cur.completion_rate - prev.completion_rate    as completion_change
from groups g
left join current_figures cur on cur.key = g.key
left join previous_figures prev on prev.key = g.key
order by lower(g.label), g.key
"""

# By week the previous period has other weeks: its figures are left empty.
NO_PREVIOUS = "select null::date as key, null::double as completion_rate where false"


def breakdown(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, by: str, assignment_type: str | None = None
) -> pd.DataFrame:
    """One row per group of the period's due assignments, by client, therapist, type or week.

    Columns: the key (client_id, therapist_id, assignment_type, or week as the Monday's date), label
    (client label, therapist name, type label, or the week as YYYY-MM-DD), due (assignments), expected,
    credit, completion_rate and on_time_rate (0-1, NaN when nothing is due), previous_completion_rate
    and completion_change (0-1 scale; NaN by week, where the previous period has other weeks).
    Every client or therapist in scope has a row; types with something due in either period; weeks
    with something due in the period.
    """
    if by not in BREAKDOWN_GROUPS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWN_GROUPS)}")
    key_column, groups, has_previous = BREAKDOWN_GROUPS[by]
    if has_previous:
        previous = _due_figures(key_column, previous=True)
        params = _period_params(scope, period, today, assignment_type)
    else:
        previous = NO_PREVIOUS
        params = _current_params(scope, period, today, assignment_type)
    sql = BREAKDOWN.format(current=_due_figures(key_column), previous=previous, groups=groups, key_column=key_column)
    frame = con.execute(sql, params).df()
    if by == "type":
        frame["label"] = [TYPE_LABELS.get(key, key) for key in frame[key_column]]
    return frame


# Who a heatmap row is: name -> (column of due_assignments, the table giving its label).
GRID_ROWS = {
    "therapist": ("therapist_id", "select therapist_id as key, name as label from therapists"),
    "client": ("client_id", "select client_id as key, label from clients"),
}

WEEKLY_GRID = """
with cells as (
    select week, {key_column} as key,
           sum(expected_count)::bigint                  as expected,
           sum(credit)::double                          as credit,
           sum(credit)::double / sum(expected_count)    as completion_rate
    from due_assignments($as_of, $scope_therapist)
    where due_on between $start and $end and """ + TYPE_FILTER + """
    group by week, {key_column}
)
select c.week, c.key, l.label, c.expected, c.credit, c.completion_rate
from cells c
join ({labels}) l using (key)
order by c.week, l.label, c.key
"""


def weekly_grid(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, by: str, assignment_type: str | None = None
) -> pd.DataFrame:
    """Completion by week and therapist (or by week and client, for a scope narrowed to one therapist).

    Columns: week (Monday date of due_on), key (therapist_id or client_id), label (therapist name or
    client label), expected, credit, completion_rate (0-1). One row per week of the period and
    therapist/client with something due in it, as of `period.as_of(today)`; other cells are absent.
    """
    if by not in GRID_ROWS:
        raise ValueError(f"by must be one of {', '.join(GRID_ROWS)}")
    key_column, labels = GRID_ROWS[by]
    sql = WEEKLY_GRID.format(key_column=key_column, labels=labels)
    return con.execute(sql, _current_params(scope, period, today, assignment_type)).df()


# Each client's completion rate over the period's due assignments, as a bin 0-9 of ten percentage
# points; 100% falls in the last bin. 10 * credit / expected is exact for whole tenths (credit is a
# multiple of 0.5), so a rate of exactly 50% lands in [50, 60) and never in [40, 50).
CLIENT_BINS = """
select client_id, least(floor(10 * sum(credit) / sum(expected_count)), 9)::integer as bin
from due_assignments($as_of, $scope_therapist)
where due_on between $start and $end and """ + TYPE_FILTER + """
group by client_id
"""

COMPLETION_DISTRIBUTION = """
with client_bins as (""" + CLIENT_BINS + """)
select b.bin * 10 as bin_start, b.bin * 10 + 10 as bin_end, count(c.client_id) as clients
from range(10) b(bin)
left join client_bins c on c.bin = b.bin
group by b.bin
order by b.bin
"""

CLIENTS_WITH_NOTHING_DUE = """
with client_bins as (""" + CLIENT_BINS + """)
select count(*)
from clients c
where ($scope_therapist is null or c.therapist_id = $scope_therapist)
  and c.client_id not in (select client_id from client_bins)
"""


def completion_distribution(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, assignment_type: str | None = None
) -> pd.DataFrame:
    """How many clients in scope reached each completion rate in the period: ten rows, one per bin.

    Columns: bin_start, bin_end (percent: [0, 10), [10, 20) ... [90, 100], 100% in the last bin) and
    clients (count; 0 for an empty bin). Clients with nothing due are in no bin: see
    `clients_with_nothing_due`.
    """
    return con.execute(COMPLETION_DISTRIBUTION, _current_params(scope, period, today, assignment_type)).df()


def clients_with_nothing_due(
    con: DuckDBPyConnection, *, scope: Scope, period: Period, today: date, assignment_type: str | None = None
) -> int:
    """The number of clients in scope (any status) with nothing due in the period as of its as-of date."""
    params = _current_params(scope, period, today, assignment_type)
    return int(con.execute(CLIENTS_WITH_NOTHING_DUE, params).fetchone()[0])


# What the Caseload page draws beside the every-client table, taken from `client_overview`'s rows (the same
# figures: its current period per client is CLIENT_BINS's and breakdown(by="client")'s), so a page that shows the
# table does not compute them again. tests/metrics/test_caseload.py checks them against the functions above.
BREAKDOWN_COLUMNS = ["label", "due", "expected", "credit", "completion_rate", "on_time_rate",
                     "previous_completion_rate", "completion_change"]


def breakdown_by_client_of(overview: pd.DataFrame) -> pd.DataFrame:
    """`breakdown(by="client")` for the same scope, period and type, from `client_overview`'s rows."""
    return overview[["client_id", *BREAKDOWN_COLUMNS]].reset_index(drop=True)


def completion_distribution_of(overview: pd.DataFrame) -> pd.DataFrame:
    """`completion_distribution` for the same scope, period and type, from `client_overview`'s rows."""
    due = overview[overview["due"] > 0]
    import numpy as np  # here, not at the top: `summary --by client` loads neither numpy nor pandas
    import pandas as pd

    bins = np.minimum(np.floor(10 * due["credit"].to_numpy(float) / due["expected"].to_numpy(float)), 9).astype(int)
    counts = np.bincount(bins, minlength=10)
    starts = np.arange(10) * 10
    return pd.DataFrame({"bin_start": starts, "bin_end": starts + 10, "clients": counts.astype("int64")})


def clients_with_nothing_due_of(overview: pd.DataFrame) -> int:
    """`clients_with_nothing_due` for the same scope, period and type, from `client_overview`'s rows."""
    return int((overview["due"] == 0).sum())


# Everything up to an as-of date, for the command line's summary (a period with no useful start).
SINCE_THE_START = date(1900, 1, 1)
ENGAGEMENT_COLUMNS = ["streak_weeks", "days_since_last_submission", "feedback_coverage", "median_feedback_days"]


# client_summary in one statement: one pass of assignment_progress (materialised: the summary's figures and the
# weekly streak both read it) and one over the submissions (the last one, any status, and the feedback figures).
# The same definitions as adherence.SUMMARY_BY_CLIENT and CLIENT_OVERVIEW's streak, last submission and feedback
# CTEs (with the period from SINCE_THE_START to as_of), which tests/metrics/test_caseload.py checks it against.
_FROM_PROGRESS = GROUP_FIGURES.replace("assignment_progress($as_of, $scope_therapist)", "progress")
assert _FROM_PROGRESS != GROUP_FIGURES, "adherence.GROUP_FIGURES no longer reads assignment_progress: update CLIENT_SUMMARY"
CLIENT_SUMMARY = """
with progress as materialized (
    select * from assignment_progress($as_of, $scope_therapist)
),
grouped as (""" + _FROM_PROGRESS.format(key="client_id", where="") + """),
due_progress as (
    select * from progress where is_due
),
""" + weekly_streaks("due_progress") + """,
work as (
    select client_id, submitted_on, submitted_on <= $as_of as known, in_period, has_feedback,
           -- elapsed microseconds between the two instants (what epoch(feedback_at - submitted_at) gives when the
           -- session's time zone is UTC, in a quarter of the time; other time zones make that a local clock difference)
           case when in_period and has_feedback
                then (epoch_us(feedback_at) - epoch_us(submitted_at)) / 1000000 / 86400 end as feedback_days
    from (
    select a.client_id, f.submitted_on, f.submitted_at, f.feedback_at,
           f.submitted_on between $start and $as_of and a.status = 'active'
               and f.completion in ('completed', 'partial') as in_period,
           holds_text(f.therapist_feedback) as has_feedback
    from submission_facts f
    join assignments a on a.assignment_id = f.assignment_id
    join clients c on c.client_id = a.client_id
    -- no row filter on the date (known and in_period say it): the local date is computed once a submission
    where ($scope_therapist is null or c.therapist_id = $scope_therapist)
    )
),
work_figures as (
    select client_id,
           max(submitted_on) filter (where known)                                  as last_submission_on,
           count(*) filter (where in_period and has_feedback)
               / nullif(count(*) filter (where in_period), 0)                      as feedback_coverage,
           round(median(feedback_days) filter (where in_period and has_feedback), 1) as median_feedback_days
    from work
    group by client_id
)
select c.client_id, c.therapist_id,
       coalesce(g.expected, 0) as expected, coalesce(g.credit, 0) as credit,
       g.completion_rate, g.on_time_rate, coalesce(g.submissions, 0) as submissions,
       g.mood_lift_mean, coalesce(g.mood_lift_n, 0) as mood_lift_n, g.last_submission_at,
       coalesce(st.streak_weeks, 0)                                  as streak_weeks,
       ($as_of::date - wf.last_submission_on)::double                as days_since_last_submission,
       wf.feedback_coverage,
       wf.median_feedback_days
from clients c
left join grouped g using (client_id)
left join streaks st using (client_id)
left join work_figures wf using (client_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
order by c.client_id
"""


def client_summary(con: DuckDBPyConnection, *, scope: Scope, as_of: date) -> pd.DataFrame:
    """`adherence.summary(by="client")` with the engagement figures of `client_overview` beside it.

    Added columns, as known on as_of over everything up to it: streak_weeks, days_since_last_submission,
    feedback_coverage (0-1) and median_feedback_days. One row per client in scope. One query (CLIENT_SUMMARY).
    """
    return con.execute(CLIENT_SUMMARY, _client_summary_params(scope, as_of)).df()


def client_summary_rows(con: DuckDBPyConnection, *, scope: Scope, as_of: date) -> tuple[list[tuple[str, str]], list[tuple]]:
    """client_summary's columns (name, DuckDB type) and rows as Python values, for the command line's plain printer."""
    cursor = con.execute(CLIENT_SUMMARY, _client_summary_params(scope, as_of))
    return [(d[0], str(d[1])) for d in cursor.description], cursor.fetchall()


def _client_summary_params(scope: Scope, as_of: date) -> dict:
    return {"as_of": as_of, "scope_therapist": scope.therapist_id, "start": SINCE_THE_START,
            "streak_threshold": STREAK_THRESHOLD, "streak_recent_from": streak_recent_from(as_of)}


def client_summary_composed(con: DuckDBPyConnection, *, scope: Scope, as_of: date) -> pd.DataFrame:
    """client_summary as `summary` and `client_overview` compute it, in two queries (the reference it is tested on)."""
    figures = summary(con, scope=scope, by="client", as_of=as_of)
    overview = client_overview(con, scope=scope, period=Period(SINCE_THE_START, as_of), today=as_of)
    return figures.merge(overview[["client_id", *ENGAGEMENT_COLUMNS]], on="client_id", how="left")
