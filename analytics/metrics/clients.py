"""The therapist's view of one client: the picker, the profile, the submissions, and writing feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store.database import transaction
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

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
    """The clients in scope for a picker, sorted by label: client_id, label, therapist_name, status."""
    return con.execute(CLIENT_CHOICES, {"scope_therapist": scope.therapist_id}).df()


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
    """The client's profile; preferences are the `;`-separated tags, trimmed, empty ones dropped."""
    scope.require_client(con, client_id)
    row = con.execute(CLIENT_PROFILE, {"client_id": client_id, "scope_therapist": scope.therapist_id}).fetchone()
    *fields, preferences = row
    tags = tuple(tag.strip() for tag in (preferences or "").split(";") if tag.strip())
    return ClientProfile(*fields, preferences=tags)


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
       f.client_note,
       f.therapist_feedback,
       f.feedback_local                  as feedback_at
from submission_facts f
join assignments a using (assignment_id)
join clients c using (client_id)
where a.client_id = $client_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
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
    """
    scope.require_client(con, client_id)
    params = {
        "client_id": client_id,
        "scope_therapist": scope.therapist_id,
        "start": period.start,
        "as_of": period.as_of(today),
    }
    return con.execute(SUBMISSION_LIST, params).df()


# The submission's time, only when its client is in scope (else no row).
SUBMISSION_IN_SCOPE = """
select s.submitted_at
from submissions s
join assignments a using (assignment_id)
join clients c using (client_id)
where s.submission_id = $submission_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
"""

SAVE_FEEDBACK = """
update submissions set therapist_feedback = $text, feedback_at = $at
where submission_id = $submission_id
"""


def save_feedback(con: DuckDBPyConnection, *, scope: Scope, submission_id: str, text: str, at: datetime) -> None:
    """Set the therapist's feedback on one submission, in one transaction.

    The text is stored without surrounding whitespace (and shown as plain text). Raises ValueError
    for blank text, text over MAX_FEEDBACK_CHARS, a naive `at`, or an `at` before the submission;
    ScopeError when the submission's client is not in scope (the same whether it exists or not).
    """
    feedback = (text or "").strip()
    if not feedback:
        raise ValueError("feedback cannot be empty")
    if len(feedback) > MAX_FEEDBACK_CHARS:
        raise ValueError(f"feedback can be at most {MAX_FEEDBACK_CHARS:,} characters")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the feedback time needs a time zone")
    with transaction(con):
        row = con.execute(
            SUBMISSION_IN_SCOPE, {"submission_id": submission_id, "scope_therapist": scope.therapist_id}
        ).fetchone()
        if row is None:
            raise ScopeError(f"submission {submission_id!r} is not in your caseload")
        if at < row[0]:
            raise ValueError("feedback cannot be given before the submission was made")
        con.execute(SAVE_FEEDBACK, {"text": feedback, "at": at, "submission_id": submission_id})
