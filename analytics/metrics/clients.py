"""The therapist's view of one client: the picker, the profile, the submissions, and writing feedback."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store import audit
from analytics.store.access import pseudonym, pseudonym_salt, shown_labels
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
join assignments a using (assignment_id)
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
