"""The practice manager's figures (analytics/metrics/caseload.py), checked on a hand-worked fixture.

Today is Wednesday 2026-03-18 (ISO week of Mon 03-16). The period is 03-02..03-15, so its figures
are as of 03-15; the previous period is 02-16..03-01, as of 03-01. All submissions at 10:00 UTC
(the practice's time zone) unless said otherwise; weeks are named by their Monday.

  T1 Dr One: C1 Ash, C2 Bea          T2 Dr Two: C3 Cy, C4 Dee (discharged, nothing set), C5 Eli, C6 Fay

  C1 Ash
    A11 journaling  due 02-10 (wk 02-09) exp 4  S111, S112, S113 completed 02-06..02-08     3/4 = 0.75
    A12 behavioural due 02-20 (wk 02-16) exp 2  S121 completed 02-19, S122 completed 02-20,
                                                S123 completed 03-04 (12 days late)         2/2 (capped)
    A13 mindfulness due 03-06 (wk 03-02) exp 3  S131 completed 03-03 (feedback 22:00 the same day,
                                                0.5 days), S132 partial 03-04, S133 completed 03-05
                                                                                            2.5/3, on time 2.5
    A14 journaling  due 03-10 (wk 03-09) exp 1  S141 skipped 03-11, S142 completed 03-12 (2 days late)
                                                                                            1/1, on time 0
    A15 behavioural due 03-13 (wk 03-09) exp 1  S151 completed 03-13, feedback "   " (blank) 03-14
                                                                                            1/1, on time 1
    A16 creative    due 03-20 (wk 03-16) exp 1  S161 completed 03-17                        not due yet
    A17 creative    due 03-06 CANCELLED         S171 completed 03-14                        never counts
  C2 Bea
    A21 narrative   due 03-11 (wk 03-09) exp 4  S211 completed 03-09 (feedback 03-10, 1 day),
                                                S212 completed 03-10 (feedback 03-14, 4 days),
                                                S213 completed 03-11                        3/4 = 0.75
    A22 journaling  due 03-16 (wk 03-16) exp 1  S221 completed 03-16                        1/1 (after the period)
  C3 Cy (never submitted anything)
    A31 behavioural due 03-04 (wk 03-02) exp 2                                              0/2
    A32 behavioural due 02-25 (wk 02-23) exp 1                                              0/1 (previous period)
  C5 Eli
    A51 mindfulness due 03-12 (wk 03-09) exp 2  S511 completed 03-11                        1/2 = 0.5 exactly
  C6 Fay
    A61 other       due 03-05 (wk 03-02) exp 1  S611 completed 03-05                        1/1 = 1.0 exactly
    A62 other       due 02-27 (wk 02-23) exp 5  S621..S624 completed 02-23..02-26           4/5 = 0.8 exactly
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from analytics.metrics import caseload, clients
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 3, 18)
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 15))
PRACTICE = Scope.practice()
T2 = Scope.therapist("T2")


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute(
        "insert into clients (client_id, therapist_id, label, status) values "
        "('C1', 'T1', 'Ash', 'active'), ('C2', 'T1', 'Bea', 'active'), ('C3', 'T2', 'Cy', 'active'), "
        "('C4', 'T2', 'Dee', 'discharged'), ('C5', 'T2', 'Eli', 'active'), ('C6', 'T2', 'Fay', 'active')"
    )
    con.execute(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
        "expected_count, status) values "
        "('A11', 'C1', 'journaling', 'Thought record', '2026-02-03', '2026-02-10', 4, 'active'), "
        "('A12', 'C1', 'behavioural', 'Walk', '2026-02-13', '2026-02-20', 2, 'active'), "
        "('A13', 'C1', 'mindfulness', 'Breathing', '2026-03-02', '2026-03-06', 3, 'active'), "
        "('A14', 'C1', 'journaling', 'Worry log', '2026-03-06', '2026-03-10', 1, 'active'), "
        "('A15', 'C1', 'behavioural', 'Call a friend', '2026-03-06', '2026-03-13', 1, 'active'), "
        "('A16', 'C1', 'creative', 'Collage', '2026-03-13', '2026-03-20', 1, 'active'), "
        "('A17', 'C1', 'creative', 'Sketch', '2026-03-02', '2026-03-06', 1, 'cancelled'), "
        "('A21', 'C2', 'narrative', 'Letter', '2026-03-04', '2026-03-11', 4, 'active'), "
        "('A22', 'C2', 'journaling', 'Gratitude list', '2026-03-11', '2026-03-16', 1, 'active'), "
        "('A31', 'C3', 'behavioural', 'Activity plan', '2026-02-27', '2026-03-04', 2, 'active'), "
        "('A32', 'C3', 'behavioural', 'Activity plan', '2026-02-20', '2026-02-25', 1, 'active'), "
        "('A51', 'C5', 'mindfulness', 'Body scan', '2026-03-05', '2026-03-12', 2, 'active'), "
        "('A61', 'C6', 'other', 'Sleep diary', '2026-03-01', '2026-03-05', 1, 'active'), "
        "('A62', 'C6', 'other', 'Sleep diary', '2026-02-20', '2026-02-27', 5, 'active')"
    )
    con.execute(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, therapist_feedback, "
        "feedback_at) values "
        "('S111', 'A11', '2026-02-06 10:00:00+00', 'completed', null, null), "
        "('S112', 'A11', '2026-02-07 10:00:00+00', 'completed', null, null), "
        "('S113', 'A11', '2026-02-08 10:00:00+00', 'completed', null, null), "
        "('S121', 'A12', '2026-02-19 10:00:00+00', 'completed', null, null), "
        "('S122', 'A12', '2026-02-20 10:00:00+00', 'completed', null, null), "
        "('S123', 'A12', '2026-03-04 10:00:00+00', 'completed', null, null), "
        "('S131', 'A13', '2026-03-03 10:00:00+00', 'completed', 'Nice start', '2026-03-03 22:00:00+00'), "
        "('S132', 'A13', '2026-03-04 10:00:00+00', 'partial', null, null), "
        "('S133', 'A13', '2026-03-05 10:00:00+00', 'completed', null, null), "
        "('S141', 'A14', '2026-03-11 10:00:00+00', 'skipped', null, null), "
        "('S142', 'A14', '2026-03-12 10:00:00+00', 'completed', null, null), "
        "('S151', 'A15', '2026-03-13 10:00:00+00', 'completed', '   ', '2026-03-14 10:00:00+00'), "
        "('S161', 'A16', '2026-03-17 10:00:00+00', 'completed', null, null), "
        "('S171', 'A17', '2026-03-14 10:00:00+00', 'completed', null, null), "
        "('S211', 'A21', '2026-03-09 10:00:00+00', 'completed', 'Good start', '2026-03-10 10:00:00+00'), "
        "('S212', 'A21', '2026-03-10 10:00:00+00', 'completed', 'Keep going', '2026-03-14 10:00:00+00'), "
        "('S213', 'A21', '2026-03-11 10:00:00+00', 'completed', null, null), "
        "('S221', 'A22', '2026-03-16 10:00:00+00', 'completed', null, null), "
        "('S511', 'A51', '2026-03-11 10:00:00+00', 'completed', null, null), "
        "('S611', 'A61', '2026-03-05 10:00:00+00', 'completed', null, null), "
        "('S621', 'A62', '2026-02-23 10:00:00+00', 'completed', null, null), "
        "('S622', 'A62', '2026-02-24 10:00:00+00', 'completed', null, null), "
        "('S623', 'A62', '2026-02-25 10:00:00+00', 'completed', null, null), "
        "('S624', 'A62', '2026-02-26 10:00:00+00', 'completed', null, null)"
    )
    return con


def rows_by(frame, key):
    return {row[key]: row for row in frame.to_dict("records")}


def week_key(value) -> str:
    return str(value)[:10]


def is_nan(value) -> bool:
    """True for a float NaN (the empty value of a numeric column), and only for that."""
    return isinstance(value, float) and math.isnan(value)


def overview(con, **kwargs):
    return rows_by(caseload.client_overview(con, scope=PRACTICE, period=PERIOD, today=TODAY, **kwargs), "client_id")


# --------------------------------------------------------------------------------------------
# client_overview
# --------------------------------------------------------------------------------------------

def test_overview_has_every_client_in_scope_sorted_by_label(con):
    frame = caseload.client_overview(con, scope=PRACTICE, period=PERIOD, today=TODAY)
    assert list(frame["client_id"]) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert list(frame.columns) == [
        "client_id", "label", "therapist_id", "therapist_name", "status", "due", "expected", "credit",
        "completion_rate", "on_time_rate", "previous_completion_rate", "completion_change",
        "last_submission_on", "days_since_last_submission", "streak_weeks", "late_submissions",
        "median_days_late", "feedback_coverage", "median_feedback_days",
    ]


def test_overview_completion_with_partial_credit_late_work_and_the_previous_period(con):
    c1 = overview(con)["C1"]
    assert (c1["label"], c1["therapist_name"], c1["status"]) == ("Ash", "Dr One", "active")
    # Due 03-02..03-15: A13 (2.5 of 3), A14 (1 of 1, late), A15 (1 of 1); A16 is due later and
    # A17 is cancelled. Credit 4.5 of 5; on time 2.5 + 0 + 1 = 3.5.
    assert (c1["due"], c1["expected"], c1["credit"]) == (3, 5, 4.5)
    assert c1["completion_rate"] == pytest.approx(0.9)
    assert c1["on_time_rate"] == pytest.approx(0.7)
    # Previous 02-16..03-01 as of 03-01: A12 2 of 2 (S123 came later and is capped anyway): 1.0.
    assert c1["previous_completion_rate"] == pytest.approx(1.0)
    assert c1["completion_change"] == pytest.approx(-0.1)


def test_late_submissions_are_those_made_in_the_period_after_their_due_date(con):
    c1 = overview(con)["C1"]
    # S123 (03-04 for 02-20: 12 days) and S142 (03-12 for 03-10: 2 days). Not S141 (skipped) nor
    # S171 (cancelled assignment) nor S161 (after as_of). Median of 12 and 2 = 7.
    assert c1["late_submissions"] == 2
    assert c1["median_days_late"] == pytest.approx(7.0)
    c2 = overview(con)["C2"]
    # S213 on the due date itself is on time.
    assert c2["late_submissions"] == 0
    assert is_nan(c2["median_days_late"])


def test_feedback_coverage_and_median_delay(con):
    c2 = overview(con)["C2"]
    # S211, S212, S213 in the period; S211 answered after 1 day, S212 after 4: 2/3, median 2.5.
    assert c2["feedback_coverage"] == pytest.approx(2 / 3)
    assert c2["median_feedback_days"] == pytest.approx(2.5)
    c1 = overview(con)["C1"]
    # Completed or partial in 03-02..03-15 to active assignments: S123, S131, S132, S133, S142,
    # S151 = 6 (S141 skipped, S171 cancelled, S161 after as_of). Only S131 has feedback (S151's is
    # blank): 1/6, after 12 hours = 0.5 days.
    assert c1["feedback_coverage"] == pytest.approx(1 / 6)
    assert c1["median_feedback_days"] == pytest.approx(0.5)


def test_days_since_last_submission(con):
    clients_ = overview(con)
    # C1's last submission on or before as_of (03-15) is S171 on 03-14 (any assignment, even a
    # cancelled one; S161 on 03-17 is after as_of). Counted to the as-of date, so the period reads as
    # it stood then: 03-15 - 03-14 = 1 day.
    assert week_key(clients_["C1"]["last_submission_on"]) == "2026-03-14"
    assert clients_["C1"]["days_since_last_submission"] == 1
    # C2: S213 on 03-11 (S221 on 03-16 is after as_of): 03-15 - 03-11 = 4 days.
    assert clients_["C2"]["days_since_last_submission"] == 4


def test_a_client_who_never_submitted(con):
    c3 = overview(con)["C3"]
    # A31 0 of 2 now, A32 0 of 1 before: 0% both times, a change of 0 (not empty).
    assert (c3["due"], c3["expected"], c3["credit"]) == (1, 2, 0)
    assert c3["completion_rate"] == 0
    assert c3["previous_completion_rate"] == 0
    assert c3["completion_change"] == 0
    assert str(c3["last_submission_on"]) == "NaT"
    assert is_nan(c3["days_since_last_submission"])
    assert c3["late_submissions"] == 0
    assert is_nan(c3["feedback_coverage"])
    assert is_nan(c3["median_feedback_days"])
    assert c3["streak_weeks"] == 0


def test_a_client_with_nothing_due_has_empty_rates_not_zero(con):
    clients_ = overview(con)
    c4 = clients_["C4"]
    assert (c4["due"], c4["expected"], c4["credit"]) == (0, 0, 0)
    assert is_nan(c4["completion_rate"]) and is_nan(c4["on_time_rate"])
    assert is_nan(c4["previous_completion_rate"]) and is_nan(c4["completion_change"])
    # C5 had nothing due before: the change is empty too.
    assert clients_["C5"]["completion_rate"] == pytest.approx(0.5)
    assert is_nan(clients_["C5"]["completion_change"])


def test_streak_skips_empty_weeks_and_a_current_week_with_nothing_due_yet(con):
    c1 = overview(con)["C1"]
    # As of today, going back from wk 03-16: nothing due yet (A16 is due 03-20) -> skipped;
    # wk 03-09 2/2 ok; wk 03-02 2.5/3 = 0.83 ok; wk 02-23 nothing due -> skipped; wk 02-16 2/2 ok;
    # wk 02-09 3/4 = 0.75 < 0.8 -> the streak stops. 3 weeks.
    assert c1["streak_weeks"] == 3


def test_streak_counts_the_current_week_and_breaks_at_75_percent(con):
    clients_ = overview(con)
    # C2: wk 03-16 A22 due 03-16, done (after the period, but a streak ignores the period) -> 1;
    # wk 03-09 A21 3/4 = 0.75 -> stops.
    assert clients_["C2"]["streak_weeks"] == 1
    # C5: wk 03-09 1/2 -> 0. C6: later weeks empty, wk 03-02 1/1, wk 02-23 4/5 = exactly 0.8 counts -> 2.
    assert clients_["C5"]["streak_weeks"] == 0
    assert clients_["C6"]["streak_weeks"] == 2


def test_streak_ignores_the_period(con):
    earlier = Period(date(2026, 2, 1), date(2026, 2, 14))
    frame = caseload.client_overview(con, scope=PRACTICE, period=earlier, today=TODAY)
    assert dict(zip(frame["client_id"], frame["streak_weeks"], strict=True)) == {
        "C1": 3, "C2": 1, "C3": 0, "C4": 0, "C5": 0, "C6": 2,
    }


def test_a_period_running_to_today_reads_the_work_up_to_today(con):
    period = Period(date(2026, 3, 5), date(2026, 3, 18))  # as of today; previous 02-19..03-04
    clients_ = rows_by(caseload.client_overview(con, scope=PRACTICE, period=period, today=TODAY), "client_id")
    c1, c2 = clients_["C1"], clients_["C2"]
    # C2: A21 3/4 and A22 (due 03-16, done that day) 1/1 = 4/5; nothing due before.
    assert (c2["due"], c2["expected"], c2["credit"]) == (2, 5, 4)
    assert c2["completion_rate"] == pytest.approx(0.8)
    assert is_nan(c2["previous_completion_rate"])
    assert c2["days_since_last_submission"] == 2  # S221 on 03-16
    # C1: A13 2.5/3, A14 1/1, A15 1/1 = 0.9 (A16 is due after today). Previous as of 03-04: A12 has
    # S121, S122 and S123 (made 03-04) = 3, capped at 2: 1.0.
    assert c1["completion_rate"] == pytest.approx(0.9)
    assert c1["previous_completion_rate"] == pytest.approx(1.0)
    assert c1["days_since_last_submission"] == 1  # S161 on 03-17
    # Made 03-05..03-18: S133, S142 (2 days late), S151, S161; S123 (03-04) is before the period.
    # None of them has feedback (S151's is blank).
    assert (c1["late_submissions"], c1["median_days_late"]) == (1, 2)
    assert c1["feedback_coverage"] == 0
    assert [clients_[c]["streak_weeks"] for c in ("C1", "C2", "C3", "C4", "C5", "C6")] == [3, 1, 0, 0, 0, 2]


def test_assignment_type_filter_restricts_every_figure(con):
    clients_ = overview(con, assignment_type="behavioural")
    c1 = clients_["C1"]
    # Behavioural only: A15 1/1 now, A12 2/2 before.
    assert (c1["due"], c1["expected"], c1["credit"]) == (1, 1, 1)
    assert c1["completion_rate"] == pytest.approx(1.0)
    assert c1["completion_change"] == pytest.approx(0.0)
    # Streak over wk 02-16 (A12) and wk 03-09 (A15): 2 (the journaling 0.75 week is not looked at).
    assert c1["streak_weeks"] == 2
    # Late: S123 only, 12 days. Feedback over S123 and S151, neither with feedback: 0.
    assert (c1["late_submissions"], c1["median_days_late"]) == (1, 12)
    assert c1["feedback_coverage"] == 0
    assert is_nan(c1["median_feedback_days"])
    # Last behavioural submission by 03-15: S151 on 03-13, 2 days before the as-of date.
    assert c1["days_since_last_submission"] == 2
    c2 = clients_["C2"]
    assert c2["due"] == 0 and is_nan(c2["completion_rate"])
    assert is_nan(c2["days_since_last_submission"])
    assert c2["streak_weeks"] == 0


# --------------------------------------------------------------------------------------------
# breakdown
# --------------------------------------------------------------------------------------------

def breakdown(con, by, scope=PRACTICE, **kwargs):
    return caseload.breakdown(con, scope=scope, period=PERIOD, today=TODAY, by=by, **kwargs)


def test_breakdown_by_therapist(con):
    rows = rows_by(breakdown(con, "therapist"), "therapist_id")
    t1, t2 = rows["T1"], rows["T2"]
    # T1: C1 (A13, A14, A15: 4.5 of 5, on time 3.5) + C2 (A21: 3 of 4, on time 3) = 7.5 of 9.
    assert (t1["label"], t1["due"], t1["expected"], t1["credit"]) == ("Dr One", 4, 9, 7.5)
    assert t1["completion_rate"] == pytest.approx(7.5 / 9)
    assert t1["on_time_rate"] == pytest.approx(6.5 / 9)
    # Previous: A12 2 of 2 (C2 had nothing due): 1.0; change 7.5/9 - 1.
    assert t1["previous_completion_rate"] == pytest.approx(1.0)
    assert t1["completion_change"] == pytest.approx(7.5 / 9 - 1)
    # T2: A31 0/2, A51 1/2, A61 1/1 = 2 of 5, all on time; previous A32 0/1 + A62 4/5 = 4/6.
    assert (t2["due"], t2["expected"], t2["credit"]) == (3, 5, 2)
    assert t2["completion_rate"] == pytest.approx(0.4)
    assert t2["on_time_rate"] == pytest.approx(0.4)
    assert t2["previous_completion_rate"] == pytest.approx(4 / 6)
    assert t2["completion_change"] == pytest.approx(0.4 - 4 / 6)


def test_breakdown_by_type_has_labels_and_previous_figures(con):
    rows = rows_by(breakdown(con, "type"), "assignment_type")
    # creative: A16 is not due in the period and A17 is cancelled.
    assert set(rows) == {"journaling", "mindfulness", "behavioural", "narrative", "other"}
    assert rows["journaling"]["label"] == "Journaling & self-reflection"
    # journaling: A14 1/1, on time 0; nothing journaling was due in the previous period.
    assert rows["journaling"]["completion_rate"] == pytest.approx(1.0)
    assert rows["journaling"]["on_time_rate"] == pytest.approx(0.0)
    assert is_nan(rows["journaling"]["previous_completion_rate"])
    # mindfulness: A13 2.5/3 + A51 1/2 = 3.5/5.
    assert rows["mindfulness"]["completion_rate"] == pytest.approx(0.7)
    # behavioural: A15 1/1 + A31 0/2 = 1/3; previous A12 2/2 + A32 0/1 = 2/3.
    assert rows["behavioural"]["completion_rate"] == pytest.approx(1 / 3)
    assert rows["behavioural"]["previous_completion_rate"] == pytest.approx(2 / 3)
    assert rows["behavioural"]["completion_change"] == pytest.approx(-1 / 3)


def test_breakdown_by_week_has_no_previous_figures(con):
    frame = breakdown(con, "week")
    assert [week_key(w) for w in frame["week"]] == ["2026-03-02", "2026-03-09"]
    assert list(frame["label"]) == ["2026-03-02", "2026-03-09"]
    # wk 03-02: A13 2.5/3, A31 0/2, A61 1/1 = 3.5/6. wk 03-09: A14 1/1, A15 1/1, A21 3/4, A51 1/2 = 6/8,
    # on time 0 + 1 + 3 + 1 = 5.
    assert list(frame["expected"]) == [6, 8]
    assert list(frame["completion_rate"]) == pytest.approx([3.5 / 6, 0.75])
    assert frame["on_time_rate"].iloc[1] == pytest.approx(5 / 8)
    assert frame["previous_completion_rate"].isna().all()
    assert frame["completion_change"].isna().all()


def test_breakdown_by_client_lists_every_client(con):
    rows = rows_by(breakdown(con, "client"), "client_id")
    assert set(rows) == {"C1", "C2", "C3", "C4", "C5", "C6"}
    assert rows["C1"]["label"] == "Ash"
    assert rows["C1"]["completion_rate"] == pytest.approx(0.9)
    assert rows["C4"]["due"] == 0 and is_nan(rows["C4"]["completion_rate"])


def test_breakdown_with_a_type_filter(con):
    rows = rows_by(breakdown(con, "therapist", assignment_type="mindfulness"), "therapist_id")
    # T1: A13 2.5/3; T2: A51 1/2.
    assert rows["T1"]["completion_rate"] == pytest.approx(2.5 / 3)
    assert rows["T2"]["completion_rate"] == pytest.approx(0.5)


def test_breakdown_refuses_an_unknown_grouping(con):
    with pytest.raises(ValueError):
        breakdown(con, "client_id; drop table clients")


# --------------------------------------------------------------------------------------------
# weekly_grid
# --------------------------------------------------------------------------------------------

def test_weekly_grid_by_therapist(con):
    frame = caseload.weekly_grid(con, scope=PRACTICE, period=PERIOD, today=TODAY, by="therapist")
    cells = {(week_key(r["week"]), r["key"]): r for r in frame.to_dict("records")}
    assert set(cells) == {("2026-03-02", "T1"), ("2026-03-02", "T2"), ("2026-03-09", "T1"), ("2026-03-09", "T2")}
    # wk 03-02: T1 A13 2.5/3; T2 A31 0/2 + A61 1/1 = 1/3.
    assert cells[("2026-03-02", "T1")]["completion_rate"] == pytest.approx(2.5 / 3)
    assert (cells[("2026-03-02", "T2")]["expected"], cells[("2026-03-02", "T2")]["credit"]) == (3, 1)
    assert cells[("2026-03-02", "T2")]["label"] == "Dr Two"
    # wk 03-09: T1 A14 1/1 + A15 1/1 + A21 3/4 = 5/6; T2 A51 1/2.
    assert cells[("2026-03-09", "T1")]["completion_rate"] == pytest.approx(5 / 6)
    assert cells[("2026-03-09", "T2")]["completion_rate"] == pytest.approx(0.5)


def test_weekly_grid_by_client_for_one_therapist(con):
    frame = caseload.weekly_grid(con, scope=PRACTICE.narrowed_to("T2"), period=PERIOD, today=TODAY, by="client")
    cells = {(week_key(r["week"]), r["key"]): (r["label"], r["completion_rate"]) for r in frame.to_dict("records")}
    assert cells == {
        ("2026-03-02", "C3"): ("Cy", 0.0),
        ("2026-03-02", "C6"): ("Fay", 1.0),
        ("2026-03-09", "C5"): ("Eli", 0.5),
    }


def test_weekly_grid_refuses_other_groupings(con):
    with pytest.raises(ValueError):
        caseload.weekly_grid(con, scope=PRACTICE, period=PERIOD, today=TODAY, by="type")


# --------------------------------------------------------------------------------------------
# completion_distribution
# --------------------------------------------------------------------------------------------

def test_distribution_has_ten_bins_with_100_and_50_percent_placed(con):
    frame = caseload.completion_distribution(con, scope=PRACTICE, period=PERIOD, today=TODAY)
    assert list(frame["bin_start"]) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert list(frame["bin_end"]) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    # C3 0% -> [0, 10); C5 exactly 50% -> [50, 60); C2 75% -> [70, 80); C1 90% and C6 exactly 100%
    # -> [90, 100]. C4 had nothing due and is in no bin.
    assert list(frame["clients"]) == [1, 0, 0, 0, 0, 1, 0, 1, 0, 2]
    assert caseload.clients_with_nothing_due(con, scope=PRACTICE, period=PERIOD, today=TODAY) == 1


def test_distribution_with_a_type_filter(con):
    frame = caseload.completion_distribution(
        con, scope=PRACTICE, period=PERIOD, today=TODAY, assignment_type="mindfulness"
    )
    # A13 2.5/3 = 83% (C1) -> [80, 90); A51 50% (C5) -> [50, 60). The other four had no mindfulness due.
    assert list(frame["clients"]) == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0]
    assert caseload.clients_with_nothing_due(
        con, scope=PRACTICE, period=PERIOD, today=TODAY, assignment_type="mindfulness"
    ) == 4


@pytest.mark.parametrize("scope", [PRACTICE, T2], ids=["practice", "T2"])
@pytest.mark.parametrize("assignment_type", [None, "mindfulness"])
@pytest.mark.parametrize("period", [PERIOD, Period(date(2026, 3, 5), date(2026, 3, 18))], ids=["past", "to-today"])
def test_the_figures_taken_from_the_overview_equal_their_own_queries(con, scope, assignment_type, period):
    # The Caseload page draws the distribution, the count with nothing due and (for one therapist) the bars by
    # client from client_overview's rows instead of asking again: they must be the very same figures.
    args = {"scope": scope, "period": period, "today": TODAY, "assignment_type": assignment_type}
    overview = caseload.client_overview(con, **args)
    pd.testing.assert_frame_equal(caseload.completion_distribution_of(overview),
                                  caseload.completion_distribution(con, **args), check_dtype=False)
    assert caseload.clients_with_nothing_due_of(overview) == caseload.clients_with_nothing_due(con, **args)
    pd.testing.assert_frame_equal(caseload.breakdown_by_client_of(overview),
                                  caseload.breakdown(con, **args, by="client"), check_dtype=False)


def test_the_distribution_from_the_overview_places_100_and_50_percent(con):
    overview = caseload.client_overview(con, scope=PRACTICE, period=PERIOD, today=TODAY)
    # As test_distribution_has_ten_bins_with_100_and_50_percent_placed, worked out by hand.
    frame = caseload.completion_distribution_of(overview)
    assert list(frame["bin_start"]) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert list(frame["clients"]) == [1, 0, 0, 0, 0, 1, 0, 1, 0, 2]
    assert caseload.clients_with_nothing_due_of(overview) == 1


# --------------------------------------------------------------------------------------------
# Scope: a therapist never sees another therapist's client, from any function
# --------------------------------------------------------------------------------------------

OTHER_THERAPISTS_VALUES = {"T1", "Dr One", "C1", "C2", "Ash", "Bea"}

# Every reader in caseload and clients, called for T2 (whose clients are C3-C6).
SCOPED_READERS = {
    "client_overview": lambda con, s: caseload.client_overview(con, scope=s, period=PERIOD, today=TODAY),
    "breakdown client": lambda con, s: caseload.breakdown(con, scope=s, period=PERIOD, today=TODAY, by="client"),
    "breakdown therapist": lambda con, s: caseload.breakdown(con, scope=s, period=PERIOD, today=TODAY, by="therapist"),
    "breakdown type": lambda con, s: caseload.breakdown(con, scope=s, period=PERIOD, today=TODAY, by="type"),
    "breakdown week": lambda con, s: caseload.breakdown(con, scope=s, period=PERIOD, today=TODAY, by="week"),
    "weekly_grid therapist": lambda con, s: caseload.weekly_grid(con, scope=s, period=PERIOD, today=TODAY, by="therapist"),
    "weekly_grid client": lambda con, s: caseload.weekly_grid(con, scope=s, period=PERIOD, today=TODAY, by="client"),
    "completion_distribution": lambda con, s: caseload.completion_distribution(con, scope=s, period=PERIOD, today=TODAY),
    "clients_with_nothing_due": lambda con, s: caseload.clients_with_nothing_due(con, scope=s, period=PERIOD, today=TODAY),
    "client_choices": lambda con, s: clients.client_choices(con, scope=s),
    "client_profile": lambda con, s: clients.client_profile(con, scope=s, client_id="C6"),
    "submission_list": lambda con, s: clients.submission_list(con, scope=s, client_id="C6", period=PERIOD, today=TODAY),
}


def remove_therapist_one_clients(con) -> None:
    con.execute("delete from submissions where assignment_id in "
                "(select assignment_id from assignments where client_id in ('C1', 'C2'))")
    con.execute("delete from assignments where client_id in ('C1', 'C2')")
    con.execute("delete from clients where client_id in ('C1', 'C2')")


def plain(result) -> list[tuple[str, ...]]:
    """A result as comparable plain data: a frame's rows, or a dataclass's or number's fields, as text."""
    if hasattr(result, "itertuples"):
        return [tuple(str(v) for v in row) for row in result.itertuples(index=False)]
    if dataclasses.is_dataclass(result):
        return [tuple(str(v) for v in dataclasses.astuple(result))]
    return [(str(result),)]


@pytest.mark.parametrize("reader", SCOPED_READERS)
def test_a_therapist_scope_never_shows_or_counts_another_therapists_clients(con, reader):
    seen = plain(SCOPED_READERS[reader](con, T2))
    assert seen  # T2 has data for every reader: an empty answer would prove nothing
    shown = {value for row in seen for value in row}
    assert not OTHER_THERAPISTS_VALUES & shown
    # The figures are exactly what they are with T1's clients gone: nothing of theirs is counted.
    remove_therapist_one_clients(con)
    assert plain(SCOPED_READERS[reader](con, T2)) == seen


@pytest.mark.parametrize("reader", ["client_profile", "submission_list"])
def test_a_therapist_cannot_open_another_therapists_client(con, reader):
    call = {
        "client_profile": lambda s, c: clients.client_profile(con, scope=s, client_id=c),
        "submission_list": lambda s, c: clients.submission_list(con, scope=s, client_id=c, period=PERIOD, today=TODAY),
    }[reader]
    with pytest.raises(ScopeError) as other:
        call(T2, "C1")
    with pytest.raises(ScopeError) as missing:
        call(T2, "C99")
    assert str(other.value).replace("C1", "?") == str(missing.value).replace("C99", "?")


def test_a_therapist_cannot_write_feedback_on_another_therapists_submission(con):
    with pytest.raises(ScopeError):
        clients.save_feedback(con, scope=T2, submission_id="S111", text="Hello",
                              at=datetime(2026, 3, 18, 9, 0, tzinfo=UTC))
    assert con.execute("select therapist_feedback from submissions where submission_id = 'S111'").fetchone() == (None,)
