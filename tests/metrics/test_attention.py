"""The needs-attention rules, each triggered alone and missed just inside its threshold, and the ranking.

Today is Sunday 2026-03-15; default thresholds. Windows are the N days ending today:
completion and feedback 02-16..03-15 (28 days), silence 14 days, mood trend and usual mood 02-16..03-15
(28), recent mood 03-09..03-15 (7). Submissions are at 12:00 UTC with feedback unless marked "no fb";
expected_count 1 unless given; every assignment is set on 01-01.

  client (therapist)   rows                                                      expected
  C01 (T1)  A01 due 03-05 exp 2 completed 03-05; A02 due 03-12 skipped 03-12      low completion: 1/3 = 33%, 2 due
  C02 (T1)  A03 due 03-05 exp 2 completed 03-05; A04 due 03-12 exp 2 completed     50% is not under 50%; A05 due
            03-12; A05 due 02-15, nothing                                          02-15 is outside the window
  C03 (T1)  A06 due 03-12 skipped 03-12                                           0% but only 1 due: nothing
  C04 (T1)  A07 due 03-05 completed 03-01                                         silent: 14 days
  C05 (T1)  A08 due 03-05 completed 03-02                                         13 days: nothing
  C06 (T1)  A09 due 02-20 completed 02-13                                         silent 30 days (nothing due since:
                                                                                  silence counts whatever was due)
  C07 (T1)  A10 due 03-10, nothing ever                                           silent: no submission yet, 73 days
                                                                                  since homework was first set (01-01)
  C08 (T1)  A11 due 01-20 completed 01-20; A12, A13, A14 due 02-01, 02-05,         missed in a row: 3
            02-10, nothing; A15 due 03-20 (not due) completed 03-10
  C09 (T1)  A16 due 02-01 completed 02-01; A17 due 02-05 skipped; A18 due 02-10    2 in a row: not missed; but
                                                                                  silent 38 days (last 02-05)
  C10 (T1)  A19 due 03-20 exp 4: moods 8, 7, 5, 4 at 00:00 on 02-16, 02-23,        mood falling: slope -1.4,
            03-02, 03-09 (weeks 0-3)                                               95% CI (-2.01, -0.79); 4 ratings
                                                                                  are too few for a mood drop
  C11 (T1)  A20 the same with moods 8, 6, 6, 4                                    slope -1.2, CI up to +0.017
  C13 (T1, paused)  PHQ-9 8 (01-05) -> 14 (03-02)                                 score rise +6 (reliable is 6)
  C14 (T1)  PHQ-9 8 -> 13, GAD-7 5 -> 8                                           +5 and +3: nothing
  C15 (T1)  A21 due 03-20 exp 2: completed 03-07 no fb                            feedback waiting 8 days
  C16 (T1)  A22 due 03-20 exp 5: completed 03-08 no fb (7 days), skipped 03-01    nothing
            no fb, partial 02-15 no fb (outside the window)
  C17 (T2)  A23 due 03-05 partial 03-05 no fb; A24 due 03-10 skipped 03-10         low completion 25% + feedback
  C18 (T2)  GAD-7 6 -> 10 (+4); A25 due 03-20 completed 03-01 no fb               score rise + silent 14 days +
                                                                                  feedback
  C19 (T1, discharged)  PHQ-9 5 -> 20                                             never listed
  C21 (T1)  A30 due 03-20 exp 10: moods 7, 7, 6, 7, 7 on 02-20, 02-24, 02-28,      mood drop: recent 4, 5 -> 4.5
            03-03, 03-06; 4, 5 on 03-10, 03-13                                     (2 ratings); usual median of
                                                                                  4 5 6 7 7 7 7 = 7 (7 ratings):
                                                                                  2.5 under. Its trend: slope -0.81,
                                                                                  CI (-1.72, +0.11): not falling
  C23 (T1)  GAD-7 10 (01-05) -> 14 (02-02) -> 16 (03-02)                          previous +2, lowest 10: +6 >= 4,
                                                                                  and 16 >= 15: severe band
  C24 (T1)  PHQ-9 12 (01-05) -> 5 (02-02) -> 11 (03-02)                           first to latest -1, but +6 from
                                                                                  the lowest (5): score rise
  C25 (T1)  PHQ-9 21 (01-05) -> 20 (03-02)                                        no rise; 20 >= 20: severe band

Ranking: the kind of the most serious reason (clinical, engagement, admin), then the most severe rule met
(severe band, score rise, mood drop, silent, mood falling, missed, low completion, feedback), then the next
most severe, and so on; then the lowest completion over the last 28 days, then the label.
  clinical: C23 (severe + rise), C25 (severe), C18 (rise + silent + feedback), C13 and C24 (rise; by label),
    C21 (mood drop), C07 0%, C04 100%, C06 100% (by label), C09 (nothing due in 28 days: last) (silent),
    C10 (mood falling);
  engagement: C08 (missed), C17 (low completion + feedback), C01 (low completion); admin: C15.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics import attention, mood, outcomes
from analytics.metrics.attention import Thresholds
from analytics.store import vocabulary
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 3, 15)
PRACTICE = Scope.practice()
DEFAULTS = Thresholds()

CLIENTS = [  # client_id, therapist_id, status
    ("C01", "T1", "active"), ("C02", "T1", "active"), ("C03", "T1", "active"), ("C04", "T1", "active"),
    ("C05", "T1", "active"), ("C06", "T1", "active"), ("C07", "T1", "active"), ("C08", "T1", "active"),
    ("C09", "T1", "active"), ("C10", "T1", "active"), ("C11", "T1", "active"), ("C13", "T1", "paused"),
    ("C14", "T1", "active"), ("C15", "T1", "active"), ("C16", "T1", "active"), ("C17", "T2", "active"),
    ("C18", "T2", "active"), ("C19", "T1", "discharged"), ("C21", "T1", "active"), ("C23", "T1", "active"),
    ("C24", "T1", "active"), ("C25", "T1", "active"),
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
    ("A30", "C21", "2026-03-20", 10),
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
    ("S40", "A30", "2026-02-20 12:00", "completed", 7, FB), ("S41", "A30", "2026-02-24 12:00", "completed", 7, FB),
    ("S42", "A30", "2026-02-28 12:00", "completed", 6, FB), ("S43", "A30", "2026-03-03 12:00", "completed", 7, FB),
    ("S44", "A30", "2026-03-06 12:00", "completed", 7, FB), ("S45", "A30", "2026-03-10 12:00", "completed", 4, FB),
    ("S46", "A30", "2026-03-13 12:00", "completed", 5, FB),
]
MEASURES = [  # client_id, measure, score, administered_on
    ("C13", "PHQ-9", 8, "2026-01-05"), ("C13", "PHQ-9", 14, "2026-03-02"),
    ("C14", "PHQ-9", 8, "2026-01-05"), ("C14", "PHQ-9", 13, "2026-03-02"),
    ("C14", "GAD-7", 5, "2026-01-05"), ("C14", "GAD-7", 8, "2026-03-02"),
    ("C18", "GAD-7", 6, "2026-01-05"), ("C18", "GAD-7", 10, "2026-03-02"),
    ("C19", "PHQ-9", 5, "2026-01-05"), ("C19", "PHQ-9", 20, "2026-03-02"),
    ("C23", "GAD-7", 10, "2026-01-05"), ("C23", "GAD-7", 14, "2026-02-02"), ("C23", "GAD-7", 16, "2026-03-02"),
    ("C24", "PHQ-9", 12, "2026-01-05"), ("C24", "PHQ-9", 5, "2026-02-02"), ("C24", "PHQ-9", 11, "2026-03-02"),
    ("C25", "PHQ-9", 21, "2026-01-05"), ("C25", "PHQ-9", 20, "2026-03-02"),
]
EXPECTED_ORDER = ["C23", "C25", "C18", "C13", "C24", "C21", "C07", "C04", "C06", "C09", "C10", "C08", "C17", "C01",
                  "C15"]


def insert_rows(con, into: str, row: str, rows: list[tuple]) -> None:
    """One INSERT of every row, each as `row` with bound parameters (executemany runs one statement per row)."""
    con.execute(f"insert into {into} values " + ", ".join([row] * len(rows)), [value for r in rows for value in r])


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    insert_rows(con, "clients (client_id, therapist_id, label, status)", "(?, ?, ? || ' label', ?)",
                [(c, t, c, s) for c, t, s in CLIENTS])
    insert_rows(con, "assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                "expected_count)", "(?, ?, 'journaling', 'Task', '2026-01-01', ?, ?)", ASSIGNMENTS)
    insert_rows(con, "submissions (submission_id, assignment_id, submitted_at, completion, mood_after, "
                "therapist_feedback)", "(?, ?, cast(? || '+00' as timestamptz), ?, ?, ?)", SUBMISSIONS)
    insert_rows(con, "measures (client_id, measure, score, administered_on)", "(?, ?, ?, ?)", MEASURES)
    return con


def listed(con, scope: Scope = PRACTICE, thresholds: Thresholds = DEFAULTS):
    frame = attention.needs_attention(con, scope=scope, today=TODAY, thresholds=thresholds)
    return {row["client_id"]: row for row in frame.to_dict("records")}


def test_each_rule_triggers_alone_and_nobody_else_is_listed(con):
    rows = listed(con)
    assert {client: row["rule_ids"] for client, row in rows.items()} == {
        "C01": ["low_completion"],
        "C04": ["silent"],
        "C06": ["silent"],
        "C07": ["silent"],
        "C08": ["missed_in_a_row"],
        "C09": ["silent"],
        "C10": ["mood_falling"],
        "C13": ["score_rise"],
        "C15": ["feedback_waiting"],
        "C17": ["low_completion", "feedback_waiting"],
        "C18": ["score_rise", "silent", "feedback_waiting"],
        "C21": ["mood_drop"],
        "C23": ["severe_band", "score_rise"],
        "C24": ["score_rise"],
        "C25": ["severe_band"],
    }
    assert rows["C17"]["kinds"] == ["engagement", "admin"] and rows["C17"]["top_kind"] == "engagement"
    assert rows["C18"]["kinds"] == ["clinical", "admin"] and rows["C15"]["kinds"] == ["admin"]
    assert rows["C18"]["reason_kinds"] == ["clinical", "clinical", "admin"]  # score rise, silent, feedback
    assert rows["C23"]["reason_kinds"] == ["clinical"]  # one text says both the rise and the severe band


def test_ranking_puts_clinical_risk_first_then_engagement_then_admin(con):
    frame = attention.needs_attention(con, scope=PRACTICE, today=TODAY)
    assert list(frame["client_id"]) == EXPECTED_ORDER
    assert list(frame["rank"]) == list(range(1, 16))
    assert list(frame["top_kind"]) == ["clinical"] * 11 + ["engagement"] * 3 + ["admin"]
    assert attention.kind_counts(frame) == {"clinical": 11, "engagement": 3, "admin": 3}  # admin: C15, C17, C18
    assert list(attention.of_kind(frame, "admin")["client_id"]) == ["C18", "C17", "C15"]
    assert list(attention.of_kind(frame, "admin")["rank"]) == [3, 13, 15]
    assert list(attention.of_kind(frame, "engagement")["rank"]) == [12, 13, 14]


def test_the_ranked_list_writes_reasons_only_for_the_rows_given_to_it(con):
    ranked = attention.rank_needs_attention(con, scope=PRACTICE, today=TODAY)
    assert list(ranked["client_id"]) == EXPECTED_ORDER and list(ranked["rank"]) == list(range(1, 16))
    assert "reasons" not in ranked.columns and "reason_kinds" not in ranked.columns
    assert attention.kind_counts(ranked) == {"clinical": 11, "engagement": 3, "admin": 3}
    # Rows 2-4 and one kind's rows, written on their own: the same rows as the whole list's, ranks kept.
    whole = attention.needs_attention(con, scope=PRACTICE, today=TODAY)
    some = attention.with_reasons(ranked.iloc[1:4], thresholds=attention.Thresholds(), today=TODAY)
    assert list(some.columns) == attention.COLUMNS
    assert list(some["rank"]) == [2, 3, 4]
    assert some["reasons"].tolist() == whole["reasons"].tolist()[1:4]
    admin = attention.with_reasons(attention.of_kind(ranked, "admin"), thresholds=attention.Thresholds(), today=TODAY)
    assert admin["reasons"].tolist()[0] == ["GAD-7 10 on 2 Mar, up from 6 on 5 Jan (+4; reliable change is 4)",
                                            "No submission for 14 days (the last on 1 Mar)",
                                            "1 submission is waiting for feedback, the oldest for 14 days"]
    assert admin["reason_kinds"].tolist()[0] == ["clinical", "clinical", "admin"]
    assert attention.with_reasons(ranked.iloc[:0], thresholds=attention.Thresholds(), today=TODAY)["reasons"].tolist() == []

def test_reasons_carry_the_clients_own_figures(con):
    rows = listed(con)
    assert rows["C01"]["reasons"] == ["Completion 33% in the last 28 days (2 due)"]
    assert rows["C01"]["recent_completion"] == pytest.approx(1 / 3)
    assert rows["C01"]["recent_due"] == 2
    assert rows["C04"]["reasons"] == ["No submission for 14 days (the last on 1 Mar)"]
    assert rows["C04"]["days_silent"] == 14
    assert rows["C06"]["reasons"] == ["No submission for 30 days (the last on 13 Feb)"]
    assert rows["C07"]["reasons"] == ["No submission yet, 73 days since homework was first set (1 Jan)"]
    assert rows["C08"]["reasons"] == ["The last 3 assignments due were all missed"]
    assert rows["C08"]["missed_streak"] == 3
    assert rows["C10"]["reasons"] == ["Mood falling 1.4 points a week over the last 28 days (95% CI -2.0 to -0.8; 4 ratings)"]
    assert (rows["C10"]["mood_slope_per_week"], rows["C10"]["mood_ci_high"]) == pytest.approx((-1.4, -0.7915), abs=1e-3)
    assert rows["C13"]["reasons"] == ["PHQ-9 14 on 2 Mar, up from 8 on 5 Jan (+6; reliable change is 6)"]
    assert rows["C13"]["phq9_latest"] == 14 and rows["C13"]["status"] == "paused"
    assert rows["C15"]["reasons"] == ["1 submission is waiting for feedback, the oldest for 8 days"]
    assert (rows["C15"]["feedback_waiting"], rows["C15"]["feedback_oldest_days"]) == (1, 8)
    assert rows["C18"]["reasons"] == ["GAD-7 10 on 2 Mar, up from 6 on 5 Jan (+4; reliable change is 4)",
                                      "No submission for 14 days (the last on 1 Mar)",
                                      "1 submission is waiting for feedback, the oldest for 14 days"]
    assert (rows["C18"]["therapist_id"], rows["C18"]["therapist_name"], rows["C18"]["label"]) == ("T2", "Dr Two", "C18 label")
    assert rows["C21"]["reasons"] == ["Mood 4.5 over the last 7 days (2 ratings), 2.5 under their usual 7.0 "
                                      "(median of 7 ratings in 28 days)"]
    assert (rows["C21"]["mood_recent_mean"], rows["C21"]["mood_usual_median"]) == (4.5, 7.0)
    assert (rows["C21"]["mood_recent_n"], rows["C21"]["mood_usual_n"]) == (2, 7)
    # The client: 10 -> 14 -> 16 is +2 on the previous score but +6 on the lowest, and severe.
    assert rows["C23"]["reasons"] == ["GAD-7 16 on 2 Mar, up from 10 on 5 Jan (+6; reliable change is 4); severe band"]
    assert rows["C23"]["gad7_latest"] == 16
    # Better than at the start (12 -> 11), yet 6 above the lowest score so far.
    assert rows["C24"]["reasons"] == ["PHQ-9 11 on 2 Mar, up from 5 on 2 Feb (+6; reliable change is 6)"]
    assert rows["C25"]["reasons"] == ["PHQ-9 20 on 2 Mar; severe band"]


def test_scores_after_today_do_not_count(con):
    con.execute("insert into measures values ('C14', 'PHQ-9', 27, '2026-03-16')")
    assert "C14" not in listed(con)


def assert_client_flags_equal_the_rows(con, clients: list[str], thresholds: Thresholds = DEFAULTS) -> None:
    """client_flags (one client's rows only) gives each client's row of needs_attention, rank aside (1: alone)."""
    rows = listed(con, thresholds=thresholds)
    for client in clients:
        flags = attention.client_flags(con, scope=PRACTICE, client_id=client, today=TODAY, thresholds=thresholds)
        if client not in rows:
            assert flags.empty and list(flags.columns) == attention.COLUMNS, client
            continue
        assert len(flags) == 1 and flags["rank"][0] == 1, client
        ours, theirs = flags.iloc[0].drop("rank").to_dict(), pd.Series(rows[client]).drop("rank").to_dict()
        assert ours.keys() == theirs.keys()
        for column, value in theirs.items():
            assert same(ours[column], value), (client, column, ours[column], value)


def same(a: object, b: object) -> bool:
    """Equal, both missing, or floats equal to 1e-12 (the regression sums of one client add in another order)."""
    if isinstance(a, list) or isinstance(b, list):
        return a == b
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-12 * max(1.0, abs(b))
    return a == b


def test_client_flags_is_one_clients_row(con):
    flags = attention.client_flags(con, scope=PRACTICE, client_id="C23", today=TODAY)
    assert list(flags["client_id"]) == ["C23"] and flags["rule_ids"][0] == ["severe_band", "score_rise"]
    assert attention.client_flags(con, scope=PRACTICE, client_id="C14", today=TODAY).empty
    with pytest.raises(ScopeError):
        attention.client_flags(con, scope=Scope.therapist("T2"), client_id="C23", today=TODAY)
    # every rule (severe band and rise, mood drop, silent, mood falling, missed, low completion, feedback) and a
    # client never listed, with thresholds moved so that clients just inside them are listed too
    clients = ["C23", "C18", "C21", "C10", "C08", "C17", "C19"]
    assert_client_flags_equal_the_rows(con, clients, Thresholds(completion_min_due=1, silent_days=5, missed_in_a_row=2,
                                                       mood_slope_per_week=-1.1, feedback_wait_days=0, phq9_rise=5,
                                                       gad7_rise=3, mood_usual_min_n=4, mood_recent_min_n=1))


def test_a_paused_client_is_never_flagged_as_silent(con):
    con.execute("update clients set status = 'paused' where client_id = 'C04'")
    assert "C04" not in listed(con)


def test_a_client_never_set_homework_is_not_silent(con):
    assert "C14" not in listed(con)  # scores only, no homework


@pytest.mark.parametrize(
    ("thresholds", "client", "rule"),
    [
        (Thresholds(completion_below=0.51), "C02", "low_completion"),  # 50% is under 51%
        (Thresholds(completion_min_due=1), "C03", "low_completion"),  # 0% with 1 due
        (Thresholds(silent_days=13), "C05", "silent"),  # 13 days
        (Thresholds(missed_in_a_row=2), "C09", "missed_in_a_row"),
        (Thresholds(silent_days=5), "C08", "silent"),  # last 03-10
        (Thresholds(mood_slope_per_week=-1.1), "C10", "mood_falling"),
        (Thresholds(feedback_wait_days=6), "C16", "feedback_waiting"),  # 7 days is more than 6
        (Thresholds(phq9_rise=5), "C14", "score_rise"),  # PHQ-9 8 -> 13
        (Thresholds(gad7_rise=3), "C14", "score_rise"),  # GAD-7 5 -> 8
        (Thresholds(phq9_severe_from=13), "C14", "severe_band"),
        (Thresholds(mood_drop_points=2.5), "C21", "mood_drop"),  # exactly 2.5 under
        (Thresholds(mood_usual_min_n=4, mood_recent_min_n=1), "C10", "mood_drop"),  # 4 (03-09): 2 under 6
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
        (Thresholds(silent_days=39), "C09", "silent"),  # 38 days
        (Thresholds(missed_in_a_row=4), "C08", "missed_in_a_row"),
        (Thresholds(mood_slope_per_week=-1.5), "C10", "mood_falling"),  # -1.4 is not at or below -1.5
        (Thresholds(mood_min_n=5), "C10", "mood_falling"),  # 4 ratings
        (Thresholds(mood_window_days=21), "C10", "mood_falling"),  # 02-23..03-15: 3 ratings
        (Thresholds(feedback_wait_days=8), "C15", "feedback_waiting"),  # 8 days is not more than 8
        (Thresholds(feedback_window_days=7), "C15", "feedback_waiting"),
        (Thresholds(phq9_rise=7), "C13", "score_rise"),
        (Thresholds(gad7_rise=7), "C23", "score_rise"),
        (Thresholds(gad7_severe_from=17), "C23", "severe_band"),
        (Thresholds(phq9_severe_from=21), "C25", "severe_band"),
        (Thresholds(mood_drop_points=2.6), "C21", "mood_drop"),
        (Thresholds(mood_recent_min_n=3), "C21", "mood_drop"),
        (Thresholds(mood_usual_min_n=8), "C21", "mood_drop"),
        (Thresholds(mood_recent_days=3), "C21", "mood_drop"),  # 03-13..03-15: one rating
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
    # Active again: its work waits for feedback, and its 03-01 submission is 14 days ago (silent).
    assert listed(con)["C20"]["rule_ids"] == ["silent", "feedback_waiting"]


def test_therapist_scope_never_returns_another_therapists_client(con):
    assert list(attention.needs_attention(con, scope=Scope.therapist("T2"), today=TODAY)["client_id"]) == ["C18", "C17"]
    t1 = attention.needs_attention(con, scope=Scope.therapist("T1"), today=TODAY)
    assert list(t1["client_id"]) == [c for c in EXPECTED_ORDER if c not in {"C17", "C18"}]
    assert set(t1["therapist_id"]) == {"T1"}


def test_an_empty_store_lists_nobody():
    frame = attention.needs_attention(open_store(":memory:"), scope=PRACTICE, today=TODAY)
    assert frame.empty
    assert list(frame.columns) == attention.COLUMNS
    ranked = attention.rank_needs_attention(open_store(":memory:"), scope=PRACTICE, today=TODAY)
    assert ranked.empty and list(ranked.columns) == attention.RANKED_COLUMNS
    assert ranked["n_reasons"].dtype == "int64" and ranked["rule_ids"].dtype == object  # as when rows are listed
    assert attention.kind_counts(ranked) == {"clinical": 0, "engagement": 0, "admin": 0}


def test_rules_are_written_out_with_the_thresholds():
    texts = dict(attention.rule_texts())
    assert list(texts) == ["severe_band", "score_rise", "mood_drop", "silent", "mood_falling", "missed_in_a_row",
                           "low_completion", "feedback_waiting"]
    assert texts["low_completion"] == "Completion under 50% in the last 28 days (with at least 2 assignments due)"
    assert texts["silent"].startswith("No submission in the last 14 days, whatever was due")
    assert "PHQ-9 score is 6 points or more above the previous or the lowest earlier score (GAD-7: 4 points)" in \
        texts["score_rise"]
    assert texts["severe_band"].endswith("PHQ-9 20 or more, GAD-7 15 or more")
    assert "is 2 points or more under the client's usual level, the median of the last 28 days" in texts["mood_drop"]
    assert "falling by 0.5 points a week or more over the last 28 days (at least 4 mood ratings" in texts["mood_falling"]
    custom = dict(attention.rule_texts(Thresholds(completion_below=0.6, completion_window_days=14)))
    assert custom["low_completion"] == "Completion under 60% in the last 14 days (with at least 2 assignments due)"
    kinds = attention.rules_by_kind()
    assert list(kinds) == ["Clinical risk", "Engagement", "Admin"]
    assert [len(texts) for texts in kinds.values()] == [5, 2, 1]


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


# The score rules as they were written in pandas before SCORE_FLAGS decided them in one grouped query: per client with
# a score, the flags, one text per measure with a rule met (in the order of latest_scores' rows) and the latest scores.
def old_score_flags(con, scope: Scope, today: date, t: Thresholds) -> pd.DataFrame:
    scores = outcomes.latest_scores(con, scope=scope, today=today)
    rise = {"PHQ-9": t.phq9_rise, "GAD-7": t.gad7_rise}
    severe = {"PHQ-9": t.phq9_severe_from, "GAD-7": t.gad7_severe_from}
    out = []
    for client, rows in scores.groupby("client_id", sort=False):
        texts, rose_any, severe_any = [], False, False
        for row in rows.to_dict("records"):
            rose = not pd.isna(row["rise_from_best"]) and row["rise_from_best"] >= rise[row["measure"]]
            is_severe = row["latest_score"] >= severe[row["measure"]]
            rose_any, severe_any = rose_any or rose, severe_any or is_severe
            if rose or is_severe:
                text = f"{row['measure']} {int(row['latest_score'])} on {attention._day(row['latest_on'], today)}"
                if rose:
                    text += (f", up from {int(row['best_score'])} on {attention._day(row['best_on'], today)} "
                             f"(+{int(row['rise_from_best'])}; reliable change is {rise[row['measure']]})")
                texts.append(text + ("; severe band" if is_severe else ""))
        latest = dict(zip(rows["measure"], rows["latest_score"], strict=True))
        out.append((client, rose_any, severe_any, texts, latest.get("PHQ-9"), latest.get("GAD-7")))
    return out


SCORES_STORE = open_store(":memory:")  # one store for every example: each empties and refills the measures
SCORES_STORE.execute("insert into therapists values ('T1', 'One', null), ('T2', 'Two', null)")
SCORES_STORE.execute("insert into clients (client_id, therapist_id, label) values ('C0', 'T1', 'Zero'), "
                     "('C1', 'T2', 'One'), ('C2', 'T1', 'Two')")


@settings(max_examples=15, deadline=None)
@given(drawn=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["PHQ-9", "GAD-7"]), st.integers(0, 40),
                                st.integers(0, 27)), max_size=20),
       today_offset=st.integers(0, 45), phq9_rise=st.integers(1, 8), gad7_rise=st.integers(1, 6),
       phq9_severe_from=st.integers(1, 27), gad7_severe_from=st.integers(1, 21))
def test_score_flags_equal_the_pandas_rules(drawn, today_offset, phq9_rise, gad7_rise, phq9_severe_from,
                                            gad7_severe_from) -> None:
    con, start = SCORES_STORE, date(2026, 1, 1)
    con.execute("delete from measures")
    rows = {(f"C{c}", m, start + timedelta(days=d)): min(s, vocabulary.MEASURES[m]) for c, m, d, s in drawn}
    for (client, measure, day), score in rows.items():
        con.execute("insert into measures values (?, ?, ?, ?)", [client, measure, score, day])
    t = replace(DEFAULTS, phq9_rise=phq9_rise, gad7_rise=gad7_rise, phq9_severe_from=phq9_severe_from,
                gad7_severe_from=gad7_severe_from)
    today = start + timedelta(days=today_offset)
    scope = PRACTICE if today_offset % 2 else Scope.therapist("T1")
    new = attention._score_flags(con, scope, today, t).to_dict("records")
    got = sorted((row["client_id"], bool(row["score_rise"]), bool(row["severe_band"]),
                  [attention._score_text(s, t, today) for s in row["scores_met"]] if row["score_rise"]
                  or row["severe_band"] else [],
                  None if pd.isna(row["phq9_latest"]) else int(row["phq9_latest"]),
                  None if pd.isna(row["gad7_latest"]) else int(row["gad7_latest"])) for row in new)
    assert got == sorted(old_score_flags(con, scope, today, t))
    # rank_needs_attention reads the same flags in its one statement: every client in scope, no rule without a score
    joined = attention._figures(con, scope, today, t).set_index("client_id")
    flags = {row["client_id"]: row for row in new}
    assert set(flags) <= set(joined.index)
    for client, row in joined.iterrows():
        mine = flags.get(client)
        assert (row["score_rise"], row["severe_band"]) == ((mine["score_rise"], mine["severe_band"]) if mine else
                                                          (False, False))
        for column in ("phq9_latest", "gad7_latest"):
            assert (None if pd.isna(row[column]) else row[column]) == (
                None if mine is None or pd.isna(mine[column]) else mine[column])
        assert _listed(row["scores_met"]) == (_listed(mine["scores_met"]) if mine is not None else None)


def _listed(value: object) -> list | None:
    """A list column's value as a list, None when it holds none (None, NA or NaN)."""
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else list(value)


MOODS_STORE = open_store(":memory:")  # one store for every example: each empties and refills the submissions
MOODS_STORE.execute("insert into therapists values ('T1', 'One', null), ('T2', 'Two', null)")
MOODS_STORE.execute("insert into clients (client_id, therapist_id, label) values ('C0', 'T1', 'Zero'), "
                    "('C1', 'T2', 'One'), ('C2', 'T1', 'Two')")
MOODS_STORE.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                    "expected_count, status) values ('A0', 'C0', 'journaling', 'T', '2026-01-01', '2026-03-01', 1, "
                    "'active'), ('A1', 'C1', 'journaling', 'T', '2026-01-01', '2026-03-01', 1, 'active'), "
                    "('A2', 'C2', 'journaling', 'T', '2026-01-01', '2026-03-01', 1, 'cancelled')")
moods_drawn = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 31), st.integers(0, 23),  # client, days back, hour
                                 st.none() | st.integers(0, 10), st.none() | st.integers(0, 10)), max_size=30)


@settings(max_examples=15, deadline=None)
@given(drawn=moods_drawn, today_offset=st.integers(20, 45), window=st.integers(1, 30), recent=st.integers(1, 10),
       usual=st.integers(2, 30), offset=st.integers(-12, 14))
def test_mood_figures_equal_the_mood_trends_and_levels(drawn, today_offset, window, recent, usual, offset) -> None:
    con, start = MOODS_STORE, date(2026, 1, 1)
    con.execute("delete from submissions")
    con.execute("delete from settings")
    con.execute("insert into settings values ('timezone', ?)", [f"Etc/GMT{-offset:+d}" if offset else "UTC"])
    today = start + timedelta(days=today_offset)
    for number, (client, days_back, hour, before, after) in enumerate(drawn):  # around the windows' ends
        con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, "
                    "mood_after) values (?, ?, ?::timestamptz, 'completed', ?, ?)",
                    [f"S{number}", f"A{client}", f"{today - timedelta(days=days_back)} {hour:02d}:00:00+00", before,
                     after])
    t = replace(DEFAULTS, mood_window_days=window, mood_recent_days=min(recent, usual - 1), mood_usual_days=usual)
    scope = PRACTICE if today_offset % 2 else Scope.therapist("T1")
    got = attention._mood_figures(con, scope, today, t).set_index("client_id")
    trends = mood.caseload_mood_trends(con, scope=scope, period=Period.last_days(window, today=today), today=today)
    levels = mood.mood_levels(con, scope=scope, today=today, recent_days=t.mood_recent_days, usual_days=usual)
    expected = trends.set_index("client_id").add_prefix("mood_").join(levels.set_index("client_id").add_prefix("mood_"),
                                                                      how="outer")
    assert set(got.index) == set(expected.index)
    for column in ("mood_n", "mood_recent_n", "mood_usual_n"):
        assert list(got[column].reindex(expected.index)) == list(expected[column].fillna(0).astype(int)), column
    for column in ("mood_slope_per_week", "mood_ci_low", "mood_ci_high", "mood_recent_mean", "mood_usual_median"):
        pd.testing.assert_series_equal(got[column].reindex(expected.index).astype(float),
                                       expected[column].astype(float), check_names=False, rtol=1e-9, atol=1e-9)
    # rank_needs_attention reads the same figures in its one statement: every client in scope, zero ratings for those
    # with none
    joined = attention._figures(con, scope, today, t).set_index("client_id")
    assert set(got.index) <= set(joined.index)
    for column in ("mood_n", "mood_recent_n", "mood_usual_n"):
        assert list(joined[column]) == [int(got[column].get(c, 0)) for c in joined.index], column
    for column in ("mood_slope_per_week", "mood_ci_low", "mood_ci_high", "mood_recent_mean", "mood_usual_median"):
        pd.testing.assert_series_equal(joined[column].astype(float), got[column].reindex(joined.index).astype(float),
                                       check_names=False, rtol=1e-9, atol=1e-9)
