"""One client under the roles (analytics/metrics/clients.py): feedback versions and the reasons a save is refused,
free text hidden from a practice manager, pseudonyms for an analyst. Fixture: tests/metrics/test_clients.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.metrics import clients
from analytics.store.access import pseudonym, pseudonym_salt
from analytics.store.audit import verify
from analytics.store.scope import Scope, ScopeError
from tests.metrics import test_clients
from tests.metrics.test_clients import FEEDBACK_AT, listed

con = test_clients.con  # the fixture: a small practice in Asia/Tokyo

ADA = Scope.signed_in(role="therapist", user="ada@example.test", therapist_id="T1")
MANAGER = Scope.signed_in(role="practice_manager", user="pm@example.test")
ANALYST = Scope.signed_in(role="analyst", user="an@example.test")


def versions(con, submission_id="S1") -> list[tuple]:
    return con.execute("select version, text, written_by from feedback_versions where submission_id = ? "
                       "order by version", [submission_id]).fetchall()


def test_changing_feedback_appends_a_version_and_keeps_the_old_one(con):
    assert clients.feedback_version(con, scope=ADA, submission_id="S1") == 0
    assert clients.save_feedback(con, scope=ADA, submission_id="S1", text="First", at=FEEDBACK_AT) == 1
    assert clients.save_feedback(con, scope=ADA, submission_id="S1", text="Second", at=FEEDBACK_AT + timedelta(hours=1),
                                 expected_version=1) == 2
    assert versions(con) == [(1, "First", "ada@example.test"), (2, "Second", "ada@example.test")]
    assert clients.feedback_version(con, scope=ADA, submission_id="S1") == 2
    assert listed(con, scope=ADA).set_index("submission_id").loc["S1", "therapist_feedback"] == "Second"
    assert list(clients.feedback_history(con, scope=ADA, submission_id="S1")["text"]) == ["First", "Second"]
    trail = con.execute("select action, user_email, object_id, detail from audit_log order by seq").fetchall()
    assert trail == [("feedback", "ada@example.test", "S1", "version 1"),
                     ("feedback", "ada@example.test", "S1", "version 2 (edited)")]
    assert verify(con).ok


def test_imported_feedback_becomes_version_one_when_it_is_changed(con):
    con.execute("update submissions set therapist_feedback = 'From the old system', "
                "feedback_at = '2026-02-10 08:00:00+00' where submission_id = 'S1'")
    assert clients.feedback_version(con, scope=ADA, submission_id="S1") == 1
    clients.save_feedback(con, scope=ADA, submission_id="S1", text="New", at=FEEDBACK_AT, expected_version=1)
    assert versions(con) == [(1, "From the old system", "import"), (2, "New", "ada@example.test")]


def test_a_save_over_a_newer_version_is_refused_as_a_conflict_and_changes_nothing(con):
    clients.save_feedback(con, scope=ADA, submission_id="S1", text="Mine", at=FEEDBACK_AT)
    with pytest.raises(clients.FeedbackConflict, match="Someone changed the feedback on this submission"):
        clients.save_feedback(con, scope=Scope.practice(), submission_id="S1", text="Theirs", at=FEEDBACK_AT,
                              expected_version=0)  # drawn before "Mine" was saved
    assert versions(con) == [(1, "Mine", "ada@example.test")]


@pytest.mark.parametrize("text, at, reason", [
    ("   ", FEEDBACK_AT, "The feedback box is empty"),
    ("x" * 4001, FEEDBACK_AT, "at most 4,000 characters; this is 4,001"),
    ("Fine", FEEDBACK_AT - timedelta(days=10), "before the submission was made"),
], ids=["empty", "too long", "before the submission"])
def test_a_refused_save_says_its_own_reason(con, text, at, reason):
    with pytest.raises(clients.FeedbackRefused, match=reason):
        clients.save_feedback(con, scope=ADA, submission_id="S1", text=text, at=at)
    assert versions(con) == []


def test_saving_the_same_text_again_is_refused_as_nothing_changed(con):
    clients.save_feedback(con, scope=ADA, submission_id="S1", text="Same", at=FEEDBACK_AT)
    with pytest.raises(clients.FeedbackRefused, match="already saved"):
        clients.save_feedback(con, scope=ADA, submission_id="S1", text=" Same ", at=FEEDBACK_AT)


@pytest.mark.parametrize("scope", [MANAGER, ANALYST], ids=["practice manager", "analyst"])
def test_roles_that_do_not_write_feedback_are_refused(con, scope):
    with pytest.raises(ScopeError, match="cannot write feedback"):
        clients.save_feedback(con, scope=scope, submission_id="S1", text="Hello", at=FEEDBACK_AT)
    assert versions(con) == []


def test_a_practice_manager_gets_figures_without_free_text_unless_allowed(con):
    clients.save_feedback(con, scope=ADA, submission_id="S1", text="Kind words", at=FEEDBACK_AT)
    row = listed(con, scope=MANAGER).set_index("submission_id").loc["S1"]
    assert row["client_note"] is None and row["therapist_feedback"] is None
    assert row["mood_after"] == 6 and str(row["feedback_at"]).startswith("2026-02-12")  # the figures stay
    assert clients.client_profile(con, scope=MANAGER, client_id="C1").goals is None
    assert clients.feedback_history(con, scope=MANAGER, submission_id="S1").empty
    allowed = Scope.signed_in(role="practice_manager", user="pm@example.test", manager_free_text=True)
    assert listed(con, scope=allowed).set_index("submission_id").loc["S1", "client_note"] == "Felt <b>ok</b>"
    assert clients.client_profile(con, scope=allowed, client_id="C1").goals == "Walk every day"


def test_an_analyst_sees_pseudonyms_instead_of_labels(con):
    salt = pseudonym_salt(con)
    choices = clients.client_choices(con, scope=ANALYST)
    assert set(choices["label"]) == {pseudonym(salt, c) for c in ("C1", "C2", "C3")}
    assert not {"Ash", "bea", "Cy"} & set(choices["label"])
    assert list(choices["label"]) == sorted(choices["label"])
    profile = clients.client_profile(con, scope=ANALYST, client_id="C1")
    assert (profile.label, profile.goals) == (pseudonym(salt, "C1"), None)
    assert listed(con, scope=ANALYST)["client_note"].isna().all()


def test_the_analysts_outcome_chart_has_pseudonyms_not_labels():
    from datetime import date

    from analytics.metrics import effectiveness
    from analytics.store.database import open_store
    from analytics.store.period import Period

    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'Ash'), ('C2', 'T1', 'Bo')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) values "
                "('A1', 'C1', 'journaling', 'Diary', '2026-02-01', '2026-02-05'), "
                "('A2', 'C2', 'journaling', 'Diary', '2026-02-01', '2026-02-05')")
    con.execute("insert into measures values ('C1', 'PHQ-9', 14, '2026-02-01'), ('C1', 'PHQ-9', 9, '2026-02-10'), "
                "('C2', 'PHQ-9', 12, '2026-02-01'), ('C2', 'PHQ-9', 12, '2026-02-10')")
    period = Period(date(2026, 2, 1), date(2026, 2, 14))
    seen = effectiveness.adherence_outcome(con, scope=ANALYST, period=period, today=date(2026, 2, 18), measure="PHQ-9")
    salt = pseudonym_salt(con)
    assert list(seen.points["label"]) == [pseudonym(salt, "C1"), pseudonym(salt, "C2")]
    plain = effectiveness.adherence_outcome(con, scope=Scope.practice(), period=period, today=date(2026, 2, 18),
                                            measure="PHQ-9")
    assert list(plain.points["label"]) == ["Ash", "Bo"]
