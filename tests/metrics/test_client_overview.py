"""One client's headline figures (clients.client_overview, read from the client's own rows) equal
caseload.client_overview's row of that client and mood.client_lift / mood.mood_lifts, on randomised practices; and
attention.client_flags (needs attention, one client's rows only) equals the client's row of attention.needs_attention.

tests/metrics/test_facts.py's generator (four clients of two therapists, active and cancelled homework, credit of
every kind, moods), in time zones from UTC-12 to UTC+14, with feedback written on some submissions (at times after
them, so the feedback figures are not all empty), over periods of 1, 7 and 28 days ending on several dates, as a
therapist and as the practice. A small fixture worked out by hand checks the figures themselves.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.metrics import attention, caseload, clients, mood
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError
from tests.metrics.test_facts import BASE, practice
from tests.metrics.test_one_client_paths import ZONES, store_of

PRACTICE = Scope.practice()


def same(a: object, b: object) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-12 * max(1.0, abs(a))
    return a == b


def assert_rows_equal(con, scope: Scope, client: str, period: Period, today: date) -> None:
    fast = clients.client_overview(con, scope=scope, client_id=client, period=period, today=today)
    assert list(fast["k"]) == [0, 1]
    for k, shown in enumerate((period, period.previous())):
        plain = caseload.client_overview(con, scope=scope, period=shown, today=today)
        expected = plain[plain["client_id"] == client].iloc[0].to_dict()
        row = fast.iloc[k].to_dict()
        for column, value in expected.items():
            assert same(row[column], value), (client, k, column, row[column], value)
        lift = mood.client_lift(con, scope=scope, client_id=client, period=shown, today=today)
        ours = clients.lift_of(row)
        assert ours.n == lift.n
        for a, b in ((ours.mean, lift.mean), (ours.ci_low, lift.ci_low), (ours.ci_high, lift.ci_high)):
            assert (a is None and b is None) or abs(a - b) <= 1e-9, (client, k, ours, lift)
    listed = clients.mood_lifts(con, scope=scope, client_id=client, period=period, today=today)
    assert listed.equals(mood.mood_lifts(con, scope=scope, client_id=client, period=period, today=today))


def assert_flags_equal_the_row(con, client: str, today: date) -> None:
    """attention.client_flags (the client's rows only) equals their row of needs_attention, rank aside."""
    listed = attention.needs_attention(con, scope=PRACTICE, today=today, thresholds=LOOSE)
    flags = attention.client_flags(con, scope=PRACTICE, client_id=client, today=today, thresholds=LOOSE)
    theirs = listed[listed["client_id"] == client]
    assert len(flags) == len(theirs) <= 1, (client, flags, theirs)
    for column in attention.COLUMNS[1:] if len(theirs) else []:
        a, b = flags[column].iloc[0], theirs[column].iloc[0]
        assert a == b if isinstance(b, list) else same(a, b), (client, column, a, b)


# Thresholds every rule of needs_attention can meet in these small practices.
LOOSE = attention.Thresholds(completion_min_due=1, completion_below=0.8, silent_days=5, missed_in_a_row=1, mood_min_n=3,
                             mood_slope_per_week=0.5, feedback_wait_days=0, phq9_rise=2, gad7_rise=2, phq9_severe_from=12,
                             gad7_severe_from=10, mood_drop_points=0.5, mood_recent_min_n=1, mood_usual_min_n=2)
score = st.tuples(st.integers(0, 3), st.sampled_from(["PHQ-9", "GAD-7"]), st.integers(0, 21), st.integers(-60, 10))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=practice, zone=st.sampled_from(ZONES), length=st.sampled_from([1, 7, 28]),
       feedback_every=st.integers(1, 4), scores=st.lists(score, max_size=6))
def test_one_clients_overview_equals_the_caseload_row(data: dict, zone: str, length: int, feedback_every: int,
                                                      scores: list) -> None:
    con = store_of(data, zone)
    try:
        # feedback on some completed or partial submissions, 1-60 hours after them (plain SQL: feedback is no fact)
        con.execute("update submissions set therapist_feedback = 'Well done', "
                    "feedback_at = submitted_at + to_hours(1 + (hash(submission_id) % 60)::integer) "
                    "where hash(submission_id) % ? = 0", [feedback_every])
        for client, measure, value, day in scores:
            con.execute("insert into measures values ('C' || ?, ?, ?, ?) on conflict do nothing",
                        [client, measure, value, BASE + timedelta(days=day)])
        assert_flags_equal_the_row(con, f"C{data['pick'] % 4}", BASE + timedelta(days=data["as_of"][0]))
        for offset in data["as_of"][:2]:
            today = BASE + timedelta(days=offset)
            period = Period.last_days(length, today=today)
            for client in ("C0", "C1", "C2", "C3"):
                assert_rows_equal(con, PRACTICE, client, period, today)
            assert_rows_equal(con, PRACTICE.narrowed_to("T2"), "C3", period, today)
            # a past period (as of its end, not today)
            past = Period(BASE + timedelta(days=offset - 20), BASE + timedelta(days=offset - 6))
            assert_rows_equal(con, PRACTICE, "C1", past, today)
    finally:
        con.close()


HAND = {
    "assignments": [
        # A0: due 2026-03-10 (in the 28 days to 2026-03-15), expected 2; A1: due 2026-03-13, expected 1;
        # A2: due 2026-02-10 (the previous period), expected 2
        {"client": 0, "assigned": -10, "length": 5, "expected": 2, "cancelled": False},
        {"client": 0, "assigned": -3, "length": 1, "expected": 1, "cancelled": False},
        {"client": 0, "assigned": -40, "length": 7, "expected": 2, "cancelled": False},
    ],
    "submissions": [
        {"assignment": 0, "day": -6, "hour": 10, "completion": "completed", "mood": (4, 7)},   # on time: 1
        {"assignment": 0, "day": -2, "hour": 10, "completion": "partial", "mood": (5, 6)},     # late: 0.5
        {"assignment": 1, "day": -1, "hour": 10, "completion": "completed", "mood": None},     # late: 1
        {"assignment": 2, "day": -33, "hour": 10, "completion": "skipped", "mood": None},      # on time: 0
    ],
    "later": [], "as_of": [0, 0], "pick": 0, "zone": "UTC",
}


def test_one_clients_figures_worked_out_by_hand() -> None:
    con = store_of(HAND, "UTC")
    try:
        today = BASE  # 2026-03-15; the period: 2026-02-16 .. 2026-03-15, the previous 2026-01-19 .. 2026-02-15
        rows = clients.client_overview(con, scope=PRACTICE, client_id="C0", period=Period.last_days(28, today=today),
                                       today=today)
        now, before = rows.iloc[0], rows.iloc[1]
        assert (now["due"], now["expected"], now["credit"]) == (2, 3, 2.5)  # A0 1.5 of 2, A1 1 of 1
        assert now["completion_rate"] == pytest.approx(2.5 / 3)
        assert now["on_time_rate"] == pytest.approx(1 / 3)  # only A0's first submission was on time
        assert (before["due"], before["expected"], before["credit"]) == (1, 2, 0.0)
        assert now["previous_completion_rate"] == 0.0
        assert now["last_submission_on"].date() == date(2026, 3, 14)
        assert now["days_since_last_submission"] == 1.0
        assert now["late_submissions"] == 2 and now["median_days_late"] == 2.0  # 3 days (A0) and 1 day (A1) late
        assert now["feedback_coverage"] == 0.0
        # weeks of due dates: 2026-02-09 (A2, 0 of 2: missed), 2026-03-09 (A0 and A1, 2.5 of 3: 83%, met)
        assert now["streak_weeks"] == 1
        assert (now["mood_lift_n"], now["mood_lift_mean"]) == (2, 2.0)  # lifts 3 and 1
        assert before["mood_lift_n"] == 0 and clients.lift_of(before.to_dict()).mean is None
        with pytest.raises(ScopeError):
            clients.client_overview(con, scope=PRACTICE.narrowed_to("T2"), client_id="C0",
                                    period=Period.last_days(28, today=today), today=today)
    finally:
        con.close()
