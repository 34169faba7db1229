"""One client's period week by week (timeline.client_weeks), on a hand-built client.

Today is Wednesday 2026-03-18; the period is the last 28 days, 02-19 (Thursday) .. 03-18. Submissions at
12:00 UTC (the store's time zone), so the calendar date is the day written.

  A1 due 02-20, expected 2: S1 completed 02-19 (mood after 6)          -> week of 02-16: 1 of 2 = 50%
  A2 due 03-04, expected 1: nothing                                    -> week of 03-02: 0 of 1 = 0%
  A3 due 03-17, expected 2: S2 completed 03-16 (mood before 3 only),   -> week of 03-16: 1 of 2 = 50%, so far
                            S3 skipped 03-17                              (the week runs to Sunday 03-22)
  A4 due 03-25 (not due yet): S4 partial 03-10 (mood after 5)          -> week of 03-09: nothing due, 1 submission
  A5 due 02-10, before the period: S5 completed 02-09                  -> counts nowhere

Weeks: 02-16 (days 02-19..02-22: 4), 02-23, 03-02, 03-09, 03-16 (03-16..03-18: 3, so far).
No submission from 02-23 to 03-08: one silent stretch of two weeks.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics.metrics import timeline
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 3, 18)
PERIOD = Period.last_days(28, today=TODAY)


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'One'), ('C2', 'T2', 'Two')")
    con.executemany(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count) "
        "values (?, 'C1', 'journaling', 'Task', '2026-02-01', ?, ?)",
        [("A1", "2026-02-20", 2), ("A2", "2026-03-04", 1), ("A3", "2026-03-17", 2), ("A4", "2026-03-25", 1),
         ("A5", "2026-02-10", 1)])
    con.executemany(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, mood_after) "
        "values (?, ?, cast(? || ' 12:00+00' as timestamptz), ?, ?, ?)",
        [("S1", "A1", "2026-02-19", "completed", None, 6), ("S2", "A3", "2026-03-16", "completed", 3, None),
         ("S3", "A3", "2026-03-17", "skipped", None, None), ("S4", "A4", "2026-03-10", "partial", None, 5),
         ("S5", "A5", "2026-02-09", "completed", None, None)])
    return con


def test_every_week_of_the_period_is_there_with_its_figures(con):
    weeks = timeline.client_weeks(con, scope=Scope.practice(), client_id="C1", period=PERIOD, today=TODAY)
    assert list(weeks["week"]) == [date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9),
                                   date(2026, 3, 16)]
    assert list(weeks["days"]) == [4, 7, 7, 7, 3]
    assert list(weeks["so_far"]) == [False, False, False, False, True]
    assert list(weeks["due"]) == [1, 0, 1, 0, 1]
    assert list(weeks["expected"]) == [2, 0, 1, 0, 2]
    assert weeks["completion_rate"].tolist() == pytest.approx([0.5, float("nan"), 0.0, float("nan"), 0.5], nan_ok=True)
    assert list(weeks["submissions"]) == [1, 0, 0, 1, 2]
    assert list(weeks["done"]) == [1, 0, 0, 1, 1]
    assert weeks["mood_mean"].tolist() == pytest.approx([6, float("nan"), float("nan"), 5, 3], nan_ok=True)
    assert list(weeks["mood_n"]) == [1, 0, 0, 1, 1]


def test_silent_stretches_are_the_weeks_without_a_submission(con):
    weeks = timeline.client_weeks(con, scope=Scope.practice(), client_id="C1", period=PERIOD, today=TODAY)
    assert timeline.silent_stretches(weeks) == [(date(2026, 2, 23), date(2026, 3, 8))]
    # A silent run that reaches the end of the period ends on its as-of date; three days (03-16..03-18) are no
    # silence yet, a week or more is.
    tail = pd.DataFrame({"first_day": [date(2026, 3, 9), date(2026, 3, 16)], "last_day": [date(2026, 3, 15), TODAY],
                         "submissions": [1, 0]})
    assert timeline.silent_stretches(tail) == []
    assert timeline.silent_stretches(tail, min_days=3) == [(date(2026, 3, 16), TODAY)]
    longer = tail.assign(submissions=[0, 0])
    assert timeline.silent_stretches(longer) == [(date(2026, 3, 9), TODAY)]


def test_the_week_so_far_is_the_as_of_week_unless_it_has_ended():
    assert timeline.week_so_far(PERIOD, TODAY) == date(2026, 3, 16)  # Wednesday
    # A period that ended mid-week (03-18) counts its last week only that far, so it is partial too.
    assert timeline.week_so_far(PERIOD, date(2026, 3, 22)) == date(2026, 3, 16)
    assert timeline.week_so_far(Period.last_days(7, today=date(2026, 3, 22)), date(2026, 3, 22)) is None  # Sunday


def test_a_sunday_ends_the_week_so_nothing_is_so_far(con):
    sunday = date(2026, 3, 22)
    weeks = timeline.client_weeks(con, scope=Scope.practice(), client_id="C1",
                                  period=Period.last_days(7, today=sunday), today=sunday)
    assert list(weeks["week"]) == [date(2026, 3, 16)] and list(weeks["so_far"]) == [False]
    assert list(weeks["days"]) == [7]


def test_a_client_outside_the_scope_is_refused(con):
    with pytest.raises(ScopeError):
        timeline.client_weeks(con, scope=Scope.therapist("T2"), client_id="C1", period=PERIOD, today=TODAY)
