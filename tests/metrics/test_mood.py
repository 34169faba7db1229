"""Mood series, lifts and trends, checked on a hand-worked fixture.

Period 2026-03-02 (Mon) .. 2026-03-29, today 2026-03-20, so figures are as of 03-20. Times are
10:00 UTC (the practice's zone) unless said otherwise; "mood" = mood_after, else mood_before.

  T1: C1, C2, C4    T2: C3, C5

  C1  A1 journaling active   S1  03-01 1->2   (before the period)
                             S2  03-02 4->6   mood 6, lift +2
                             S5  03-09 5->8   mood 8, lift +3
                             S8  03-21 2->3   (after as of)
      A2 mindfulness active  S3  03-02 5->.   mood 5 (before only), no lift
                             S4  03-05 .->.   no mood
                             S9  03-08 .->3   mood 3 (after only), no lift
                             S7  03-12 6->7   mood 7, lift +1
      A3 behavioural CANCELLED S6 03-10 3->4  mood 4, lift +1 (a mood; never in lift_by_type)
  C2  A4 journaling          S10 03-04 no moods at all
  C3  A5 creative            S11 03-03 1->2, S12 03-04 2->4, S13 03-05 3->6: lifts 1, 2, 3; moods 2, 4, 6
  C4  A6 narrative           S14 03-02 4->., S15 03-09 5->., S16 03-16 7->.: before only
  C5  A7 other               S17-S19 all on 03-06 (01:00, 05:00, 09:00), moods 5, 6, 7
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from analytics.metrics import mood
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 3, 20)
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 29))
PRACTICE = Scope.practice()
T1 = Scope.therapist("T1")


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute(
        "insert into clients (client_id, therapist_id, label) values "
        "('C1', 'T1', 'Robin'), ('C2', 'T1', 'Sam'), ('C3', 'T2', 'Kai'), ('C4', 'T1', 'Ash'), ('C5', 'T2', 'Jo')"
    )
    con.execute(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
        "expected_count, status) values "
        "('A1', 'C1', 'journaling', 'Thought record', '2026-03-01', '2026-03-14', 3, 'active'), "
        "('A2', 'C1', 'mindfulness', 'Breathing', '2026-03-01', '2026-03-14', 7, 'active'), "
        "('A3', 'C1', 'behavioural', 'Walk', '2026-03-01', '2026-03-14', 1, 'cancelled'), "
        "('A4', 'C2', 'journaling', 'Sleep diary', '2026-03-01', '2026-03-14', 1, 'active'), "
        "('A5', 'C3', 'creative', 'Collage', '2026-03-01', '2026-03-14', 3, 'active'), "
        "('A6', 'C4', 'narrative', 'Letter', '2026-03-01', '2026-03-20', 3, 'active'), "
        "('A7', 'C5', 'other', 'Plan', '2026-03-01', '2026-03-14', 3, 'active')"
    )
    con.execute(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, mood_after) values "
        "('S1', 'A1', '2026-03-01 10:00:00+00', 'completed', 1, 2), "
        "('S2', 'A1', '2026-03-02 10:00:00+00', 'completed', 4, 6), "
        "('S3', 'A2', '2026-03-02 10:00:00+00', 'completed', 5, null), "
        "('S4', 'A2', '2026-03-05 10:00:00+00', 'completed', null, null), "
        "('S5', 'A1', '2026-03-09 10:00:00+00', 'completed', 5, 8), "
        "('S6', 'A3', '2026-03-10 10:00:00+00', 'completed', 3, 4), "
        "('S7', 'A2', '2026-03-12 10:00:00+00', 'partial', 6, 7), "
        "('S8', 'A1', '2026-03-21 10:00:00+00', 'completed', 2, 3), "
        "('S9', 'A2', '2026-03-08 10:00:00+00', 'completed', null, 3), "
        "('S10', 'A4', '2026-03-04 10:00:00+00', 'completed', null, null), "
        "('S11', 'A5', '2026-03-03 10:00:00+00', 'completed', 1, 2), "
        "('S12', 'A5', '2026-03-04 10:00:00+00', 'completed', 2, 4), "
        "('S13', 'A5', '2026-03-05 10:00:00+00', 'completed', 3, 6), "
        "('S14', 'A6', '2026-03-02 10:00:00+00', 'completed', 4, null), "
        "('S15', 'A6', '2026-03-09 10:00:00+00', 'completed', 5, null), "
        "('S16', 'A6', '2026-03-16 10:00:00+00', 'completed', 7, null), "
        "('S17', 'A7', '2026-03-06 01:00:00+00', 'completed', 5, null), "
        "('S18', 'A7', '2026-03-06 05:00:00+00', 'completed', 6, null), "
        "('S19', 'A7', '2026-03-06 09:00:00+00', 'completed', 7, null)"
    )
    return con


def days(frame, column):
    return [str(value)[:10] for value in frame[column]]


def test_daily_mood_falls_back_to_mood_before_and_keeps_to_the_period(con):
    daily = mood.daily_mood(con, scope=PRACTICE, client_id="C1", period=PERIOD, today=TODAY)
    # S1 is before the period, S8 after as of, S4 has no mood; S6 (cancelled assignment) is still a mood.
    assert days(daily, "day") == ["2026-03-02", "2026-03-08", "2026-03-09", "2026-03-10", "2026-03-12"]
    # 03-02: S2 mood 6 and S3 mood 5 (before only) -> 5.5 over 2.
    assert list(daily["mood_mean"]) == pytest.approx([5.5, 3, 8, 4, 7])
    assert list(daily["n"]) == [2, 1, 1, 1, 1]


def test_rolling_mean_weighs_each_rating_over_the_seven_days_ending_that_day(con):
    daily = mood.daily_mood(con, scope=PRACTICE, client_id="C1", period=PERIOD, today=TODAY)
    # 03-02: 6, 5                    -> 5.5     (2)
    # 03-08: 03-02..03-08: 6, 5, 3   -> 14/3    (3)  (per day it would be 4.25: ratings, not days, count)
    # 03-09: 03-03..03-09: 3, 8      -> 5.5     (2)  (03-02 is 7 days back: out)
    # 03-10: 03-04..03-10: 3, 8, 4   -> 5       (3)
    # 03-12: 03-06..03-12: 3, 8, 4, 7 -> 5.5    (4)
    assert list(daily["rolling_7d"]) == pytest.approx([5.5, 14 / 3, 5.5, 5, 5.5])
    assert list(daily["n_7d"]) == [2, 3, 2, 3, 4]


def test_weekly_mood_uses_the_monday_of_the_submission_date(con):
    weekly = mood.weekly_mood(con, scope=PRACTICE, client_id="C1", period=PERIOD, today=TODAY)
    # Week of Mon 03-02: 6, 5, 3 (Sun 03-08); week of 03-09: 8, 4, 7.
    assert days(weekly, "week") == ["2026-03-02", "2026-03-09"]
    assert list(weekly["mood_mean"]) == pytest.approx([14 / 3, 19 / 3])
    assert list(weekly["n"]) == [3, 3]


def test_a_client_without_mood_data_gets_empty_frames_and_no_trend(con):
    args = {"scope": PRACTICE, "client_id": "C2", "period": PERIOD, "today": TODAY}
    assert mood.daily_mood(con, **args).empty
    assert mood.weekly_mood(con, **args).empty
    assert mood.mood_lifts(con, **args).empty
    assert mood.lift_by_type(con, scope=PRACTICE, client_id="C2", period=PERIOD, today=TODAY).empty
    assert mood.mood_trend(con, **args) == mood.MoodTrend(None, None, None, 0, None, None)


def test_mood_lifts_lists_submissions_with_both_moods(con):
    lifts = mood.mood_lifts(con, scope=PRACTICE, client_id="C1", period=PERIOD, today=TODAY)
    # S2 +2, S5 +3, S6 +1 (cancelled, still the client's lift), S7 +1; S3 and S9 have one mood only.
    assert list(lifts["mood_lift"]) == [2, 3, 1, 1]
    assert list(lifts["title"]) == ["Thought record", "Thought record", "Walk", "Breathing"]
    assert str(lifts["submitted_at"].iloc[0]) == "2026-03-02 10:00:00"
    assert list(lifts.columns) == ["submitted_at", "title", "assignment_type", "mood_before", "mood_after", "mood_lift"]


def test_lift_by_type_with_its_interval(con):
    types = mood.lift_by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY).set_index("assignment_type")
    # behavioural (S6) is cancelled: no row. C4 and C5 have before-only moods: no lifts.
    assert list(types.index) == ["creative", "journaling", "mindfulness"]
    # creative (C3): lifts 1, 2, 3 -> mean 2, sd 1; t(2) = 4.3027, half = 4.3027 / sqrt(3) = 2.4841.
    creative = types.loc["creative"]
    assert (creative["n"], creative["mean_lift"], creative["sd"]) == (3, pytest.approx(2), pytest.approx(1))
    assert (creative["ci_low"], creative["ci_high"]) == pytest.approx((-0.4841, 4.4841), abs=1e-3)
    # journaling (C1): 2, 3 -> mean 2.5, sd 0.7071; half = 12.7062 * 0.7071 / sqrt(2) = 6.3531.
    assert (types.loc["journaling", "ci_low"], types.loc["journaling", "ci_high"]) == pytest.approx(
        (2.5 - 6.3531, 2.5 + 6.3531), abs=1e-3)
    # mindfulness: S7 alone -> no interval.
    mindfulness = types.loc["mindfulness"]
    assert mindfulness["n"] == 1 and mindfulness["mean_lift"] == pytest.approx(1)
    assert math.isnan(mindfulness["ci_low"]) and math.isnan(mindfulness["ci_high"])


def test_lift_by_type_for_one_client_and_one_type(con):
    one_client = mood.lift_by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY, client_id="C1")
    assert list(one_client["assignment_type"]) == ["journaling", "mindfulness"]
    one_type = mood.lift_by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY, assignment_type="creative")
    assert list(one_type["assignment_type"]) == ["creative"]
    assert mood.lift_by_type(con, scope=PRACTICE, period=PERIOD, today=TODAY, assignment_type="art").empty


def test_mood_trend_by_hand(con):
    trend = mood.mood_trend(con, scope=PRACTICE, client_id="C4", period=PERIOD, today=TODAY)
    # Moods 4, 5, 7 (before only) at weeks 0, 1, 2 (+10 h): x mean 1, y mean 16/3.
    # Sxy = (-1)(4 - 16/3) + (1)(7 - 16/3) = 3, Sxx = 2 -> slope 1.5 a week.
    # Syy = 16/9 + 1/9 + 25/9 = 14/3; residual = 14/3 - 1.5 * 3 = 1/6; se = sqrt(1/6 / 1 / 2) = 0.28868;
    # t(1) = 12.7062 -> half 3.6680.
    assert trend.slope_per_week == pytest.approx(1.5)
    assert (trend.ci_low, trend.ci_high) == pytest.approx((1.5 - 3.6680, 1.5 + 3.6680), abs=1e-3)
    assert (trend.n, trend.first_day, trend.last_day) == (3, date(2026, 3, 2), date(2026, 3, 16))


def test_mood_trend_on_a_straight_line_has_no_spread(con):
    # C3: moods 2, 4, 6 on consecutive days: 2 a day = 14 a week, residual 0 -> the interval is the slope.
    trend = mood.mood_trend(con, scope=PRACTICE, client_id="C3", period=PERIOD, today=TODAY)
    assert (trend.slope_per_week, trend.ci_low, trend.ci_high) == pytest.approx((14, 14, 14))


def test_no_trend_below_three_ratings_or_on_one_day(con):
    # As of 03-10 C4 has two ratings (03-02, 03-09).
    short = Period(date(2026, 3, 2), date(2026, 3, 10))
    two = mood.mood_trend(con, scope=PRACTICE, client_id="C4", period=short, today=TODAY)
    assert (two.slope_per_week, two.ci_high, two.n) == (None, None, 2)
    # C5: three ratings, all on 03-06.
    one_day = mood.mood_trend(con, scope=PRACTICE, client_id="C5", period=PERIOD, today=TODAY)
    assert (one_day.slope_per_week, one_day.ci_low, one_day.n) == (None, None, 3)
    assert one_day.first_day == one_day.last_day == date(2026, 3, 6)


def test_caseload_trends_match_the_one_client_trend(con):
    trends = mood.caseload_mood_trends(con, scope=PRACTICE, period=PERIOD, today=TODAY).set_index("client_id")
    # C2 has no mood; C5 has no line (one day).
    assert list(trends.index) == ["C1", "C3", "C4", "C5"]
    assert trends.loc["C4", "slope_per_week"] == pytest.approx(1.5)
    assert trends.loc["C4", "ci_high"] == pytest.approx(5.1680, abs=1e-3)
    assert trends.loc["C3", "n"] == 3
    assert math.isnan(trends.loc["C5", "slope_per_week"])
    c1 = mood.mood_trend(con, scope=PRACTICE, client_id="C1", period=PERIOD, today=TODAY)
    assert trends.loc["C1", "slope_per_week"] == pytest.approx(c1.slope_per_week)
    assert trends.loc["C1", "ci_low"] == pytest.approx(c1.ci_low)
    assert trends.loc["C1", "n"] == c1.n == 6


ONE_CLIENT = [mood.daily_mood, mood.weekly_mood, mood.mood_lifts, mood.mood_trend]


@pytest.mark.parametrize("function", ONE_CLIENT, ids=lambda f: f.__name__)
def test_one_client_functions_refuse_another_therapists_client(con, function):
    with pytest.raises(ScopeError):
        function(con, scope=T1, client_id="C3", period=PERIOD, today=TODAY)


def test_lift_by_type_keeps_to_the_scope(con):
    with pytest.raises(ScopeError):
        mood.lift_by_type(con, scope=T1, period=PERIOD, today=TODAY, client_id="C3")
    # creative is C3's (T2) only.
    types = mood.lift_by_type(con, scope=T1, period=PERIOD, today=TODAY)
    assert list(types["assignment_type"]) == ["journaling", "mindfulness"]
    assert list(types["n"]) == [2, 1]


def test_caseload_trends_keep_to_the_scope(con):
    trends = mood.caseload_mood_trends(con, scope=T1, period=PERIOD, today=TODAY)
    assert list(trends["client_id"]) == ["C1", "C4"]


def test_client_lift_summarises_the_same_submissions_as_mood_lifts():
    # Lifts +1, +2, +3 for one client: mean 2, sd 1, n 3; interval 2 ± 4.303 × 1 / √3 = 2 ± 2.484.
    from datetime import date

    from analytics.metrics.mood import client_lift
    from analytics.store.database import open_store
    from analytics.store.period import Period
    from analytics.store.scope import Scope

    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'One', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'C1'), ('C2', 'T1', 'C2')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('A1', 'C1', 'journaling', 'x', '2026-03-01', '2026-03-07'), "
                "('A2', 'C2', 'journaling', 'y', '2026-03-01', '2026-03-07')")
    con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, mood_after) "
                "values ('S1', 'A1', '2026-03-02 10:00+00', 'completed', 3, 4), "
                "('S2', 'A1', '2026-03-03 10:00+00', 'completed', 3, 5), "
                "('S3', 'A1', '2026-03-04 10:00+00', 'completed', 3, 6), "
                "('S4', 'A2', '2026-03-04 10:00+00', 'completed', 1, 9)")
    period = Period(date(2026, 3, 1), date(2026, 3, 7))
    lift = client_lift(con, scope=Scope.practice(), client_id="C1", period=period, today=date(2026, 3, 7))
    assert (lift.mean, lift.n) == (pytest.approx(2.0), 3)
    assert (lift.ci_low, lift.ci_high) == (pytest.approx(2 - 2.4843, abs=1e-3), pytest.approx(2 + 2.4843, abs=1e-3))
    none = client_lift(con, scope=Scope.practice(), client_id="C1", period=Period(date(2026, 4, 1), date(2026, 4, 7)),
                       today=date(2026, 4, 7))
    assert (none.mean, none.n, none.ci_low) == (None, 0, None)
