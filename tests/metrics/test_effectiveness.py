"""Effectiveness by type and the homework-outcome association, checked on hand-worked fixtures.

by_type fixture. Period 2026-03-02 (Mon) .. 2026-03-15, today 2026-03-15. Submissions at 10:00 UTC.

  T1: C1 Robin, C2 Sam    T2: C3 Kai

  M1 C1 mindfulness due 03-07 exp 3   S1 completed 03-03 lift +1 q4
                                      S2 completed 03-05 lift +2 q3
                                      S3 partial   03-06 lift +2 q3     credit 2.5, on time 2.5
  M2 C2 mindfulness due 03-10 exp 2   S4 completed 03-09 lift +3 q2
                                      S5 completed 03-12 (late) lift +2 q3  credit 2, on time 1
  J0 C1 journaling  due 03-01 exp 1   S9 completed 03-02 lift +1 q2     (due before the period: no
                                      completion figure, but made in the period: its lift and quality count)
  J1 C1 journaling  due 03-12 exp 2   S6 completed 03-11 lift +4 q4
                                      S7 skipped   03-12 (no mood, no quality)
                                      S8 completed 03-16 lift +5 q4     (after today: nowhere)
  X1 C1 creative    due 03-08 exp 1   CANCELLED; S10 completed 03-05 lift +5 q4 (counts nowhere)
  B1 C3 behavioural due 03-20 exp 1   S11 completed 03-14 lift +1 q1    (not due yet: lift and quality count)
  N1 C3 narrative   due 03-14 exp 1   nothing submitted                 credit 0

  mindfulness: due 2, expected 5, credit 4.5 -> 0.9; on time 3.5 / 5 = 0.7.
      lifts 1, 2, 2, 3, 2: n 5, mean 2, sd = sqrt((1 + 0 + 0 + 1 + 0) / 4) = 0.70711;
      t(4) = 2.776445, half width = 2.776445 * 0.70711 / sqrt(5) = 0.87798 -> 1.12202 .. 2.87798.
      quality 4, 3, 3, 2, 3: n 5, mean 3.
  journaling: due 1 (J1), expected 2, credit 1 -> 0.5, on time 0.5; lifts S6 +4, S9 +1: n 2 (not enough);
      quality 4, 2: n 2 (not enough).
  behavioural: nothing due (rates empty); lift n 1, quality n 1.
  narrative: due 1, expected 1, credit 0 -> 0; no lifts.
  creative: only the cancelled X1 -> no row.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from analytics.metrics import effectiveness
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 3, 15)
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 15))
PRACTICE = Scope.practice()


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values "
                "('C1', 'T1', 'Robin'), ('C2', 'T1', 'Sam'), ('C3', 'T2', 'Kai')")
    con.execute(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
        "expected_count, status) values "
        "('M1', 'C1', 'mindfulness', 'Breathing', '2026-03-01', '2026-03-07', 3, 'active'), "
        "('M2', 'C2', 'mindfulness', 'Body scan', '2026-03-02', '2026-03-10', 2, 'active'), "
        "('J0', 'C1', 'journaling', 'Diary', '2026-02-25', '2026-03-01', 1, 'active'), "
        "('J1', 'C1', 'journaling', 'Thought record', '2026-03-05', '2026-03-12', 2, 'active'), "
        "('X1', 'C1', 'creative', 'Collage', '2026-03-01', '2026-03-08', 1, 'cancelled'), "
        "('B1', 'C3', 'behavioural', 'Walk', '2026-03-10', '2026-03-20', 1, 'active'), "
        "('N1', 'C3', 'narrative', 'Letter', '2026-03-07', '2026-03-14', 1, 'active')"
    )
    rows = [
        ("S1", "M1", "03-03", "completed", 4, 3, 4), ("S2", "M1", "03-05", "completed", 3, 3, 5),
        ("S3", "M1", "03-06", "partial", 3, 4, 6), ("S4", "M2", "03-09", "completed", 2, 2, 5),
        ("S5", "M2", "03-12", "completed", 3, 5, 7), ("S9", "J0", "03-02", "completed", 2, 5, 6),
        ("S6", "J1", "03-11", "completed", 4, 2, 6), ("S7", "J1", "03-12", "skipped", None, None, None),
        ("S8", "J1", "03-16", "completed", 4, 1, 6), ("S10", "X1", "03-05", "completed", 4, 1, 6),
        ("S11", "B1", "03-14", "completed", 1, 5, 6),
    ]
    con.executemany(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, quality, mood_before, "
        "mood_after) values (?, ?, ?::timestamptz, ?, ?, ?, ?)",
        [(sid, aid, f"2026-{day} 10:00:00+00", completion, q, before, after)
         for sid, aid, day, completion, q, before, after in rows],
    )
    return con


def by_key(frame):
    return {row["assignment_type"]: row for row in frame.to_dict("records")}


def is_nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_by_type_hand_worked_figures(con):
    frame = effectiveness.by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY)
    assert list(frame.columns) == effectiveness.BY_TYPE_COLUMNS
    # canonical order; creative (only cancelled homework) has no row
    assert list(frame["assignment_type"]) == ["journaling", "behavioural", "mindfulness", "narrative"]
    rows = by_key(frame)

    m = rows["mindfulness"]
    assert m["type_label"] == "Mindfulness & meditation"
    assert (m["due"], m["expected"], m["credit"]) == (2, 5, 4.5)
    assert m["completion_rate"] == pytest.approx(0.9)
    assert m["on_time_rate"] == pytest.approx(0.7)
    assert (m["mood_lift_n"], m["enough_mood_data"]) == (5, True)
    assert m["mood_lift_mean"] == pytest.approx(2.0)
    assert m["mood_lift_ci_low"] == pytest.approx(1.12202, abs=1e-4)
    assert m["mood_lift_ci_high"] == pytest.approx(2.87798, abs=1e-4)
    assert (m["quality_n"], m["enough_quality_data"]) == (5, True)
    assert m["quality_mean"] == pytest.approx(3.0)


def test_means_under_five_observations_are_not_numbers(con):
    rows = by_key(effectiveness.by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY))
    j = rows["journaling"]
    assert (j["due"], j["expected"], j["credit"]) == (1, 2, 1)
    assert j["completion_rate"] == pytest.approx(0.5)
    assert j["on_time_rate"] == pytest.approx(0.5)
    # two lifts (+4, +1) and two ratings (4, 2): n shown, means hidden
    assert (j["mood_lift_n"], j["quality_n"]) == (2, 2)
    assert not j["enough_mood_data"] and not j["enough_quality_data"]
    for column in ("mood_lift_mean", "mood_lift_ci_low", "mood_lift_ci_high", "quality_mean"):
        assert is_nan(j[column]), column


def test_nothing_due_gives_empty_rates_not_zero(con):
    rows = by_key(effectiveness.by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY))
    b = rows["behavioural"]
    assert (b["due"], b["expected"], b["mood_lift_n"], b["quality_n"]) == (0, 0, 1, 1)
    assert is_nan(b["completion_rate"]) and is_nan(b["on_time_rate"])
    n = rows["narrative"]
    assert (n["due"], n["expected"], n["completion_rate"], n["on_time_rate"], n["mood_lift_n"]) == (1, 1, 0, 0, 0)


def test_one_client(con):
    frame = effectiveness.by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY, client_id="C1")
    rows = by_key(frame)
    assert list(rows) == ["journaling", "mindfulness"]
    # M1 only: expected 3, credit 2.5, on time 2.5; lifts +1 +2 +2 (n 3: not enough)
    m = rows["mindfulness"]
    assert (m["expected"], m["credit"], m["mood_lift_n"]) == (3, 2.5, 3)
    assert m["completion_rate"] == pytest.approx(2.5 / 3)
    assert is_nan(m["mood_lift_mean"])


def test_scope_limits_rows_and_refuses_other_clients(con):
    t2 = Scope.therapist("T2")
    assert list(effectiveness.by_type(con, scope=t2, period=PERIOD, today=TODAY)["assignment_type"]) == [
        "behavioural", "narrative"]
    with pytest.raises(ScopeError):
        effectiveness.by_type(con, scope=t2, period=PERIOD, today=TODAY, client_id="C1")


def test_a_past_period_ignores_later_work(con):
    # As of 03-08 (period 03-02..03-08): due M1 only (credit 2.5 of 3); lifts S9 (J0) +1, S1 +1, S2 +2,
    # S3 +2 and nothing later.
    frame = effectiveness.by_type(con, scope=PRACTICE, period=Period(date(2026, 3, 2), date(2026, 3, 8)), today=TODAY)
    rows = by_key(frame)
    assert rows["mindfulness"]["expected"] == 3
    assert rows["mindfulness"]["mood_lift_n"] == 3
    assert rows["journaling"]["due"] == 0 and rows["journaling"]["mood_lift_n"] == 1


# ---------------------------------------------------------------------------------------------
# Completion and outcome change
# ---------------------------------------------------------------------------------------------
#
# Period 03-01 .. 03-31, today 03-31. T1: O1..O5, O6, O7; T2: O8.
# O1..O5 each have one journaling assignment due 03-10, expected 5, with 1..5 completed submissions:
# completion x = 0.2, 0.4, 0.6, 0.8, 1.0. PHQ-9 on 03-02 and 03-30: 15 -> 15, 14, 12, 13, 10:
# change y = 0, -1, -3, -2, -5.
#   mean x 0.6, mean y -2.2; Sxx = 0.16 + 0.04 + 0 + 0.04 + 0.16 = 0.4;
#   Syy = 4.84 + 1.44 + 0.64 + 0.04 + 7.84 = 14.8; Sxy = -0.88 - 0.24 + 0 + 0.04 - 1.12 = -2.2
#   r = -2.2 / sqrt(0.4 * 14.8) = -2.2 / 2.433105 = -0.904194
#   Fisher: z = atanh(r) = -1.494745, half = 1.959964 / sqrt(2) = 1.385904
#   interval tanh(-2.880649) .. tanh(-0.108841) = -0.993728 .. -0.108414
#   slope = Sxy / Sxx = -5.5, intercept = -2.2 + 5.5 * 0.6 = 1.1
# Left out: O6 (one PHQ-9 in the period, one before it), O7 (two scores, nothing due: its homework is
# due 04-05), O8 in T2's caseload (counts for the practice only). O1 also has GAD-7 scores: for GAD-7
# there is one client, not enough for an association.


@pytest.fixture
def outcome_con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    clients = [(f"O{i}", "T1" if i < 8 else "T2", f"Client {i}") for i in range(1, 9)]
    con.executemany("insert into clients (client_id, therapist_id, label) values (?, ?, ?)", clients)
    for i in range(1, 9):
        due = "2026-04-05" if i == 7 else "2026-03-10"
        con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                    "expected_count) values (?, ?, 'journaling', 'Diary', '2026-03-01', ?, 5)", [f"A{i}", f"O{i}", due])
        done = min(i, 5)
        con.executemany(
            "insert into submissions (submission_id, assignment_id, submitted_at, completion) "
            "values (?, ?, ?::timestamptz, 'completed')",
            [(f"S{i}-{k}", f"A{i}", f"2026-03-0{k + 2} 10:00:00+00") for k in range(done)],
        )
    latest = {1: 15, 2: 14, 3: 12, 4: 13, 5: 10, 7: 9, 8: 20}
    scores = [(f"O{i}", "PHQ-9", 15, "2026-03-02") for i in latest] + \
             [(f"O{i}", "PHQ-9", s, "2026-03-30") for i, s in latest.items()]
    scores += [("O6", "PHQ-9", 18, "2026-02-10"), ("O6", "PHQ-9", 9, "2026-03-20"),
               ("O1", "GAD-7", 12, "2026-03-02"), ("O1", "GAD-7", 6, "2026-03-30")]
    con.executemany("insert into measures values (?, ?, ?, ?::date)", scores)
    return con


OUTCOME_PERIOD = Period(date(2026, 3, 1), date(2026, 3, 31))


def test_association_hand_worked(outcome_con):
    result = effectiveness.adherence_outcome(outcome_con, scope=Scope.therapist("T1"), period=OUTCOME_PERIOD,
                                             today=date(2026, 3, 31), measure="PHQ-9")
    assert result.n == 5
    points = result.points
    assert list(points.columns) == ["client_id", "label", "completion_rate", "change"]
    assert list(points["client_id"]) == ["O1", "O2", "O3", "O4", "O5"]
    assert list(points["completion_rate"]) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert list(points["change"]) == [0, -1, -3, -2, -5]
    assert result.r == pytest.approx(-0.904194, abs=1e-5)
    assert result.ci_low == pytest.approx(-0.993728, abs=1e-5)
    assert result.ci_high == pytest.approx(-0.108414, abs=1e-5)
    assert result.slope == pytest.approx(-5.5)
    assert result.intercept == pytest.approx(1.1)
    assert result.wording == (
        "Clients who completed more homework tended to improve more on PHQ-9 "
        "(r = \u22120.90, 95% CI \u22120.99 to \u22120.11, n = 5). "
        "This is an association, not proof that homework caused the change.")


def test_association_for_the_practice_adds_the_other_therapists_client(outcome_con):
    result = effectiveness.adherence_outcome(outcome_con, scope=PRACTICE, period=OUTCOME_PERIOD,
                                             today=date(2026, 3, 31), measure="PHQ-9")
    # O8: completion 1.0 (5 of 5), change +5
    assert result.n == 6
    assert result.points.set_index("client_id").loc["O8", "change"] == 5
    assert "association, not proof" in result.wording


def test_too_few_clients_say_not_enough_data(outcome_con):
    result = effectiveness.adherence_outcome(outcome_con, scope=PRACTICE, period=OUTCOME_PERIOD,
                                             today=date(2026, 3, 31), measure="GAD-7")
    assert result.n == 1
    assert (result.r, result.ci_low, result.ci_high) == (None, None, None)
    assert result.wording.startswith("Not enough data: 1 client had homework due and two GAD-7 scores")


def test_scores_after_the_as_of_date_do_not_count(outcome_con):
    # As of 03-20 the 03-30 scores are in the future: nobody has two scores yet.
    result = effectiveness.adherence_outcome(outcome_con, scope=PRACTICE, period=OUTCOME_PERIOD,
                                             today=date(2026, 3, 20), measure="PHQ-9")
    assert result.n == 0 and result.points.empty


def test_an_unknown_measure_is_refused(outcome_con):
    with pytest.raises(ValueError, match="measure"):
        effectiveness.adherence_outcome(outcome_con, scope=PRACTICE, period=OUTCOME_PERIOD,
                                        today=date(2026, 3, 31), measure="BDI")


def test_correlation_interval_and_wording_rules():
    # n = 4: half width 1.959964 / 1 around atanh(0.5) = 0.549306 -> tanh(-1.410658), tanh(2.509270)
    low, high = effectiveness.correlation_interval(0.5, 4)
    assert (low, high) == pytest.approx((-0.887, 0.987), abs=1e-3)
    assert effectiveness.correlation_interval(0.5, 3) is None
    text = effectiveness.association_wording("GAD-7", 0.5, (low, high), 4)
    assert text.startswith("There was no clear association") and "n = 4" in text
    assert "improve less" in effectiveness.association_wording("PHQ-9", 0.4, (0.1, 0.6), 40)
    assert "very slightly more" in effectiveness.association_wording("PHQ-9", -0.05, (-0.08, -0.02), 4000)
