"""A client's streak (caseload.weekly_streaks) looks at the latest weeks first and at a client's earlier weeks only
when none of the latest is under the threshold; the streaks must be those of STREAKS over every week, the definition,
whichever week it starts looking from."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics import caseload
from analytics.store.database import open_store

MONDAY = date(2026, 1, 5)
CLIENTS = 4

# The definition: every client-week grouped, then STREAKS.
EVERY_WEEK = """
with weekly as (
    select client_id, week, sum(credit)::double / sum(expected_count) >= $streak_threshold as met
    from due_rows
    group by client_id, week
),
streaks as (""" + caseload.STREAKS + """)
select * from streaks order by client_id
"""
LATEST_FIRST = "with " + caseload.weekly_streaks("due_rows") + " select * from streaks order by client_id"

STORE = open_store(":memory:")  # one store for every example: each refills due_rows
STORE.execute("insert into therapists values ('T1', 'One', null)")
STORE.execute("insert into clients (client_id, therapist_id, label) select 'C' || i, 'T1', 'Client ' || i "
              f"from range({CLIENTS}) t(i)")
STORE.execute("create temp table due_rows (client_id varchar, week date, credit double, expected_count integer)")

# (client, week number, half points of credit, expected count): credit is capped at the expected count, as due
# assignments' is.
due_row = st.tuples(st.integers(0, CLIENTS - 1), st.integers(0, 12), st.integers(0, 4), st.integers(1, 2))


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(due_row, max_size=40), first_week=st.integers(-2, 15))
def test_streaks_from_the_latest_weeks_first_equal_the_streaks_over_every_week(rows: list, first_week: int) -> None:
    con = STORE
    con.execute("delete from due_rows")
    for client, week, halves, expected in rows:
        con.execute("insert into due_rows values (?, ?, ?, ?)",
                    [f"C{client}", MONDAY + timedelta(weeks=week), min(halves / 2, expected), expected])
    params = {"streak_threshold": caseload.STREAK_THRESHOLD,
              "streak_recent_from": MONDAY + timedelta(weeks=first_week)}
    expected = con.execute(EVERY_WEEK, {"streak_threshold": caseload.STREAK_THRESHOLD}).fetchall()
    assert con.execute(LATEST_FIRST, params).fetchall() == expected


def test_a_streak_longer_than_the_weeks_looked_at_first_is_counted_whole() -> None:
    # C0: weeks 0-9 all met (10 weeks); C1: week 2 missed (0/1), weeks 3-9 met (7 weeks); C2: week 9 missed (0).
    # Looked at from week 6 on, C0 and C1 need their earlier weeks, C2 does not.
    con = STORE
    con.execute("delete from due_rows")
    for week in range(10):
        con.execute("insert into due_rows values ('C0', ?, 1, 1), ('C1', ?, ?, 1), ('C2', ?, ?, 1)",
                    [MONDAY + timedelta(weeks=week)] * 2 + [0 if week == 2 else 1]
                    + [MONDAY + timedelta(weeks=week), 0 if week == 9 else 1])
    params = {"streak_threshold": caseload.STREAK_THRESHOLD, "streak_recent_from": MONDAY + timedelta(weeks=6)}
    assert con.execute(LATEST_FIRST, params).fetchall() == [("C0", 10), ("C1", 7), ("C2", 0)]


def test_the_weeks_looked_at_first_end_in_todays_week() -> None:
    # Wednesday 18 Mar 2026: its week starts Monday 16 Mar; three weeks before that, 23 Feb.
    assert caseload.STREAK_RECENT_WEEKS == 4
    assert caseload.streak_recent_from(date(2026, 3, 18)) == date(2026, 2, 23)
    assert caseload.streak_recent_from(date(2026, 3, 16)) == date(2026, 2, 23)
