"""The derived adherence facts never drift from the definition: on randomised small practices, after an import
and after every kind of write (feedback, plan save, reschedule, cancel, a second import and its undo, a new
time zone), `assignment_progress` (read from the facts) gives exactly the rows of `assignment_progress_direct`
(computed from the raw tables, schema.sql's definition), for the practice and each therapist, at as-of dates
before, inside and after the data; and the facts are current, so the fast path is the one compared. Every other
as-of date is compared inside a page's read snapshot, where the macros that choose are shadowed by ones that read the
facts alone (database.FACTS_ONLY_MACROS), so both ways a page or a command reads are held to the definition.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.importer import import_batch
from analytics.ingest.undo import undo_batch
from analytics.metrics.clients import save_feedback
from analytics.planning import planner
from analytics.store.database import FACTS_ONLY_MACROS, open_store, read_snapshot, set_timezone
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES

BASE = date(2026, 3, 15)
PRACTICE = Scope.practice()
ZONES = ("UTC", "Asia/Tokyo", "America/New_York")
COMPLETIONS = ("completed", "partial", "skipped")

assignment = st.fixed_dictionaries({
    "client": st.integers(0, 3),
    "assigned": st.integers(-40, 5),
    "length": st.integers(0, 14),
    "expected": st.integers(1, 4),
    "cancelled": st.booleans(),
})
submission = st.fixed_dictionaries({
    "assignment": st.integers(0, 50),
    "day": st.integers(-45, 20),
    "hour": st.integers(0, 23),
    "completion": st.sampled_from(COMPLETIONS),
    "mood": st.one_of(st.none(), st.tuples(st.integers(0, 10), st.integers(0, 10))),
})
practice = st.fixed_dictionaries({
    "zone": st.sampled_from(ZONES),
    "assignments": st.lists(assignment, min_size=1, max_size=10),
    "submissions": st.lists(submission, max_size=25),
    "later": st.lists(submission, min_size=1, max_size=6),  # the second import: new rows and changed ones
    "as_of": st.lists(st.integers(-45, 25), min_size=2, max_size=2),  # one outside a snapshot, one inside
    "pick": st.integers(0, 1000),
})


def _day(offset: int) -> str:
    return (BASE + timedelta(days=offset)).isoformat()


def _submission_rows(subs: list[dict], n_assignments: int, first: int) -> str:
    lines = []
    for number, s in enumerate(subs, start=first):
        before, after = s["mood"] if s["mood"] else ("", "")
        lines.append(f"S{number},A{s['assignment'] % n_assignments},{_day(s['day'])}T{s['hour']:02d}:30:00Z,"
                     f"{s['completion']},{before},{after}\n")
    return "submission_id,assignment_id,submitted_at,completion,mood_before,mood_after\n" + "".join(lines)


def _files(data: dict) -> list[tuple[str, bytes]]:
    therapists = "therapist_id,name,email\nT1,One,\nT2,Two,\n"
    clients = "client_id,therapist_id,label,status\n" + "".join(
        f"C{i},T{1 + i % 2},Client {i},active\n" for i in range(4))
    assignments = "assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,status\n" + "".join(
        f"A{i},C{a['client']},journaling,Task {i},{_day(a['assigned'])},{_day(a['assigned'] + a['length'])},"
        f"{a['expected']},{'cancelled' if a['cancelled'] else 'active'}\n"
        for i, a in enumerate(data["assignments"]))
    subs = _submission_rows(data["submissions"], len(data["assignments"]), 1)
    return [("therapists.csv", therapists.encode()), ("clients.csv", clients.encode()),
            ("assignments.csv", assignments.encode()), ("submissions.csv", subs.encode())]


LAST_DAYS_DIRECT = """
select assignment_id, max(submitted_on) from submission_facts where submitted_on <= ? group by assignment_id order by 1
"""
# client_last_submission_days's definition on the raw tables: the last local day of a submission on or before as_of,
# by client in scope, any status, of one type (or any).
CLIENT_LAST_DIRECT = """
select a.client_id, max(s.submitted_on)
from submission_facts s join assignments a using (assignment_id) join clients c using (client_id)
where s.submitted_on <= $as_of and ($therapist is null or c.therapist_id = $therapist)
  and ($type is null or a.assignment_type = $type)
group by a.client_id order by 1
"""
# client_type_lifts's definition on the raw tables: the mood lifts of submissions made on local days in the window,
# to active assignments of the clients in scope, by client and type.
LIFTS_DIRECT = """
select a.client_id, a.assignment_type, count(*), sum(s.mood_lift), sum(s.mood_lift * s.mood_lift)
from submission_facts s join assignments a using (assignment_id) join clients c using (client_id)
where a.status = 'active' and s.mood_lift is not null and s.submitted_on between $first and $last
  and ($therapist is null or c.therapist_id = $therapist)
group by all order by 1, 2
"""
# assignment_facts's definition: every assignment's columns and its totals over all its submissions.
ASSIGNMENT_FACTS_DIRECT = """
select a.assignment_id, a.client_id, a.assignment_type, a.title, a.assigned_on, a.due_on, a.expected_count, a.status,
       coalesce(sum(s.credit), 0), coalesce(sum(s.credit) filter (where s.submitted_on <= a.due_on), 0),
       count(s.submission_id), coalesce(sum(s.mood_lift), 0), count(s.mood_lift), max(s.submitted_local),
       max(s.submitted_on), coalesce(sum(s.mood_lift * s.mood_lift), 0), min(s.submitted_on)
from assignments a left join submission_facts s using (assignment_id)
group by all order by 1
"""
WINDOW_ROWS = "select * from {macro}(?, ?) where due_on between ? and ? order by assignment_id"
DUE_COLUMNS = 12  # due_assignments: assignment_progress's columns up to on_time_credit
WINDOW_COUNT = "select count(*) from submission_facts where submitted_on between ? and ?"
COUNTS_DIRECT = """
select s.submitted_on, count(*) from submission_facts s join assignments a using (assignment_id)
join clients c using (client_id)
where s.submitted_on between $first and $last and ($therapist is null or c.therapist_id = $therapist)
group by 1 order by 1
"""


def assert_fast_equals_direct(con, as_of_offsets: list[int]) -> None:
    assert con.execute("select current from facts_current").fetchone()[0], "the facts are stale after a write"
    facts_rows = con.execute("select * from assignment_facts order by 1").fetchall()
    assert facts_rows == con.execute(ASSIGNMENT_FACTS_DIRECT).fetchall()
    for number, offset in enumerate(as_of_offsets):
        if number % 2:
            with read_snapshot(con):
                assert shadowed(con) == len(FACTS_ONLY_MACROS)
                _assert_fast_equals_direct_on(con, number, offset)
        else:
            assert shadowed(con) == 0
            _assert_fast_equals_direct_on(con, number, offset)


def shadowed(con) -> int:
    """How many of the choosing macros the cursor's temporary facts-only ones shadow."""
    return con.execute("select count(*) from duckdb_functions() where database_name = 'temp'").fetchone()[0]


def _assert_fast_equals_direct_on(con, number: int, offset: int) -> None:
    for therapist in (None, ("T1", "T2")[number % 2]):  # the practice, and one therapist in turn
        params = [BASE + timedelta(days=offset), therapist]
        fast = con.execute("select * from assignment_progress(?, ?) order by assignment_id", params).fetchall()
        direct = con.execute("select * from assignment_progress_direct(?, ?) order by assignment_id",
                             params).fetchall()
        assert fast == direct, (offset, therapist)
        assert con.execute("select count(*) from assignment_progress_facts(?, ?)", params).fetchone()[0] == len(
            direct)
        # A caller's filter on the assignments (a period's due dates) reaches inside the fast macro: same rows.
        due_window = [*params, BASE + timedelta(days=offset - 13), BASE + timedelta(days=offset)]
        fast_window = con.execute(WINDOW_ROWS.format(macro="assignment_progress"), due_window).fetchall()
        assert fast_window == con.execute(WINDOW_ROWS.format(macro="assignment_progress_direct"),
                                          due_window).fetchall(), (offset, therapist)
        assert fast_window == [row for row in direct if due_window[2] <= row[6] <= due_window[3]]
        # due_assignments (its own read of the facts) against assignment_progress_direct's due rows, whole and in the
        # window (a previous period's figures: the late assignments' credit up to as_of).
        due_direct = [row[:DUE_COLUMNS] for row in direct if row[8]]
        assert con.execute("select * from due_assignments(?, ?) order by assignment_id", params).fetchall() == (
            due_direct), (offset, therapist)
        assert con.execute(WINDOW_ROWS.format(macro="due_assignments"), due_window).fetchall() == [
            row for row in due_direct if due_window[2] <= row[6] <= due_window[3]], (offset, therapist)
    as_of = BASE + timedelta(days=offset)
    # last_submission_days (read from the facts) against its definition on the raw tables.
    fast_last = con.execute("select * from last_submission_days(?) order by 1", [as_of]).fetchall()
    assert fast_last == con.execute(LAST_DAYS_DIRECT, [as_of]).fetchall(), offset
    # client_last_submission_days (read from assignment_facts) against the raw tables, by scope and type.
    # (each scope once and each type filter once: every scope with every type cost a third of this test's time)
    for therapist, kind in ((None, None), ("T1", "journaling"), ("T2", ASSIGNMENT_TYPES[1]), (None, "journaling")):
        params = {"as_of": as_of, "therapist": therapist, "type": kind}
        fast_clients = con.execute("select * from client_last_submission_days($as_of, $therapist, $type) "
                                   "order by 1", params).fetchall()
        assert fast_clients == con.execute(CLIENT_LAST_DIRECT, params).fetchall(), (offset, therapist, kind)
    # submission_counts (the facts' days) against the submissions counted by local day, by scope, over two weeks.
    for therapist in (None, ("T1", "T2")[number % 2]):
        params = {"first": as_of - timedelta(days=13), "last": as_of, "therapist": therapist}
        fast_counts = con.execute("select * from submission_counts($first, $last, $therapist) order by 1",
                                  params).fetchall()
        assert fast_counts == con.execute(COUNTS_DIRECT, params).fetchall(), (offset, therapist)
    # client_type_lifts (the facts' totals, and the days of the assignments that straddle an end) against the raw
    # tables, by scope: everything up to as_of (the planner's profile), and a window of two weeks.
    for therapist, first in ((None, date(1900, 1, 1)), (("T1", "T2")[number % 2], as_of - timedelta(days=13))):
        params = {"first": first, "last": as_of, "therapist": therapist}
        fast_lifts = con.execute("select * from client_type_lifts($first, $last, $therapist) order by 1, 2",
                                 params).fetchall()
        assert fast_lifts == con.execute(LIFTS_DIRECT, params).fetchall(), (offset, therapist, first)
    # assignments_since: every assignment with a submission on a local day in the window or after it, each with its
    # columns as stored (a window's queries join these instead of every assignment).
    first = as_of - timedelta(days=13)
    since = con.execute("select * from assignments_since(?) order by 1", [first]).fetchall()
    stored = {row[0]: row for row in con.execute(
        "select assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count, status "
        "from assignments").fetchall()}
    assert all(row == stored[row[0]] for row in since), offset
    needed = {a for (a,) in con.execute("select distinct assignment_id from submission_facts where submitted_on >= ?",
                                        [first]).fetchall()}
    assert needed <= {row[0] for row in since}, offset
    # near_local_days leaves out no submission whose local day is in the window, in the practice's time zone.
    window = [as_of - timedelta(days=6), as_of]
    assert con.execute(WINDOW_COUNT + " and near_local_days(submitted_at, ?, ?)", window * 2).fetchone()[0] == (
        con.execute(WINDOW_COUNT, window).fetchone()[0]), offset


# Six practices a run, each checked after eleven writes at two as-of dates (one inside a read snapshot): about 45 s on
# the 2-core VM, the suite's longest test. Each CI run draws six new practices.
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=practice)
def test_the_facts_equal_the_direct_computation_after_every_write(data: dict) -> None:
    con = open_store(":memory:")
    try:
        set_timezone(con, data["zone"])
        report = import_batch(con, _files(data), scope=PRACTICE, imported_by="test")
        assert report.accepted, report.to_text()
        days = data["as_of"]
        assert_fast_equals_direct(con, days)

        pick = data["pick"]
        n_first = len(data["assignments"])
        submissions = [s for (s,) in con.execute("select submission_id from submissions order by 1").fetchall()]
        if submissions:  # feedback changes no fact
            save_feedback(con, scope=PRACTICE, submission_id=submissions[pick % len(submissions)], text="Well done",
                          at=datetime(2026, 6, 1, 9, tzinfo=UTC))
            assert_fast_equals_direct(con, days)

        item = planner.PlanItem(ASSIGNMENT_TYPES[pick % len(ASSIGNMENT_TYPES)], "New task", "Do it", BASE,
                                BASE + timedelta(days=7), 2, 10, None, True)
        planner.save_plan(con, scope=PRACTICE, client_id=f"C{pick % 4}", items=[item], today=BASE)
        assert_fast_equals_direct(con, days)

        active = [a for (a,) in con.execute(
            "select assignment_id from assignments where status = 'active' order by 1").fetchall()]
        moved = active[pick % len(active)]
        assigned_on = con.execute("select assigned_on from assignments where assignment_id = ?", [moved]).fetchone()[0]
        planner.reschedule(con, scope=PRACTICE, assignment_id=moved, due_on=assigned_on + timedelta(days=pick % 9))
        assert_fast_equals_direct(con, days)
        planner.cancel(con, scope=PRACTICE, assignment_id=active[(pick // 7) % len(active)])
        assert_fast_equals_direct(con, days)

        # An assignment moved to another client (and re-titled) by an import that updates it: both clients' figures.
        row = con.execute("select assignment_id, client_id, assignment_type, assigned_on, due_on, expected_count, "
                          "status from assignments where assignment_id like 'A%' order by 1").fetchall()[pick % n_first]
        moved_to = f"C{(int(row[1][1:]) + 1 + pick % 3) % 4}"
        moved_file = ("assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,status\n"
                      f"{row[0]},{moved_to},{row[2]},Moved,{row[3]},{row[4]},{row[5]},{row[6]}\n")
        moving = import_batch(con, [("assignments.csv", moved_file.encode())], scope=PRACTICE, imported_by="test",
                              existing="update")
        assert moving.accepted, moving.to_text()
        assert_fast_equals_direct(con, days)

        # A second batch: new submissions, and the first ones of the first batch changed (update existing).
        n = len(data["assignments"])
        later = _submission_rows(data["later"], n, 1 + len(data["submissions"]) - min(2, len(data["submissions"])))
        batch = import_batch(con, [("submissions.csv", later.encode())], scope=PRACTICE, imported_by="test",
                             existing="update")
        assert batch.accepted, batch.to_text()
        assert_fast_equals_direct(con, days)
        undone = undo_batch(con, batch.batch_id, scope=PRACTICE, undone_by="test")
        assert undone.done, undone.reasons
        assert_fast_equals_direct(con, days)

        # A client moved to the other therapist by an import (both caseloads' figures), then the move undone.
        client = f"C{pick % 4}"
        mover = con.execute("select client_id, therapist_id, label, status from clients where client_id = ?",
                            [client]).fetchone()
        other = {"T1": "T2", "T2": "T1"}[mover[1]]
        reassigned = import_batch(con, [("clients.csv", ("client_id,therapist_id,label,status\n"
                                                         f"{mover[0]},{other},{mover[2]},{mover[3]}\n").encode())],
                                  scope=PRACTICE, imported_by="test", existing="update")
        assert reassigned.accepted, reassigned.to_text()
        assert_fast_equals_direct(con, days)
        undone = undo_batch(con, reassigned.batch_id, scope=PRACTICE, undone_by="test")
        assert undone.done, undone.reasons
        assert_fast_equals_direct(con, days)

        set_timezone(con, ZONES[(ZONES.index(data["zone"]) + 1) % len(ZONES)])
        assert_fast_equals_direct(con, days)
    finally:
        con.close()


def _one_submission_store():
    """A store with one assignment (A0, 2 expected) and one completed submission to it, its facts current."""
    con = open_store(":memory:")
    files = _files({"assignments": [{"client": 0, "assigned": -5, "length": 5, "expected": 2, "cancelled": False}],
                    "submissions": [{"assignment": 0, "day": -2, "hour": 12, "completion": "completed", "mood": None}]})
    assert import_batch(con, files, scope=PRACTICE, imported_by="test").accepted
    assert con.execute("select current from facts_current").fetchone()[0]
    return con


@pytest.mark.parametrize("in_snapshot", [False, True])
def test_late_work_counts_up_to_the_as_of_day_and_no_further(in_snapshot: bool) -> None:
    # A0: 2 expected, due 10 Mar (BASE - 5). Completed on 9 Mar (on time), partial on 15 Mar, completed on 17 Mar
    # (both late). Worked by hand, as of each day: credit min(2, what was submitted up to and on that day), on-time
    # credit 1 (the 9 Mar completion) once it is known.
    files = _files({"assignments": [{"client": 0, "assigned": -12, "length": 7, "expected": 2, "cancelled": False}],
                    "submissions": [{"assignment": 0, "day": d, "hour": 12, "completion": c, "mood": None}
                                    for d, c in ((-6, "completed"), (0, "partial"), (2, "completed"))]})
    expected = {-5: (1.0, 1.0), -1: (1.0, 1.0), 0: (1.5, 1.0), 1: (1.5, 1.0), 2: (2.0, 1.0), 9: (2.0, 1.0)}
    con = open_store(":memory:")
    try:
        assert import_batch(con, files, scope=PRACTICE, imported_by="test").accepted
        assert con.execute("select current from facts_current").fetchone()[0]  # so the facts are what is read
        for offset, (credit, on_time) in expected.items():
            as_of = BASE + timedelta(days=offset)
            with read_snapshot(con) if in_snapshot else nullcontext():
                for macro in ("due_assignments", "assignment_progress"):
                    assert con.execute(f"select credit, on_time_credit from {macro}(?, null)",
                                       [as_of]).fetchall() == [(credit, on_time)], (macro, offset)
        # Before its due date it is not due: no row in due_assignments.
        assert con.execute("select count(*) from due_assignments(?, null)", [BASE - timedelta(days=6)]).fetchone()[0] == 0
    finally:
        con.close()


def test_a_write_made_with_plain_sql_falls_back_to_the_raw_tables() -> None:
    # Facts built for one submission (A1 credit 1); a submission added by plain SQL, past every write function,
    # makes them not current, and the figures still count it: credit 1 + 0.5 = 1.5.
    con = _one_submission_store()
    try:
        con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, "
                    "mood_after) values ('S9', 'A0', '2026-03-14 12:00+00', 'partial', 3, 6)")
        assert not con.execute("select current from facts_current").fetchone()[0]
        credit = con.execute("select credit from assignment_progress(date '2026-03-15', null)").fetchone()[0]
        assert credit == pytest.approx(1.5)
        # due_assignments (A0 is due on 15 Mar) reads the raw tables too, in and out of a page's snapshot
        for context in (nullcontext(), read_snapshot(con)):
            with context:
                credit = con.execute("select credit from due_assignments(date '2026-03-15', null)").fetchone()[0]
                assert credit == pytest.approx(1.5)
        # and the submissions by day count it too: the import's on 13 Mar, S9 on 14 Mar
        counts = con.execute("select * from submission_counts(date '2026-03-09', date '2026-03-15', null) order by 1")
        assert counts.fetchall() == [(date(2026, 3, 13), 1), (date(2026, 3, 14), 1)]
        # and the mood lifts by client and type: S9's lift of 3 (the import's submission has no moods)
        lifts = con.execute("select * from client_type_lifts(date '2026-03-01', date '2026-03-15', null)").fetchall()
        assert lifts == [("C0", "journaling", 1, 3, 9)]
        # and a window's assignments are every assignment (the facts' last day of A0 is 13 Mar, before the window)
        since = con.execute("select assignment_id from assignments_since(date '2026-03-14')").fetchall()
        assert since == [("A0",)]
    finally:
        con.close()


def test_a_therapist_changed_with_plain_sql_moves_the_client_at_once() -> None:
    # The scope is read from the clients at query time, not kept in the facts (docs/DESIGN.md, wave 7: keeping it there
    # was measured and left): C0 moved from T1 to T2 past every write function is in T2's caseload at once, not T1's.
    con = _one_submission_store()
    try:
        con.execute("update clients set therapist_id = 'T2' where client_id = 'C0'")
        caseload = "select count(*) from assignment_progress(date '2026-03-15', ?)"
        assert [con.execute(caseload, [t]).fetchone()[0] for t in ("T1", "T2")] == [0, 1]
    finally:
        con.close()


def test_facts_that_are_not_current_are_rebuilt_when_the_store_is_next_opened(tmp_path) -> None:
    # Two ways the facts stop matching the rows without a write function: a submission added by plain SQL (A0's
    # credit 1 + 0.5 = 1.5 read from the raw tables meanwhile), and a stamp whose digest no longer agrees, as after a
    # DuckDB release that hashes differently. Opening the store again rebuilds them: current, and the same credit.
    path = tmp_path / "store.duckdb"
    con = open_store(path)
    files = _files({"assignments": [{"client": 0, "assigned": -5, "length": 5, "expected": 2, "cancelled": False}],
                    "submissions": [{"assignment": 0, "day": -2, "hour": 12, "completion": "completed", "mood": None}]})
    assert import_batch(con, files, scope=PRACTICE, imported_by="test").accepted
    con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                "values ('S9', 'A0', '2026-03-14 12:00+00', 'partial')")
    con.execute("update facts_stamp set assignments_digest = assignments_digest + 1")
    assert not con.execute("select current from facts_current").fetchone()[0]
    con.close()
    con = open_store(path)
    try:
        assert con.execute("select current from facts_current").fetchone()[0]
        assert con.execute("select credit, submissions from assignment_facts").fetchall() == [(1.5, 2)]
        credit = con.execute("select credit from assignment_progress(date '2026-03-15', null)").fetchone()[0]
        assert credit == pytest.approx(1.5)
    finally:
        con.close()


def test_a_version_9_store_is_upgraded_with_its_facts_rebuilt_holding_the_squared_lifts(tmp_path) -> None:
    # Version 10 added the mood lifts' sums of squares and the first day to the facts. A store made by version 9 has
    # facts without them; opening it rebuilds them, current, so the lifts are read from the facts at once.
    path = tmp_path / "store.duckdb"
    con = open_store(path)
    files = _files({"assignments": [{"client": 0, "assigned": -5, "length": 5, "expected": 2, "cancelled": False}],
                    "submissions": [{"assignment": 0, "day": -2, "hour": 12, "completion": "completed", "mood": (2, 6)},
                                    {"assignment": 0, "day": -1, "hour": 9, "completion": "partial", "mood": (5, 4)}]})
    assert import_batch(con, files, scope=PRACTICE, imported_by="test").accepted
    for table, column in (("submission_days", "mood_lift_sq_sum"), ("assignment_facts", "mood_lift_sq_sum"),
                          ("assignment_facts", "first_on")):
        con.execute(f"alter table {table} drop column {column}")  # as version 9 made them
    con.execute("delete from schema_meta")
    con.execute("insert into schema_meta (version) values (9)")
    con.close()
    con = open_store(path)
    try:
        assert [v for (v,) in con.execute("select version from schema_meta order by 1").fetchall()] == [9, 10]
        assert con.execute("select current from facts_current").fetchone()[0]
        # lifts 4 and -1: n 2, sum 3, sum of squares 16 + 1 = 17; first day 13 Mar, last 14 Mar
        assert con.execute("select mood_lift_n, mood_lift_sum, mood_lift_sq_sum, first_on, last_on "
                           "from assignment_facts").fetchall() == [(2, 3, 17, date(2026, 3, 13), date(2026, 3, 14))]
        with read_snapshot(con):  # the facts alone
            lifts = con.execute("select * from client_type_lifts(date '2026-03-01', date '2026-03-15', null)")
            assert lifts.fetchall() == [("C0", "journaling", 2, 3, 17)]
    finally:
        con.close()


@pytest.mark.parametrize("edit", [
    "update assignments set status = 'cancelled'",
    "update assignments set expected_count = 1",
    "update assignments set client_id = 'C1'",
    "update assignments set assignment_type = 'creative'",
    "update assignments set title = 'Renamed'",
    "update assignments set assigned_on = date '2026-03-09'",
])
def test_a_plain_sql_edit_of_an_assignment_makes_the_facts_stale(edit: str) -> None:
    # assignment_facts copies the assignments' columns: an edit made past the write functions is seen by the stamp,
    # and the macros read the raw tables (here the fast and direct rows agree again).
    con = _one_submission_store()
    try:
        con.execute(edit)
        assert not con.execute("select current from facts_current").fetchone()[0]
        params = [BASE, None]
        assert con.execute("select * from assignment_progress(?, ?)", params).fetchall() == con.execute(
            "select * from assignment_progress_direct(?, ?)", params).fetchall()
        for kind in (None, "journaling", "creative"):
            by_client = {"as_of": BASE, "therapist": None, "type": kind}
            assert con.execute("select * from client_last_submission_days($as_of, $therapist, $type) order by 1",
                               by_client).fetchall() == con.execute(CLIENT_LAST_DIRECT, by_client).fetchall()
    finally:
        con.close()


def test_last_submission_days_reads_the_raw_tables_when_the_facts_are_stale() -> None:
    con = open_store(":memory:")
    try:
        data = {"assignments": [{"client": 0, "assigned": 0, "length": 7, "expected": 2, "cancelled": False}],
                "submissions": [{"assignment": 0, "day": 1, "hour": 9, "completion": "completed", "mood": None}]}
        report = import_batch(con, _files(data), scope=PRACTICE, imported_by="test")
        assert report.accepted, report.to_text()
        # A submission added with plain SQL (no write function): the facts still say day 1, the store says day 3.
        con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                    "values ('S9', 'A0', ?, 'partial')", [datetime(2026, 3, 18, 9, tzinfo=UTC)])
        assert not con.execute("select current from facts_current").fetchone()[0]
        assert con.execute("select * from last_submission_days(?)", [BASE + timedelta(days=10)]).fetchall() == [
            ("A0", date(2026, 3, 18))]
    finally:
        con.close()
