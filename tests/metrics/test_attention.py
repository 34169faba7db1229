"""The needs-attention rules, each triggered alone and missed just inside its threshold, and the ranking.

Today is Sunday 2026-03-15; default thresholds. Windows are the N days ending today:
completion and feedback 02-16..03-15 (28 days), silence 03-02..03-15 (14), mood 02-16..03-15 (28).
Submissions are at 12:00 UTC with feedback unless marked "no fb"; expected_count 1 unless given.

  client (therapist)   rows                                                      expected
  C01 (T1)  A01 due 03-05 exp 2 completed 03-05; A02 due 03-12 skipped 03-12      low completion: 1/3 = 33%, 2 due
  C02 (T1)  A03 due 03-05 exp 2 completed 03-05; A04 due 03-12 exp 2 completed     50% is not under 50%; A05 due
            03-12; A05 due 02-15, nothing                                          02-15 is outside the window
  C03 (T1)  A06 due 03-12 skipped 03-12                                           0% but only 1 due: nothing
  C04 (T1)  A07 due 03-05 completed 03-01                                         silent: 14 days, 1 due
  C05 (T1)  A08 due 03-05 completed 03-02                                         13 days: nothing
  C06 (T1)  A09 due 02-20 completed 02-13                                         30 days, nothing due since 03-02
  C07 (T1)  A10 due 03-10, nothing ever                                           silent ("no submission yet")
  C08 (T1)  A11 due 01-20 completed 01-20; A12, A13, A14 due 02-01, 02-05,         missed in a row: 3
            02-10, nothing; A15 due 03-20 (not due) completed 03-10
  C09 (T1)  A16 due 02-01 completed 02-01; A17 due 02-05 skipped; A18 due 02-10    2 in a row: nothing
  C10 (T1)  A19 due 03-20 exp 4: moods 8, 7, 5, 4 at 00:00 on 02-16, 02-23,        mood falling: slope -1.4,
            03-02, 03-09 (weeks 0-3)                                               95% CI (-2.01, -0.79)
  C11 (T1)  A20 the same with moods 8, 6, 6, 4                                    slope -1.2, CI up to +0.017
  C13 (T1, paused)  PHQ-9 8 (01-05) -> 14 (03-02)                                 deterioration (+6)
  C14 (T1)  PHQ-9 8 -> 13, GAD-7 5 -> 8                                           +5 and +3: nothing
  C15 (T1)  A21 due 03-20 exp 2: completed 03-07 no fb                            feedback waiting 8 days
  C16 (T1)  A22 due 03-20 exp 5: completed 03-08 no fb (7 days), skipped 03-01    nothing
            no fb, partial 02-15 no fb (outside the window)
  C17 (T2)  A23 due 03-05 partial 03-05 no fb; A24 due 03-10 skipped 03-10         low completion 25% + feedback
  C18 (T2)  GAD-7 6 -> 10 (+4); A25 due 03-20 completed 03-01 no fb               deterioration + feedback
  C19 (T1, discharged)  PHQ-9 5 -> 20                                             never listed

Mood slopes by hand (x = weeks 0..3, mean 1.5, Sxx = 5): C10 y 8, 7, 5, 4 (mean 6): Sxy = -7, slope -1.4,
Syy = 10, residual 10 - 9.8 = 0.2, se = sqrt(0.2 / 2 / 5) = 0.1414, t(2) = 4.3027, half 0.6085.
C11 y 8, 6, 6, 4: Sxy = -6, slope -1.2, Syy = 8, residual 0.8, se = 0.2828, half 1.2170 -> ci_high +0.017.

Ranking: two reasons first (C18 has deterioration, more severe than C17's low completion), then one reason
by severity: C13 deterioration; C07 and C04 silent (C07's completion 0% before C04's 100%); C08 missed;
C01 low completion; C10 mood; C15 feedback.
"""

from __future__ import annotations

from datetime import date

import pytest

from analytics.metrics import attention
from analytics.metrics.attention import Thresholds
from analytics.store.database import open_store
from analytics.store.scope import Scope

TODAY = date(2026, 3, 15)
PRACTICE = Scope.practice()
DEFAULTS = Thresholds()

CLIENTS = [  # client_id, therapist_id, status
    ("C01", "T1", "active"), ("C02", "T1", "active"), ("C03", "T1", "active"), ("C04", "T1", "active"),
    ("C05", "T1", "active"), ("C06", "T1", "active"), ("C07", "T1", "active"), ("C08", "T1", "active"),
    ("C09", "T1", "active"), ("C10", "T1", "active"), ("C11", "T1", "active"), ("C13", "T1", "paused"),
    ("C14", "T1", "active"), ("C15", "T1", "active"), ("C16", "T1", "active"), ("C17", "T2", "active"),
    ("C18", "T2", "active"), ("C19", "T1", "discharged"),
]
ASSIGNMENTS = [  # assignment_id, client_id, due_on, expected_count
    ("A01", "C01", "2026-03-05", 2), ("A02", "C01", "2026-03-12", 1),
    ("A03", "C02", "2026-03-05", 2), ("A04", "C02", "2026-03-12", 2), ("A05", "C02", "2026-02-15", 1),
    ("A06", "C03", "2026-03-12", 1),
    ("A07", "C04", "2026-03-05", 1), ("A08", "C05", "2026-03-05", 1), ("A09", "C06", "2026-02-20", 1),
    ("A10", "C07", "2026-03-10", 1),
    ("A11", "C08", "2026-01-20", 1), ("A12", "C08", "2026-02-01", 1), ("A13", "C08", "2026-02-05", 1),
    ("A14", "C08", "2026-02-10", 1), ("A15", "C08", "2026-03-20", 1),
    ("A16", "C09", "2026-02-01", 1), ("A17", "C09", "2026-02-05", 1), ("A18", "C09", "2026-02-10", 1),
    ("A19", "C10", "2026-03-20", 4), ("A20", "C11", "2026-03-20", 4),
    ("A21", "C15", "2026-03-20", 2), ("A22", "C16", "2026-03-20", 5),
    ("A23", "C17", "2026-03-05", 1), ("A24", "C17", "2026-03-10", 1), ("A25", "C18", "2026-03-20", 1),
]
FB = "Well done"
SUBMISSIONS = [  # submission_id, assignment_id, submitted_at (UTC), completion, mood_after, therapist_feedback
    ("S01", "A01", "2026-03-05 12:00", "completed", None, FB), ("S02", "A02", "2026-03-12 12:00", "skipped", None, None),
    ("S03", "A03", "2026-03-05 12:00", "completed", None, FB), ("S04", "A04", "2026-03-12 12:00", "completed", None, FB),
    ("S05", "A06", "2026-03-12 12:00", "skipped", None, None),
    ("S06", "A07", "2026-03-01 12:00", "completed", None, FB),
    ("S07", "A08", "2026-03-02 12:00", "completed", None, FB),
    ("S08", "A09", "2026-02-13 12:00", "completed", None, FB),
    ("S09", "A11", "2026-01-20 12:00", "completed", None, FB), ("S10", "A15", "2026-03-10 12:00", "completed", None, FB),
    ("S11", "A16", "2026-02-01 12:00", "completed", None, FB), ("S12", "A17", "2026-02-05 12:00", "skipped", None, None),
    ("S13", "A19", "2026-02-16 00:00", "completed", 8, FB), ("S14", "A19", "2026-02-23 00:00", "completed", 7, FB),
    ("S15", "A19", "2026-03-02 00:00", "completed", 5, FB), ("S16", "A19", "2026-03-09 00:00", "completed", 4, FB),
    ("S17", "A20", "2026-02-16 00:00", "completed", 8, FB), ("S18", "A20", "2026-02-23 00:00", "completed", 6, FB),
    ("S19", "A20", "2026-03-02 00:00", "completed", 6, FB), ("S20", "A20", "2026-03-09 00:00", "completed", 4, FB),
    ("S21", "A21", "2026-03-07 12:00", "completed", None, None),
    ("S22", "A22", "2026-03-08 12:00", "completed", None, None), ("S23", "A22", "2026-03-01 12:00", "skipped", None, None),
    ("S24", "A22", "2026-02-15 12:00", "partial", None, None),
    ("S25", "A23", "2026-03-05 12:00", "partial", None, None), ("S26", "A24", "2026-03-10 12:00", "skipped", None, None),
    ("S27", "A25", "2026-03-01 12:00", "completed", None, None),
]
MEASURES = [  # client_id, measure, score, administered_on
    ("C13", "PHQ-9", 8, "2026-01-05"), ("C13", "PHQ-9", 14, "2026-03-02"),
    ("C14", "PHQ-9", 8, "2026-01-05"), ("C14", "PHQ-9", 13, "2026-03-02"),
    ("C14", "GAD-7", 5, "2026-01-05"), ("C14", "GAD-7", 8, "2026-03-02"),
    ("C18", "GAD-7", 6, "2026-01-05"), ("C18", "GAD-7", 10, "2026-03-02"),
    ("C19", "PHQ-9", 5, "2026-01-05"), ("C19", "PHQ-9", 20, "2026-03-02"),
]
EXPECTED_ORDER = ["C18", "C17", "C13", "C07", "C04", "C08", "C01", "C10", "C15"]


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.executemany("insert into clients (client_id, therapist_id, label, status) values (?, ?, ? || ' label', ?)",
                    [(c, t, c, s) for c, t, s in CLIENTS])
    con.executemany(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count) "
        "values (?, ?, 'journaling', 'Task', '2026-01-01', ?, ?)", ASSIGNMENTS)
    con.executemany(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_after, therapist_feedback) "
        "values (?, ?, cast(? || '+00' as timestamptz), ?, ?, ?)", SUBMISSIONS)
    con.executemany("insert into measures (client_id, measure, score, administered_on) values (?, ?, ?, ?)", MEASURES)
    return con


def listed(con, scope: Scope = PRACTICE, thresholds: Thresholds = DEFAULTS):
    frame = attention.needs_attention(con, scope=scope, today=TODAY, thresholds=thresholds)
    return {row["client_id"]: row for row in frame.to_dict("records")}


def test_each_rule_triggers_alone_and_nobody_else_is_listed(con):
    rows = listed(con)
    assert {client: row["rule_ids"] for client, row in rows.items()} == {
        "C01": ["low_completion"],
        "C04": ["silent"],
        "C07": ["silent"],
        "C08": ["missed_in_a_row"],
        "C10": ["mood_falling"],
        "C13": ["deterioration"],
        "C15": ["feedback_waiting"],
        "C17": ["low_completion", "feedback_waiting"],
        "C18": ["deterioration", "feedback_waiting"],
    }


def test_ranking(con):
    frame = attention.needs_attention(con, scope=PRACTICE, today=TODAY)
    assert list(frame["client_id"]) == EXPECTED_ORDER
    assert list(frame["rank"]) == list(range(1, 10))
    assert list(frame["n_reasons"]) == [2, 2, 1, 1, 1, 1, 1, 1, 1]


def test_reasons_carry_the_clients_own_figures(con):
    rows = listed(con)
    assert rows["C01"]["reasons"] == ["Completion 33% in the last 28 days (2 due)"]
    assert rows["C01"]["recent_completion"] == pytest.approx(1 / 3)
    assert rows["C01"]["recent_due"] == 2
    assert rows["C04"]["reasons"] == ["No submission for 14 days (1 assignment due in the last 14 days)"]
    assert rows["C04"]["days_silent"] == 14
    assert rows["C07"]["reasons"] == ["No submission yet (1 assignment due in the last 14 days)"]
    assert rows["C08"]["reasons"] == ["The last 3 assignments due were all missed"]
    assert rows["C08"]["missed_streak"] == 3
    assert rows["C10"]["reasons"] == ["Mood falling 1.4 points a week over the last 28 days (95% CI -2.0 to -0.8; 4 ratings)"]
    assert (rows["C10"]["mood_slope_per_week"], rows["C10"]["mood_ci_high"]) == pytest.approx((-1.4, -0.7915), abs=1e-3)
    assert rows["C13"]["reasons"] == ["Reliable deterioration: PHQ-9 8 → 14 (+6)"]
    assert rows["C13"]["phq9_change"] == 6 and rows["C13"]["status"] == "paused"
    assert rows["C15"]["reasons"] == ["1 submission is waiting for feedback, the oldest for 8 days"]
    assert (rows["C15"]["feedback_waiting"], rows["C15"]["feedback_oldest_days"]) == (1, 8)
    assert rows["C18"]["reasons"] == ["Reliable deterioration: GAD-7 6 → 10 (+4)",
                                      "1 submission is waiting for feedback, the oldest for 14 days"]
    assert (rows["C18"]["therapist_id"], rows["C18"]["therapist_name"], rows["C18"]["label"]) == ("T2", "Dr Two", "C18 label")


@pytest.mark.parametrize(
    ("thresholds", "client", "rule"),
    [
        (Thresholds(completion_below=0.51), "C02", "low_completion"),  # 50% is under 51%
        (Thresholds(completion_min_due=1), "C03", "low_completion"),  # 0% with 1 due
        (Thresholds(silent_days=13), "C05", "silent"),  # 13 days
        (Thresholds(missed_in_a_row=2), "C09", "missed_in_a_row"),
        (Thresholds(mood_slope_per_week=-1.1), "C10", "mood_falling"),
        (Thresholds(feedback_wait_days=6), "C16", "feedback_waiting"),  # 7 days is more than 6
    ],
)
def test_moving_a_threshold_past_a_clients_figure_lists_them(con, thresholds, client, rule):
    assert rule in listed(con, thresholds=thresholds)[client]["rule_ids"]


@pytest.mark.parametrize(
    ("thresholds", "client", "rule"),
    [
        (Thresholds(completion_below=0.33), "C01", "low_completion"),  # 33.3% is not under 33%
        (Thresholds(completion_min_due=3), "C01", "low_completion"),
        (Thresholds(silent_days=15), "C04", "silent"),
        (Thresholds(missed_in_a_row=4), "C08", "missed_in_a_row"),
        (Thresholds(mood_slope_per_week=-1.5), "C10", "mood_falling"),  # -1.4 is not at or below -1.5
        (Thresholds(mood_min_n=5), "C10", "mood_falling"),  # 4 ratings
        (Thresholds(mood_window_days=21), "C10", "mood_falling"),  # 02-23..03-15: 3 ratings
        (Thresholds(feedback_wait_days=8), "C15", "feedback_waiting"),  # 8 days is not more than 8
        (Thresholds(feedback_window_days=7), "C15", "feedback_waiting"),
    ],
)
def test_a_client_just_inside_a_threshold_is_not_listed_for_it(con, thresholds, client, rule):
    row = listed(con, thresholds=thresholds).get(client)
    assert row is None or rule not in row["rule_ids"]


def test_the_feedback_count_covers_the_window_and_skips_skipped_work(con):
    # C16 with a 0-day wait and a 29-day window: completed 03-08 and partial 02-15; never the skipped one.
    row = listed(con, thresholds=Thresholds(feedback_wait_days=0, feedback_window_days=29))["C16"]
    assert (row["feedback_waiting"], row["feedback_oldest_days"]) == (2, 28)


def test_feedback_dated_after_today_is_still_waiting(con):
    con.execute("update submissions set therapist_feedback = 'Later', feedback_at = '2026-03-16 09:00+00' "
                "where submission_id = 'S21'")
    assert "feedback_waiting" in listed(con)["C15"]["rule_ids"]


def test_work_on_a_cancelled_assignment_waits_for_no_feedback(con):
    con.execute("insert into clients (client_id, therapist_id, label) values ('C20', 'T1', 'C20 label')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                "status) values ('A26', 'C20', 'other', 'Task', '2026-02-01', '2026-03-20', 'cancelled')")
    con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                "values ('S28', 'A26', '2026-03-01 12:00+00', 'completed')")
    assert "C20" not in listed(con)
    con.execute("update assignments set status = 'active' where assignment_id = 'A26'")
    assert listed(con)["C20"]["rule_ids"] == ["feedback_waiting"]


def test_therapist_scope_never_returns_another_therapists_client(con):
    assert list(attention.needs_attention(con, scope=Scope.therapist("T2"), today=TODAY)["client_id"]) == ["C18", "C17"]
    t1 = attention.needs_attention(con, scope=Scope.therapist("T1"), today=TODAY)
    assert list(t1["client_id"]) == [c for c in EXPECTED_ORDER if c not in {"C17", "C18"}]
    assert set(t1["therapist_id"]) == {"T1"}


def test_an_empty_store_lists_nobody():
    frame = attention.needs_attention(open_store(":memory:"), scope=PRACTICE, today=TODAY)
    assert frame.empty
    assert list(frame.columns) == attention.COLUMNS


def test_rules_are_written_out_with_the_thresholds():
    texts = dict(attention.rule_texts())
    assert list(texts) == ["deterioration", "silent", "missed_in_a_row", "low_completion", "mood_falling",
                           "feedback_waiting"]
    assert texts["low_completion"] == "Completion under 50% in the last 28 days (with at least 2 assignments due)"
    assert texts["silent"] == "No submission in the last 14 days while homework was due in that time"
    assert "PHQ-9 up 6 points or more, or GAD-7 up 4 points or more" in texts["deterioration"]
    assert "falling by 0.5 points a week or more over the last 28 days (at least 4 mood ratings" in texts["mood_falling"]
    custom = dict(attention.rule_texts(Thresholds(completion_below=0.6, completion_window_days=14)))
    assert custom["low_completion"] == "Completion under 60% in the last 14 days (with at least 2 assignments due)"


def test_thresholds_are_read_from_settings():
    con = open_store(":memory:")
    assert attention.load_thresholds(con) == Thresholds()
    con.execute("insert into settings values ('attention.silent_days', '21'), ('attention.completion_below', '0.4'), "
                "('timezone', 'UTC')")
    assert attention.load_thresholds(con) == Thresholds(silent_days=21, completion_below=0.4)


def test_saved_thresholds_come_back():
    con = open_store(":memory:")
    saved = Thresholds(completion_below=0.6, missed_in_a_row=4, mood_slope_per_week=-0.75, feedback_wait_days=3)
    attention.save_thresholds(con, saved)
    assert attention.load_thresholds(con) == saved
    stored = dict(con.execute("select key, value from settings where key like 'attention.%'").fetchall())
    assert stored["attention.completion_below"] == "0.6" and stored["attention.missed_in_a_row"] == "4"


@pytest.mark.parametrize(
    ("key", "value"),
    [("attention.silent_days", "two weeks"), ("attention.silent_days", "14.5"), ("attention.silent_days", "0"),
     ("attention.completion_below", "50%"), ("attention.completion_below", "1.5"),
     ("attention.mood_slope_per_week", "nan"), ("attention.mood_min_n", "2"), ("attention.silent_dayz", "14")],
)
def test_an_invalid_stored_threshold_is_an_error_naming_its_key(key, value):
    con = open_store(":memory:")
    con.execute("insert into settings values (?, ?)", [key, value])
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        attention.load_thresholds(con)


def test_thresholds_refuse_values_that_make_no_sense():
    with pytest.raises(ValueError):
        Thresholds(completion_below=0)
    with pytest.raises(ValueError):
        Thresholds(silent_days=2.5)
