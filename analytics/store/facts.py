"""Derived adherence facts kept beside the canonical tables, rebuilt inside every write's transaction.

Tables derived only from `submissions`, `assignments` and the practice's time zone (never backed up: a
restore and a migration rebuild them):

    submission_days    per assignment and local calendar day: credit, submissions, mood-lift sum, count
                       and sum of squares (version 10), last submission (local time)
    assignment_facts   per assignment, any status (schema version 9): its own columns (client, type, title,
                       dates, expected count, status) beside its totals over all its days: credit, on-time
                       credit (days <= due_on), submissions, mood-lift sum and count, last submission,
                       last_on (its last day), and since version 10 the mood lifts' sum of squares and
                       first_on (its first day); zeros and no last_on or first_on without a submission.
                       The macros scan this one table instead of joining every assignment id. (It replaced
                       version 7's assignment_totals, which held the totals alone.)
    facts_stamp        what they were built from: row counts, sum of due dates, time zone (the view
                       facts_current compares it with the store, so plain-SQL writes fall back to the
                       raw tables instead of reading stale facts); since version 9 also the view
                       assignments_digest (status, expected counts, dates, client, type and title)

`assignment_progress(as_of, ...)` in schema.sql reads assignment_facts' totals for assignments whose last day
is on or before as_of (exact, since every submission counts), and sums submission_days for the few others.
Every write of an assignment (import, undo, restore, plan save, reschedule, cancel) rebuilds its facts,
since assignment_facts holds its columns; a facts row is per assignment, so an assignment moved to another
client needs nothing more than its own row rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable

from duckdb import DuckDBPyConnection

FACT_TABLES = ("submission_days", "assignment_facts", "facts_stamp")
SOURCE_TABLES = ("submissions", "assignments")  # the canonical tables the facts are derived from (and the time zone)

# Stored in date order: the queries over a window of days (the headline's counts, a previous period's late credit)
# then read only the row groups of those days (DuckDB's min/max per row group). The grouping's own order follows its
# input only while DuckDB keeps insertion order, which an import turns off: at 10M, facts built by an import made
# those two queries 3-5 times slower than facts built by a migration (the 10M Overview 1.88 -> 1.47 s once ordered).
_DAYS = """
insert into submission_days
select assignment_id, submitted_on,
       sum(credit)            as credit,
       count(*)               as submissions,
       sum(mood_lift)         as mood_lift_sum,
       count(mood_lift)       as mood_lift_n,
       max(submitted_local)   as last_submission_at,
       sum(mood_lift::integer * mood_lift) as mood_lift_sq_sum
from submission_facts
{where}
group by assignment_id, submitted_on
order by submitted_on
"""

# Every assignment (any status) with its totals over all its submission days (zeros and no last_on without a
# submission); {where_days} and {where} narrow it to some ids.
_ASSIGNMENTS = """
insert into assignment_facts
select a.assignment_id, a.client_id, a.assignment_type, a.title, a.assigned_on, a.due_on, a.expected_count,
       a.status,
       coalesce(t.credit, 0),
       coalesce(t.on_time_credit, 0),
       coalesce(t.submissions, 0),
       coalesce(t.mood_lift_sum, 0),
       coalesce(t.mood_lift_n, 0),
       t.last_submission_at,
       t.last_on,
       coalesce(t.mood_lift_sq_sum, 0),
       t.first_on
from assignments a
left join (
    select d.assignment_id,
           sum(d.credit)                                                         as credit,
           coalesce(sum(d.credit) filter (where d.submitted_on <= a.due_on), 0)  as on_time_credit,
           sum(d.submissions)                                                    as submissions,
           sum(d.mood_lift_sum)                                                  as mood_lift_sum,
           sum(d.mood_lift_n)                                                    as mood_lift_n,
           max(d.last_submission_at)                                             as last_submission_at,
           max(d.submitted_on)                                                   as last_on,
           sum(d.mood_lift_sq_sum)                                               as mood_lift_sq_sum,
           min(d.submitted_on)                                                   as first_on
    from submission_days d
    join assignments a using (assignment_id)
    {where_days}
    group by d.assignment_id
) t using (assignment_id)
{where}
"""

_STAMP = """
insert into facts_stamp (submissions, assignments, due_days, timezone, assignments_digest)
select (select count(*) from submissions), d.assignments, d.due_days, (select timezone from practice_settings),
       d.digest
from assignments_digest d
"""


def are_current(con: DuckDBPyConnection) -> bool:
    """Whether the facts hold what the canonical tables give now (schema.sql's facts_current_now: the stamp matches)."""
    return con.execute("select current from facts_current_now").fetchone()[0]


def rebuild(con: DuckDBPyConnection, assignment_ids: Iterable[str] | None = None) -> None:
    """Recompute the facts of `assignment_ids` (all assignments when None) from the canonical tables.

    Call it inside the write's own transaction, after the write, so readers never see stale facts.
    """
    if assignment_ids is None:
        _rebuild_all(con)
    else:
        _rebuild_some(con, "select unnest($ids)", {"ids": sorted(set(assignment_ids))})
    con.execute(_STAMP)


# A batch's writes name the assignments whose facts they change in this temp table (column assignment_id; an id may
# repeat): the assignments it added or changed, and the old and new assignment of every submission it added or changed.
TOUCHED = "touched_assignments"


# Rebuilding some assignments' facts costs a fixed ~0.25 s at 1M (the deletes and the submissions' scan look at every
# row) and then grows with their share: it is cheaper than a full rebuild up to about 40% of the assignments.
INCREMENTAL_SHARE = 0.25


def incremental(touched: int, assignments: int) -> bool:
    """Whether rebuilding `touched` assignments' facts (or at most that many) is cheaper than all `assignments`'."""
    return touched <= INCREMENTAL_SHARE * assignments


def rebuild_touched(con: DuckDBPyConnection) -> None:
    """Recompute the facts after a batch's writes: only the assignments in TOUCHED when they are at most
    INCREMENTAL_SHARE of all assignments (a batch of new weeks into a large store), else all of them.
    The facts come out the same either way; call it inside the write's transaction."""
    touched = con.execute(f"select count(distinct assignment_id) from {TOUCHED}").fetchone()[0]
    total = con.execute("select count(*) from assignments").fetchone()[0]
    if incremental(touched, total):
        _rebuild_some(con, f"select assignment_id from {TOUCHED}")
    else:
        _rebuild_all(con)
    con.execute(_STAMP)


def _rebuild_all(con: DuckDBPyConnection) -> None:
    for table in FACT_TABLES:
        con.execute(f"delete from {table}")
    con.execute(_DAYS.format(where=""))
    con.execute(_ASSIGNMENTS.format(where_days="", where=""))


def _rebuild_some(con: DuckDBPyConnection, ids: str, params: dict | None = None) -> None:
    """The facts of the assignments `ids` (SQL giving their ids: fixed text from this module) rebuilt; the stamp
    deleted (the caller writes it)."""
    for table in ("submission_days", "assignment_facts"):
        con.execute(f"delete from {table} where assignment_id in ({ids})", params)
    con.execute(_DAYS.format(where=f"where assignment_id in ({ids})"), params)
    con.execute(_ASSIGNMENTS.format(where_days=f"where d.assignment_id in ({ids})",
                                    where=f"where a.assignment_id in ({ids})"), params)
    con.execute("delete from facts_stamp")
