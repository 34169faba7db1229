"""A batch rebuilds the facts of the assignments it touched only (facts.rebuild_touched): the facts it leaves are
the facts a full rebuild gives, whatever the batch added, changed or moved (submissions moved to another
assignment, assignments moved to another client or given another due date) and whatever an undo puts back, and
small batches and their undo take that path.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.importer import import_batch
from analytics.ingest.undo import undo_batch
from analytics.store import facts
from analytics.store.database import open_store, set_timezone
from analytics.store.scope import Scope

BASE = date(2026, 3, 15)
PRACTICE = Scope.practice()
FACTS = ("submission_days", "assignment_facts", "facts_stamp")
ASSIGNMENT_HEADER = "assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,status\n"
SUBMISSION_HEADER = "submission_id,assignment_id,submitted_at,completion,mood_before,mood_after\n"

assignment = st.tuples(st.integers(0, 3), st.integers(-20, 0), st.integers(0, 10), st.integers(1, 3))
submission = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(-22, 12), st.integers(0, 23),
                       st.sampled_from(("completed", "partial", "skipped")), st.one_of(st.none(), st.integers(0, 10)))


def _assignments(rows: list[tuple], titles: str = "Task") -> str:
    return ASSIGNMENT_HEADER + "".join(
        f"A{n},C{client},journaling,{titles} {n},{BASE + timedelta(days=start)},"
        f"{BASE + timedelta(days=start + length)},{expected},active\n"
        for n, (client, start, length, expected) in rows)


def _submissions(rows: list[tuple], n_assignments: int) -> str:
    return SUBMISSION_HEADER + "".join(
        f"S{number},A{target % n_assignments},{BASE + timedelta(days=day)}T{hour:02d}:15:00,{completion},"
        f"{'' if mood is None else 5},{'' if mood is None else mood}\n"
        for number, target, day, hour, completion, mood in rows)


def _store(zone: str, assignments: list[tuple], submissions: list[tuple]):
    con = open_store(":memory:")
    set_timezone(con, zone)
    clients = "client_id,therapist_id,label,status\n" + "".join(f"C{i},T1,Client {i},active\n" for i in range(4))
    files = [("therapists.csv", b"therapist_id,name,email\nT1,One,\n"), ("clients.csv", clients.encode()),
             ("assignments.csv", _assignments(list(enumerate(assignments))).encode()),
             ("submissions.csv", _submissions(submissions, len(assignments)).encode())]
    report = import_batch(con, files, scope=PRACTICE, imported_by="test")
    assert report.accepted, report.to_text()
    return con


def _facts(con) -> list[list[tuple]]:
    return [con.execute(f"select * from {table} order by all").fetchall() for table in FACTS]


def _full_rebuild(con) -> list[list[tuple]]:
    con.execute("begin")
    facts.rebuild(con)
    rebuilt = _facts(con)
    con.execute("rollback")
    return rebuilt


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(zone=st.sampled_from(("UTC", "Pacific/Auckland", "America/New_York")),
       assignments=st.lists(assignment, min_size=1, max_size=8),
       submissions=st.lists(submission, max_size=15),
       moved=st.lists(st.tuples(st.integers(0, 7), assignment), max_size=3),
       later=st.lists(submission, min_size=1, max_size=8))
def test_a_batch_leaves_the_facts_a_full_rebuild_gives(monkeypatch, zone, assignments, submissions, moved, later):
    monkeypatch.setattr(facts, "incremental", lambda touched, assignments: True)  # every batch, the first one too
    con = _store(zone, [(c, s, n, e) for c, s, n, e in assignments],
                 [(i, *row[1:]) for i, row in enumerate(submissions)])
    assert _facts(con) == _full_rebuild(con)
    # Assignments moved to another client, another due date or expected count, and one new assignment.
    n = len(assignments)
    changed = {index % n: row for index, row in moved}
    changed[n] = (0, -3, 4, 2)
    batch = import_batch(con, [("assignments.csv", _assignments(sorted(changed.items()), "Moved").encode())],
                         scope=PRACTICE, imported_by="test", existing="update")
    assert batch.accepted, batch.to_text()
    assert _facts(con) == _full_rebuild(con)
    # Submissions: new ones, and stored ones changed (moved to another assignment, another day or completion).
    first = max(0, len(submissions) - 3)
    rows = [(first + k, *row[1:]) for k, row in enumerate(later)]
    batch = import_batch(con, [("submissions.csv", _submissions(rows, n + 1).encode())], scope=PRACTICE,
                         imported_by="test", existing="update")
    assert batch.accepted, batch.to_text()
    assert _facts(con) == _full_rebuild(con)
    # Its undo: the moved submissions back where they were, the new ones gone.
    assert undo_batch(con, batch.batch_id, scope=PRACTICE, undone_by="test").done
    assert _facts(con) == _full_rebuild(con)
    assert con.execute("select current from facts_current").fetchone()[0]
    con.close()


def test_a_small_batch_rebuilds_only_what_it_touched(monkeypatch):
    """Eight assignments, a batch adding one submission to A3: A3's facts change, the others' rows are not rebuilt."""
    con = _store("UTC", [(n % 4, -10, 10, 2) for n in range(8)],
                 [(n, n, -5, 9, "completed", None) for n in range(8)])
    full = []
    rebuild_all = facts._rebuild_all
    monkeypatch.setattr(facts, "_rebuild_all", lambda c: (full.append(True), rebuild_all(c)))
    batch = import_batch(con, [("submissions.csv", _submissions([(100, 3, -4, 10, "partial", 7)], 8).encode())],
                         scope=PRACTICE, imported_by="test")
    assert batch.accepted, batch.to_text()
    assert full == []  # 1 of 8 assignments touched: the incremental path
    a3 = "select credit, submissions from assignment_facts where assignment_id = 'A3'"
    assert con.execute(a3).fetchone() == (1.5, 2)  # completed (1) + partial (0.5), by hand
    assert _facts(con) == _full_rebuild(con)
    full.clear()  # (the comparison's own full rebuild)
    assert undo_batch(con, batch.batch_id, scope=PRACTICE, undone_by="test").done
    assert full == []  # and its undo
    assert con.execute(a3).fetchone() == (1.0, 1)
    monkeypatch.undo()
    assert _facts(con) == _full_rebuild(con)
    assert con.execute("select current from facts_current").fetchone()[0]
    con.close()


@pytest.mark.parametrize(("share", "full_expected"), [(0.25, True), (1.0, False)])
def test_a_batch_touching_many_assignments_rebuilds_them_all(monkeypatch, share, full_expected):
    """A batch of 3 submissions to 3 of 8 assignments (at most 3 touched, 37%, as planned): over INCREMENTAL_SHARE
    (a quarter) every assignment's facts are rebuilt; with a share of 1 only the 3 touched."""
    con = _store("UTC", [(0, -10, 10, 2)] * 8, [])
    monkeypatch.setattr(facts, "INCREMENTAL_SHARE", share)
    calls = []
    rebuild_all = facts._rebuild_all
    monkeypatch.setattr(facts, "_rebuild_all", lambda c: (calls.append(True), rebuild_all(c)))
    rows = [(n, n, -2, 8, "completed", None) for n in range(3)]
    assert import_batch(con, [("submissions.csv", _submissions(rows, 8).encode())], scope=PRACTICE,
                        imported_by="test").accepted
    assert bool(calls) is full_expected
    assert con.execute("select sum(credit) from assignment_facts").fetchone()[0] == 3.0
    assert _facts(con) == _full_rebuild(con)
    con.close()
