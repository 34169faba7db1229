"""The therapist's view of one client (analytics/metrics/clients.py), on a hand-written fixture.

The practice's time zone is Asia/Tokyo (UTC+9, no daylight saving). Today is 2026-02-18; the
period is 02-01..02-14, so the submission list runs from 02-01 to 02-14 (Tokyo calendar dates).

  T1 Dr One: C1 Ash (active), C2 bea (paused)       T2 Dr Two: C3 Cy (active)

  A1 C1 journaling  "Thought record" due 02-10 exp 2
       S4 completed 2026-01-20 10:00 UTC                      before the period: not listed
       S1 completed 2026-02-09 10:00 UTC = 02-09 19:00 Tokyo  on time; mood 4 -> 6 (+2), 15 min, quality 3
       S2 partial   2026-02-10 16:00 UTC = 02-11 01:00 Tokyo  late (02-11 in Tokyo, though 02-10 in UTC)
       S5 completed 2026-02-16 10:00 UTC                      after the as-of date: not listed
  A2 C1 creative "Collage" due 02-12, CANCELLED
       S3 completed 2026-02-11 09:00 UTC = 02-11 18:00 Tokyo  listed, flagged cancelled
  A3 C3 mindfulness "Body scan" due 02-10 exp 1
       S6 completed 2026-02-09 10:00 UTC
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from analytics.metrics import clients
from analytics.metrics.clients import ClientProfile
from analytics.store.database import open_store, set_timezone
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 2, 18)
PERIOD = Period(date(2026, 2, 1), date(2026, 2, 14))
PRACTICE = Scope.practice()
T1 = Scope.therapist("T1")
T2 = Scope.therapist("T2")
FEEDBACK_AT = datetime(2026, 2, 12, 9, 30, tzinfo=UTC)  # 18:30 in Tokyo


@pytest.fixture
def con():
    con = open_store(":memory:")
    set_timezone(con, "Asia/Tokyo")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute(
        "insert into clients (client_id, therapist_id, label, intake_date, primary_concern, goals, preferences, "
        "status) values "
        "('C1', 'T1', 'Ash', '2026-01-05', 'low mood', 'Walk every day', ' writing; ;visual ;', 'active'), "
        "('C2', 'T1', 'bea', null, null, null, null, 'paused'), "
        "('C3', 'T2', 'Cy', null, null, null, 'music', 'active')"
    )
    con.execute(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
        "expected_count, status) values "
        "('A1', 'C1', 'journaling', 'Thought record', '2026-01-15', '2026-02-10', 2, 'active'), "
        "('A2', 'C1', 'creative', 'Collage', '2026-02-05', '2026-02-12', 1, 'cancelled'), "
        "('A3', 'C3', 'mindfulness', 'Body scan', '2026-02-03', '2026-02-10', 1, 'active')"
    )
    con.execute(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, quality, mood_before, "
        "mood_after, minutes, client_note) values "
        "('S4', 'A1', '2026-01-20 10:00:00+00', 'completed', null, null, null, null, null), "
        "('S1', 'A1', '2026-02-09 10:00:00+00', 'completed', 3, 4, 6, 15, 'Felt <b>ok</b>'), "
        "('S2', 'A1', '2026-02-10 16:00:00+00', 'partial', null, null, null, null, null), "
        "('S5', 'A1', '2026-02-16 10:00:00+00', 'completed', null, null, null, null, null), "
        "('S3', 'A2', '2026-02-11 09:00:00+00', 'completed', null, null, null, null, null), "
        "('S6', 'A3', '2026-02-09 10:00:00+00', 'completed', null, null, null, null, null)"
    )
    return con


def all_submissions(con) -> list[tuple]:
    return con.execute("select * from submissions order by submission_id").fetchall()


def listed(con, scope=PRACTICE, client_id="C1"):
    return clients.submission_list(con, scope=scope, client_id=client_id, period=PERIOD, today=TODAY)


# --------------------------------------------------------------------------------------------
# Picker and profile
# --------------------------------------------------------------------------------------------

def test_client_choices_are_the_scope_sorted_by_label(con):
    frame = clients.client_choices(con, scope=PRACTICE)
    assert list(frame.columns) == ["client_id", "label", "therapist_name", "status"]
    # Sorted by label whatever its case: Ash, bea, Cy.
    assert list(frame["client_id"]) == ["C1", "C2", "C3"]
    mine = clients.client_choices(con, scope=T1)
    assert [tuple(r) for r in mine.itertuples(index=False)] == [
        ("C1", "Ash", "Dr One", "active"), ("C2", "bea", "Dr One", "paused"),
    ]


def test_client_profile_splits_preferences_into_trimmed_tags(con):
    profile = clients.client_profile(con, scope=T1, client_id="C1")
    assert profile == ClientProfile(
        client_id="C1", label="Ash", therapist_id="T1", therapist_name="Dr One", status="active",
        intake_date=date(2026, 1, 5), primary_concern="low mood", goals="Walk every day",
        preferences=("writing", "visual"),
    )


def test_client_profile_with_nothing_filled_in(con):
    profile = clients.client_profile(con, scope=PRACTICE, client_id="C2")
    assert (profile.intake_date, profile.primary_concern, profile.goals, profile.preferences) == (None, None, None, ())
    assert profile.status == "paused"


def test_client_profile_outside_the_scope_is_refused_like_a_missing_client(con):
    with pytest.raises(ScopeError) as other:
        clients.client_profile(con, scope=T2, client_id="C1")
    with pytest.raises(ScopeError) as missing:
        clients.client_profile(con, scope=T2, client_id="C9")
    assert str(other.value).replace("C1", "?") == str(missing.value).replace("C9", "?")


# --------------------------------------------------------------------------------------------
# Submission list
# --------------------------------------------------------------------------------------------

def test_submission_list_is_the_period_newest_first_in_local_time(con):
    frame = listed(con)
    # S4 is before 02-01, S5 after the as-of date 02-14. In Tokyo time: S3 02-11 18:00, S2 02-11 01:00,
    # S1 02-09 19:00.
    assert list(frame["submission_id"]) == ["S3", "S2", "S1"]
    assert [str(t) for t in frame["submitted_at"]] == [
        "2026-02-11 18:00:00", "2026-02-11 01:00:00", "2026-02-09 19:00:00",
    ]
    assert list(frame.columns) == [
        "submission_id", "submitted_at", "assignment_id", "title", "assignment_type", "due_on", "on_time",
        "assignment_status", "completion", "quality", "mood_before", "mood_after", "mood_lift", "minutes",
        "client_note", "therapist_feedback", "feedback_at",
    ]


def test_submission_list_on_time_uses_the_local_calendar_date(con):
    rows = {r["submission_id"]: r for r in listed(con).to_dict("records")}
    # S1 on 02-09 for 02-10: on time. S2 is 02-10 in UTC but 02-11 in Tokyo: late.
    assert bool(rows["S1"]["on_time"]) is True
    assert bool(rows["S2"]["on_time"]) is False
    s1 = rows["S1"]
    assert (s1["title"], s1["assignment_type"], s1["completion"]) == ("Thought record", "journaling", "completed")
    assert (s1["quality"], s1["mood_before"], s1["mood_after"], s1["mood_lift"], s1["minutes"]) == (3, 4, 6, 2, 15)
    assert s1["client_note"] == "Felt <b>ok</b>"  # stored and returned as typed; pages show it as plain text


def test_submission_list_shows_cancelled_homework_flagged(con):
    rows = {r["submission_id"]: r for r in listed(con).to_dict("records")}
    assert rows["S3"]["assignment_status"] == "cancelled"
    assert rows["S1"]["assignment_status"] == "active"


# --------------------------------------------------------------------------------------------
# save_feedback
# --------------------------------------------------------------------------------------------

class RecordingConnection:
    """A connection that records each statement it runs and can fail right after one of them."""

    def __init__(self, con, fail_after: str | None = None):
        self._con = con
        self.statements: list[str] = []
        self._fail_after = fail_after

    def execute(self, sql, *args):
        result = self._con.execute(sql, *args)
        self.statements.append(" ".join(sql.split()).lower())
        if self._fail_after and sql.lstrip().lower().startswith(self._fail_after):
            raise RuntimeError("the disk is full")
        return result


def test_save_feedback_writes_one_row_in_one_transaction_and_is_listed_at_once(con):
    before = all_submissions(con)
    recorder = RecordingConnection(con)
    clients.save_feedback(recorder, scope=T1, submission_id="S1", text="  Well done.\n", at=FEEDBACK_AT)
    assert recorder.statements[0] == "begin transaction"
    assert recorder.statements[-1] == "commit"
    assert sum(s.startswith("update") for s in recorder.statements) == 1
    after = all_submissions(con)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1 and changed[0][1][0] == "S1"
    row = {r["submission_id"]: r for r in listed(con, scope=T1).to_dict("records")}["S1"]
    assert row["therapist_feedback"] == "Well done."
    # Stored as an instant; listed in the practice's time: 09:30 UTC is 18:30 in Tokyo.
    assert str(row["feedback_at"]) == "2026-02-12 18:30:00"
    stored = con.execute("select feedback_at from submissions where submission_id = 'S1'").fetchone()[0]
    assert stored == FEEDBACK_AT


def test_save_feedback_replaces_earlier_feedback(con):
    clients.save_feedback(con, scope=PRACTICE, submission_id="S1", text="First", at=FEEDBACK_AT)
    clients.save_feedback(con, scope=PRACTICE, submission_id="S1", text="Second",
                          at=FEEDBACK_AT + timedelta(hours=1))
    assert con.execute(
        "select therapist_feedback, feedback_at from submissions where submission_id = 'S1'"
    ).fetchone() == ("Second", FEEDBACK_AT + timedelta(hours=1))


def test_save_feedback_accepts_an_offset_other_than_utc(con):
    at = datetime(2026, 2, 12, 18, 30, tzinfo=timezone(timedelta(hours=9)))
    clients.save_feedback(con, scope=T1, submission_id="S1", text="Ok", at=at)
    assert con.execute("select feedback_at from submissions where submission_id = 'S1'").fetchone()[0] == FEEDBACK_AT


def test_save_feedback_refuses_another_therapists_submission_like_a_missing_one(con):
    before = all_submissions(con)
    with pytest.raises(ScopeError) as other:
        clients.save_feedback(con, scope=T2, submission_id="S1", text="Hello", at=FEEDBACK_AT)
    with pytest.raises(ScopeError) as missing:
        clients.save_feedback(con, scope=T2, submission_id="S99", text="Hello", at=FEEDBACK_AT)
    assert str(other.value).replace("S1", "?") == str(missing.value).replace("S99", "?")
    assert all_submissions(con) == before


@pytest.mark.parametrize(
    "text, at",
    [
        ("", FEEDBACK_AT),
        ("  \n\t ", FEEDBACK_AT),
        ("x" * 4001, FEEDBACK_AT),
        ("Fine", datetime(2026, 2, 12, 9, 30)),  # no time zone
        ("Fine", datetime(2026, 2, 9, 9, 0, tzinfo=UTC)),  # before S1 was made (02-09 10:00 UTC)
    ],
    ids=["empty", "whitespace", "too long", "naive time", "before the submission"],
)
def test_save_feedback_refuses_bad_input_and_changes_nothing(con, text, at):
    before = all_submissions(con)
    with pytest.raises(ValueError):
        clients.save_feedback(con, scope=T1, submission_id="S1", text=text, at=at)
    assert all_submissions(con) == before


def test_save_feedback_takes_up_to_4000_characters_after_trimming(con):
    clients.save_feedback(con, scope=T1, submission_id="S1", text=" " + "x" * 4000 + " ", at=FEEDBACK_AT)
    stored = con.execute("select therapist_feedback from submissions where submission_id = 'S1'").fetchone()[0]
    assert stored == "x" * 4000


def test_a_save_that_fails_part_way_leaves_the_store_unchanged(con):
    before = all_submissions(con)
    failing = RecordingConnection(con, fail_after="update")
    with pytest.raises(RuntimeError):
        clients.save_feedback(failing, scope=T1, submission_id="S1", text="Lost", at=FEEDBACK_AT)
    assert failing.statements[-1] == "rollback"
    assert all_submissions(con) == before
    # The connection is usable again: no transaction was left open.
    clients.save_feedback(con, scope=T1, submission_id="S1", text="Kept", at=FEEDBACK_AT)
    assert con.execute("select therapist_feedback from submissions where submission_id = 'S1'").fetchone() == ("Kept",)
