"""The therapist's view of one client: the picker, the profile, the headline figures, the submissions, and feedback."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics.caseload import STREAK_THRESHOLD
from analytics.store import audit
from analytics.store.access import pseudonym, pseudonym_salt, shown_labels
from analytics.store.database import transaction
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

if TYPE_CHECKING:  # mood loads SciPy: imported where it is used, so `plan` (which imports this module) does not
    from analytics.metrics.mood import LiftSummary

# Longest feedback text accepted (characters, after trimming surrounding whitespace).
MAX_FEEDBACK_CHARS = 4000

CLIENT_CHOICES = """
select c.client_id, c.label, t.name as therapist_name, c.status
from clients c
left join therapists t using (therapist_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
order by lower(c.label), c.client_id
"""


def client_choices(con: DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """The clients in scope for a picker, sorted by label: client_id, label, therapist_name, status.

    With scope.pseudonyms the labels are pseudonyms (sorted by them)."""
    frame = con.execute(CLIENT_CHOICES, {"scope_therapist": scope.therapist_id}).df()
    if scope.pseudonyms and not frame.empty:
        frame = shown_labels(con, frame, scope=scope).sort_values(["label", "client_id"], ignore_index=True)
    return frame


def one_client_scope(con: DuckDBPyConnection, *, scope: Scope, client_id: str) -> Scope:
    """`scope` narrowed to the client's own therapist (ScopeError when the client is not in `scope`).

    A client's rows are the same in either scope (their assignments all belong to their therapist's caseload),
    and the macros that take a scope (due_assignments, assignment_progress) then work over one caseload, not
    the practice's: what makes one client's figures cheap at a million submissions."""
    row = con.execute(
        "select therapist_id from clients where client_id = $client_id "
        "and ($scope_therapist is null or therapist_id = $scope_therapist)",
        {"client_id": client_id, "scope_therapist": scope.therapist_id},
    ).fetchone()
    if row is None:
        raise ScopeError(f"client {client_id!r} is not in your caseload")
    return scope.narrowed_to(row[0])


@dataclass(frozen=True)
class ClientProfile:
    """Who the client is, as recorded in clients.csv."""

    client_id: str
    label: str
    therapist_id: str
    therapist_name: str | None
    status: str
    intake_date: date | None
    primary_concern: str | None
    goals: str | None
    preferences: tuple[str, ...]  # tags, in the order written


CLIENT_PROFILE = """
select c.client_id, c.label, c.therapist_id, t.name as therapist_name, c.status, c.intake_date,
       c.primary_concern, c.goals, c.preferences
from clients c
left join therapists t using (therapist_id)
where c.client_id = $client_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
"""


def client_profile(con: DuckDBPyConnection, *, scope: Scope, client_id: str) -> ClientProfile:
    """The client's profile; preferences are the `;`-separated tags, trimmed, empty ones dropped.

    Without scope.free_text the goals are None; with scope.pseudonyms the label is the client's pseudonym."""
    scope.require_client(con, client_id)
    row = con.execute(CLIENT_PROFILE, {"client_id": client_id, "scope_therapist": scope.therapist_id}).fetchone()
    *fields, preferences = row
    tags = tuple(tag.strip() for tag in (preferences or "").split(";") if tag.strip())
    profile = ClientProfile(*fields, preferences=tags)
    if not scope.free_text:
        profile = replace(profile, goals=None)
    if scope.pseudonyms:
        profile = replace(profile, label=pseudonym(pseudonym_salt(con), client_id))
    return profile


# Every submission the client made in the period, whatever its assignment's status (cancelled
# homework is shown, flagged by assignment_status, though it counts in no rate).
SUBMISSION_LIST = """
select f.submission_id,
       f.submitted_local                 as submitted_at,
       a.assignment_id,
       a.title,
       a.assignment_type,
       a.due_on,
       f.submitted_on <= a.due_on        as on_time,
       a.status                          as assignment_status,
       f.completion,
       f.quality,
       f.mood_before,
       f.mood_after,
       f.mood_lift,
       f.minutes,
       case when $free_text then f.client_note end        as client_note,
       case when $free_text then f.therapist_feedback end as therapist_feedback,
       f.feedback_local                  as feedback_at
from submission_facts f
join assignments_since($start) a using (assignment_id)
join clients c using (client_id)
where a.client_id = $client_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
  and near_local_days(f.submitted_at, $start, $as_of)
  and f.submitted_on between $start and $as_of
order by f.submitted_local desc, f.submission_id desc
"""


def submission_list(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date
) -> pd.DataFrame:
    """The client's submissions made from the period's start to its as-of date, newest first.

    Columns: submission_id, submitted_at (practice local time), assignment_id, title,
    assignment_type, due_on, on_time (calendar date of submission <= due_on), assignment_status
    (active | cancelled), completion, quality (0-4), mood_before, mood_after, mood_lift (points on
    the 0-10 scale), minutes, client_note, therapist_feedback, feedback_at (practice local time).
    Without scope.free_text the note and the feedback are empty (the feedback time is kept).
    """
    scope.require_client(con, client_id)
    params = {
        "client_id": client_id,
        "scope_therapist": scope.therapist_id,
        "free_text": scope.free_text,
        "start": period.start,
        "as_of": period.as_of(today),
    }
    return con.execute(SUBMISSION_LIST, params).df()


# The submission's time and feedback, only when its client is in scope (else no row).
SUBMISSION_IN_SCOPE = """
select s.submitted_at, s.therapist_feedback, s.feedback_at
from submissions s
join assignments a using (assignment_id)
join clients c using (client_id)
where s.submission_id = $submission_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
"""

LATEST_VERSION = """
select version, text from feedback_versions where submission_id = $submission_id order by version desc limit 1
"""

INSERT_VERSION = """
insert into feedback_versions (version_id, submission_id, version, text, written_at, written_by)
values (nextval('feedback_version_seq'), $submission_id, $version, $text, $at, $by)
"""

SAVE_FEEDBACK = """
update submissions set therapist_feedback = $text, feedback_at = $at
where submission_id = $submission_id
"""


class FeedbackRefused(ValueError):
    """Feedback that was not saved; the message is the reason, written for the person who typed it."""


class FeedbackConflict(FeedbackRefused):
    """Someone else saved feedback on the same submission after this person's page was drawn."""


def _has_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _version_of(con: DuckDBPyConnection, submission_id: str, current: object) -> tuple[int, bool]:
    """(the version number of the current text, whether that text has no version row yet: imported or old)."""
    latest = con.execute(LATEST_VERSION, {"submission_id": submission_id}).fetchone()
    number, text = latest if latest else (0, None)
    if _has_text(current) and current != text:
        return number + 1, True
    return number, False


def feedback_version(con: DuckDBPyConnection, *, scope: Scope, submission_id: str) -> int:
    """The version of the submission's current feedback: 0 for none, 1 as first written, 2 and on once edited.

    Pass it back to save_feedback as expected_version, so a save over someone else's newer text is
    refused instead of replacing it unseen. ScopeError when the submission is not in scope.
    """
    row = con.execute(SUBMISSION_IN_SCOPE, {"submission_id": submission_id, "scope_therapist": scope.therapist_id}
                      ).fetchone()
    if row is None:
        raise ScopeError(f"submission {submission_id!r} is not in your caseload")
    return _version_of(con, submission_id, row[1])[0]


def feedback_history(con: DuckDBPyConnection, *, scope: Scope, submission_id: str) -> pd.DataFrame:
    """Every version of the feedback on one submission, oldest first: version, text, written_at, written_by.

    Empty without scope.free_text; ScopeError when the submission is not in scope."""
    feedback_version(con, scope=scope, submission_id=submission_id)
    return con.execute(
        "select version, text, written_at, written_by from feedback_versions where submission_id = $submission_id "
        "and $free_text order by version", {"submission_id": submission_id, "free_text": scope.free_text}).df()


def save_feedback(
    con: DuckDBPyConnection, *, scope: Scope, submission_id: str, text: str, at: datetime,
    expected_version: int | None = None,
) -> int:
    """Write the therapist's feedback on one submission as a new version, in one transaction; returns its number.

    Earlier feedback is kept in feedback_versions (the submission holds the latest), and the save is
    in the audit trail. The text is stored without surrounding whitespace (and shown as plain text).
    Raises FeedbackRefused (a ValueError) with the reason for blank text, text over
    MAX_FEEDBACK_CHARS, the text already saved, an `at` before the submission, or (FeedbackConflict)
    when `expected_version` is given and someone saved a newer version since; ValueError for a naive
    `at`; ScopeError when the role may not write feedback or the submission's client is not in scope
    (the same whether it exists or not).
    """
    scope.require(scope.may_write_clients, "write feedback")
    feedback = (text or "").strip()
    if not feedback:
        raise FeedbackRefused("The feedback box is empty: write some feedback first.")
    if len(feedback) > MAX_FEEDBACK_CHARS:
        raise FeedbackRefused(f"Feedback can be at most {MAX_FEEDBACK_CHARS:,} characters; this is {len(feedback):,}.")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the feedback time needs a time zone")
    with transaction(con):
        row = con.execute(
            SUBMISSION_IN_SCOPE, {"submission_id": submission_id, "scope_therapist": scope.therapist_id}
        ).fetchone()
        if row is None:
            raise ScopeError(f"submission {submission_id!r} is not in your caseload")
        submitted_at, current, current_at = row
        if at < submitted_at:
            raise FeedbackRefused("Feedback cannot be dated before the submission was made: check this machine's clock.")
        version, unrecorded = _version_of(con, submission_id, current)
        if expected_version is not None and expected_version != version:
            raise FeedbackConflict("Someone changed the feedback on this submission at the same time, so yours was not "
                                   "saved. Your text is still in the box: read theirs in the list, then save again.")
        if current == feedback:
            raise FeedbackRefused("This is the feedback already saved: nothing changed.")
        if unrecorded:  # feedback that came with an import: kept as the version before this one
            con.execute(INSERT_VERSION, {"submission_id": submission_id, "version": version, "text": current,
                                         "at": current_at or submitted_at, "by": "import"})
        con.execute(INSERT_VERSION, {"submission_id": submission_id, "version": version + 1, "text": feedback,
                                     "at": at, "by": audit.actor_email(scope)})
        con.execute(SAVE_FEEDBACK, {"text": feedback, "at": at, "submission_id": submission_id})
        audit.append(con, actor=scope, action=audit.FEEDBACK, object_type="submission", object_id=submission_id,
                     detail=f"version {version + 1}" + (" (edited)" if version else ""))
    return version + 1


# --- One client's headline figures (the Client page), read with one pass over the client's submissions ----------

# caseload.client_overview's row for one client, for the period (k = 0) and the previous one (k = 1); period k + 1
# gives row k its previous completion rate. The same definitions as CLIENT_OVERVIEW and assignment_progress_direct
# (credit capped at expected_count, on-time credit up to the due date, the streak as of today, the last submission
# and late work and feedback as there), over the client's own rows only: their assignments and, read once, every
# submission to them. caseload.client_overview reads the macros over a whole caseload (every assignment's facts,
# twice a page); tests/metrics/test_client_overview.py compares the two rows value for value. Also each period's
# mood lift (mood.client_lift: every submission made in [start, as of] with both moods, whatever the status).
ONE_CLIENT_OVERVIEW = """
with periods(k, start_on, end_on, as_of) as (
    values (0, $start0::date, $end0::date, $as_of0::date), (1, $start1::date, $end1::date, $as_of1::date),
           (2, $start2::date, $end2::date, $as_of2::date)
),
roster as (
    select c.client_id, c.label, c.therapist_id, t.name as therapist_name, c.status
    from clients c
    left join therapists t using (therapist_id)
    where c.client_id = $client_id and ($scope_therapist is null or c.therapist_id = $scope_therapist)
),
mine as materialized (
    select a.assignment_id, a.due_on, a.expected_count, a.status
    from assignments a
    where a.client_id = $client_id and exists (select 1 from roster)
),
subs as materialized (
    select s.assignment_id, s.submitted_at, s.submitted_on, s.credit, s.completion, s.mood_lift,
           s.therapist_feedback, s.feedback_at
    from submission_facts s
    where s.assignment_id in (select assignment_id from mine)
),
progress as (
    -- each active assignment due in period k (due_on <= its as-of date), as known on that date
    select p.k, m.assignment_id, m.due_on, m.expected_count,
           least(m.expected_count, coalesce(sum(s.credit) filter (where s.submitted_on <= p.as_of), 0)) as credit,
           least(m.expected_count, coalesce(sum(s.credit) filter (where s.submitted_on <= least(p.as_of, m.due_on)), 0))
               as on_time_credit
    from periods p
    join mine m on m.status = 'active' and m.due_on between p.start_on and p.end_on and m.due_on <= p.as_of
    left join subs s on s.assignment_id = m.assignment_id
    group by p.k, m.assignment_id, m.due_on, m.expected_count
),
figures as (
    select k,
           count(*)                                                   as due,
           sum(expected_count)::bigint                                as expected,
           sum(credit)::double                                        as credit,
           sum(credit)::double / sum(expected_count)                  as completion_rate,
           sum(on_time_credit)::double / sum(expected_count)          as on_time_rate
    from progress
    group by k
),
due_now as (
    select m.assignment_id, date_trunc('week', m.due_on)::date as week, m.expected_count,
           least(m.expected_count, coalesce(sum(s.credit) filter (where s.submitted_on <= $today), 0)) as credit
    from mine m
    left join subs s on s.assignment_id = m.assignment_id
    where m.status = 'active' and m.due_on <= $today
    group by m.assignment_id, m.due_on, m.expected_count
),
weekly as (
    select week, sum(credit)::double / sum(expected_count) >= $streak_threshold as met
    from due_now
    group by week
),
streaks as (
    select count(*) filter (where last_missed is null or week > last_missed) as streak_weeks
    from (select *, max(week) filter (where not met) over () as last_missed from weekly)
),
last_submissions as (
    select p.k, max(s.submitted_on) as last_submission_on
    from periods p
    join subs s on s.submitted_on <= p.as_of
    group by p.k
),
work_in_period as (
    select p.k, s.submitted_at, s.feedback_at,
           s.submitted_on - m.due_on                               as days_late,
           holds_text(s.therapist_feedback)                        as has_feedback
    from periods p
    join subs s on s.submitted_on between p.start_on and p.as_of
    join mine m on m.assignment_id = s.assignment_id
    where m.status = 'active' and s.completion in ('completed', 'partial')
),
work_figures as (
    select k,
           count(*) filter (where days_late > 0)                   as late_submissions,
           median(days_late) filter (where days_late > 0)          as median_days_late,
           count(*) filter (where has_feedback) / count(*)         as feedback_coverage
    from work_in_period
    group by k
),
feedback_delays as (
    select k,
           round(median((epoch_us(feedback_at) - epoch_us(submitted_at)) / 1000000 / 86400), 1) as median_feedback_days
    from work_in_period
    where has_feedback
    group by k
),
lifts as (
    select p.k, avg(s.mood_lift) as mood_lift_mean, stddev_samp(s.mood_lift) as mood_lift_sd,
           count(*) as mood_lift_n
    from periods p
    join subs s on s.submitted_on between p.start_on and p.as_of and s.mood_lift is not null
    group by p.k
)
select p.k, r.client_id, r.label, r.therapist_id, r.therapist_name, r.status,
       coalesce(cur.due, 0)                                   as due,
       coalesce(cur.expected, 0)                              as expected,
       coalesce(cur.credit, 0)                                as credit,
       cur.completion_rate,
       cur.on_time_rate,
       prev.completion_rate                                   as previous_completion_rate,
       cur.completion_rate - prev.completion_rate             as completion_change,
       ls.last_submission_on,
       (p.as_of - ls.last_submission_on)::double             as days_since_last_submission,
       coalesce((select streak_weeks from streaks), 0)        as streak_weeks,
       coalesce(wf.late_submissions, 0)                       as late_submissions,
       wf.median_days_late,
       wf.feedback_coverage,
       fd.median_feedback_days,
       coalesce(li.mood_lift_n, 0)                            as mood_lift_n,
       li.mood_lift_mean,
       li.mood_lift_sd
from periods p
cross join roster r
left join figures cur on cur.k = p.k
left join figures prev on prev.k = p.k + 1
left join last_submissions ls on ls.k = p.k
left join work_figures wf on wf.k = p.k
left join feedback_delays fd on fd.k = p.k
left join lifts li on li.k = p.k
where p.k < 2
order by p.k
"""


def client_overview(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date
                    ) -> pd.DataFrame:
    """caseload.client_overview's row of one client for `period` (row 0) and `period.previous()` (row 1), with the
    same columns (k first: 0 or 1) and, per period, mood_lift_n, mood_lift_mean and mood_lift_sd (mood.client_lift's
    submissions). Reads the client's own rows only; ScopeError when the client is not in `scope`."""
    scope.require_client(con, client_id)
    params: dict[str, object] = {"client_id": client_id, "scope_therapist": scope.therapist_id, "today": today,
                                 "streak_threshold": STREAK_THRESHOLD}
    shown = period
    for k in range(3):
        params.update({f"start{k}": shown.start, f"end{k}": shown.end, f"as_of{k}": shown.as_of(today)})
        shown = shown.previous()
    return con.execute(ONE_CLIENT_OVERVIEW, params).df()


def lift_of(row: dict) -> LiftSummary:
    """mood.client_lift's summary from a row of client_overview (its mood_lift_* columns)."""
    from analytics.metrics.mood import LiftSummary  # mood and stats load SciPy: not for `plan`, which imports this
    from analytics.metrics.stats import mean_interval

    n = int(row["mood_lift_n"])
    if not n:
        return LiftSummary(None, 0, None, None)
    mean = float(row["mood_lift_mean"])
    interval = mean_interval(mean, float(row["mood_lift_sd"]), n) if n > 1 else None
    low, high = interval if interval else (None, None)
    return LiftSummary(mean, n, low, high)


# mood.MOOD_LIFTS (one client's submissions with both moods in [start, as of]), the period's rows first found by the
# stored instant (near_local_days), so the local time is worked out for the window's rows only: the same rows
# (tests/metrics/test_client_overview.py compares them with mood.mood_lifts).
_LIFTS_WHERE = "where a.client_id = $client_id\n"


def mood_lifts_near() -> str:
    """mood.MOOD_LIFTS with the first test on the instant (mood is imported here: it loads SciPy)."""
    from analytics.metrics.mood import MOOD_LIFTS

    if _LIFTS_WHERE not in MOOD_LIFTS:
        raise RuntimeError("mood.MOOD_LIFTS changed: clients.mood_lifts_near needs its client filter")
    return MOOD_LIFTS.replace(_LIFTS_WHERE, _LIFTS_WHERE + "  and near_local_days(s.submitted_at, $start, $as_of)\n", 1)


def mood_lifts(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period, today: date) -> pd.DataFrame:
    """mood.mood_lifts (the same rows and columns), reading only the period's submissions."""
    scope.require_client(con, client_id)
    return con.execute(mood_lifts_near(), {"start": period.start, "as_of": period.as_of(today), "client_id": client_id,
                                         "scope_therapist": scope.therapist_id}).df()
