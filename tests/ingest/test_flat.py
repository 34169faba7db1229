"""Flat exports (one row per submission or per assignment, with client and therapist columns) split into
the canonical tables: repeated facts kept once, conflicting facts reported naming both lines, ids derived
deterministically when the export has none, and a 50,000-row export within a generous time."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from datetime import UTC, date, datetime

import pytest

from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import FLAT, Mapping
from analytics.store.database import open_store
from analytics.store.scope import Scope

PRACTICE = Scope.practice()
HEADER = "Therapist ID,Therapist name,Patient ID,Homework,Type,Assigned,Due date,Times,Submitted,Status,Mood pre,Mood post"
ROWS = [
    "T1,Ada Moss,C1,Walk,Behavioral,2026-03-01,2026-03-07,3,2026-03-02T18:30:00Z,done,4,6",  # 2
    "T1,Ada Moss,C1,Walk,Behavioral,2026-03-01,2026-03-07,3,2026-03-04T18:30:00Z,half,5,5",  # 3
    "T1,Ada Moss,C2,Diary,journal,2026-03-01,2026-03-08,1,,,,",  # 4: an assignment with nothing submitted yet
    "T2,Ben Ode,C3,Breathe,mindfulness,2026-03-02,2026-03-09,1,2026-03-05T08:00:00Z,missed,,",  # 5
]


def export(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def run(con, data: bytes, mapping: Mapping = FLAT, **kwargs):
    return import_batch(con, [("export.csv", data)], scope=PRACTICE, imported_by="tester", mapping=mapping, **kwargs)


def derived(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


@pytest.fixture
def con():
    connection = open_store(":memory:")
    yield connection
    connection.close()


def test_a_flat_export_is_split_into_the_four_tables(con):
    report = run(con, export(*ROWS))
    assert report.accepted, report.to_text()
    counts = {f.table: (f.rows_read, f.inserted, f.rejected) for f in report.files}
    assert counts == {"therapists": (2, 2, 0), "clients": (3, 3, 0), "assignments": (3, 3, 0), "submissions": (3, 3, 0)}
    assert con.execute("select * from therapists order by 1").fetchall() == [("T1", "Ada Moss", None), ("T2", "Ben Ode", None)]
    assert con.execute("select client_id, therapist_id, label from clients order by 1").fetchall() == [
        ("C1", "T1", "C1"), ("C2", "T1", "C2"), ("C3", "T2", "C3")]
    walk = derived("A-", "C1", "Walk", "2026-03-01")
    assert con.execute("select assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count "
                       "from assignments where title = 'Walk'").fetchall() == [
        (walk, "C1", "behavioural", "Walk", date(2026, 3, 1), date(2026, 3, 7), 3)]
    first = derived("S-", walk, "2026-03-02T18:30:00Z")
    assert con.execute("select submission_id, assignment_id, submitted_at, completion, mood_before, mood_after "
                       "from submissions order by submitted_at limit 1").fetchall() == [
        (first, walk, datetime(2026, 3, 2, 18, 30, tzinfo=UTC), "completed", 4, 6)]
    warned = {p.column for p in report.warnings}
    assert {"assignment_id", "submission_id"} <= warned  # the report says the ids were derived


def test_the_derived_ids_are_the_same_on_every_import(con):
    assert run(con, export(*ROWS)).accepted
    again = run(con, export(*reversed(ROWS)))  # another order: the same ids
    assert again.accepted
    assert [(f.inserted, f.updated) for f in again.files] == [(0, 0)] * 4
    assert con.execute("select count(*) from submissions").fetchone() == (3,)


def test_a_client_with_two_therapists_is_an_error_naming_both_lines(con):
    rows = [*ROWS, "T2,Ben Ode,C1,Walk,Behavioral,2026-03-01,2026-03-07,3,2026-03-06T18:30:00Z,done,,"]  # line 6
    report = run(con, export(*rows))
    assert not report.accepted
    conflict = next(p for p in report.errors if "conflicting" in p.reason)
    assert (conflict.line, conflict.column) == (6, "therapist_id")  # "Therapist ID" is the field's own name
    assert conflict.reason == "conflicting facts: client C1: therapist_id is T2 here but T1 on line 2"
    assert con.execute("select count(*) from clients").fetchone() == (0,)


def test_conflicts_in_several_columns_are_listed_column_by_column_each_at_its_first_differing_line(con):
    walk = derived("A-", "C1", "Walk", "2026-03-01")
    rows = [*ROWS,
            "T1,Ada Moss,C1,Walk,mindfulness,2026-03-01,2026-03-07,4,2026-03-05T18:30:00Z,done,,",  # 6: type, times
            "T1,Ada Moss,C1,Walk,Behavioral,2026-03-01,2026-03-09,5,2026-03-06T18:30:00Z,done,,"]  # 7: due, times
    report = run(con, export(*rows))
    assert not report.accepted
    conflicts = [(p.line, p.reason) for p in report.errors if "conflicting" in p.reason]
    # in the table's column order (type, due date, times), each at the first line differing from line 2 (the type
    # as the value map reads it)
    assert conflicts == [
        (6, f"conflicting facts: assignment {walk}: assignment_type is mindfulness here but behavioural on line 2"),
        (7, f"conflicting facts: assignment {walk}: due_on is 2026-03-09 here but 2026-03-07 on line 2"),
        (6, f"conflicting facts: assignment {walk}: expected_count is 4 here but 3 on line 2"),
    ]


def test_an_assignment_with_two_due_dates_is_an_error_and_skip_invalid_leaves_it_out(con):
    rows = [ROWS[0], ROWS[1].replace("2026-03-07", "2026-03-08"), ROWS[3]]
    rows[1] = rows[1].replace("Walk,Behavioral,2026-03-01", "Walk,Behavioral,2026-03-01")
    header = HEADER.replace("Patient ID,", "Patient ID,Homework ID,")
    rows = [r.replace(",C1,", ",C1,H1,").replace(",C3,", ",C3,H3,") for r in rows]
    report = run(con, export(*rows, header=header))
    conflict = next(p for p in report.errors if "conflicting" in p.reason)
    assert (conflict.line, conflict.column) == (3, "Due date (due_on)")
    assert "assignment H1: due_on is 2026-03-08 here but 2026-03-07 on line 2" in conflict.reason
    skipped = run(con, export(*rows, header=header), skip_invalid=True)
    assert skipped.accepted
    assert con.execute("select assignment_id from assignments").fetchall() == [("H3",)]
    # the submissions of the left-out assignment are rejected with it
    assert con.execute("select count(*) from submissions").fetchone() == (1,)


def test_identical_repeated_facts_and_empty_cells_are_not_conflicts(con):
    rows = [ROWS[0], ROWS[1].replace("Ada Moss", "")]  # the name left empty on a later row: not a conflict
    report = run(con, export(*rows))
    assert report.accepted, report.to_text()
    assert con.execute("select name from therapists").fetchall() == [("Ada Moss",)]


def test_rows_without_an_assignment_id_get_derived_ones_and_the_report_counts_them(con):
    header = HEADER.replace("Patient ID,", "Patient ID,Homework ID,")
    rows = [ROWS[0].replace(",C1,", ",C1,H1,"), ROWS[2].replace(",C2,", ",C2,,")]
    report = run(con, export(*rows, header=header))
    assert report.accepted, report.to_text()
    ids = [r[0] for r in con.execute("select assignment_id from assignments order by 1").fetchall()]
    assert ids == sorted(["H1", derived("A-", "C2", "Diary", "2026-03-01")])
    warning = next(p for p in report.warnings if p.column == "Homework ID (assignment_id)")
    assert warning.line == 3 and warning.reason.startswith("1 row(s) without assignment_id")


def test_an_export_per_assignment_gives_three_tables(con):
    header = "Clinician,Clinician name,Client,Task,Homework type,Date assigned,Deadline"
    report = run(con, export("T1,Ada,C1,Walk,habit,2026-03-01,2026-03-07", "T1,Ada,C2,Draw,art,2026-03-01,2026-03-07",
                             header=header))
    assert report.accepted, report.to_text()
    assert [f.table for f in report.files] == ["therapists", "clients", "assignments"]
    assert con.execute("select assignment_type from assignments order by 1").fetchall() == [("behavioural",), ("creative",)]


def test_a_therapist_name_without_an_id_gives_a_derived_therapist(con):
    header = "Therapist name,Client,Task,Type,Assigned,Due"
    report = run(con, export("Ada Moss,C1,Walk,habit,2026-03-01,2026-03-07", header=header))
    assert report.accepted, report.to_text()
    therapist = derived("T-", "ada moss")
    assert con.execute("select therapist_id, name from therapists").fetchall() == [(therapist, "Ada Moss")]
    assert con.execute("select therapist_id from clients").fetchall() == [(therapist,)]


def test_without_therapist_columns_clients_must_be_in_the_store(con):
    header = "Client,Task,Type,Assigned,Due,Submitted,Done"
    report = run(con, export("C1,Walk,habit,2026-03-01,2026-03-07,2026-03-02T10:00:00Z,yes", header=header))
    assert not report.accepted
    assert any("client_id C1 is not in clients.csv or the store" in p.reason for p in report.errors)
    con.execute("insert into therapists values ('T1', 'Ada', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'C1')")
    assert run(con, export("C1,Walk,habit,2026-03-01,2026-03-07,2026-03-02T10:00:00Z,yes", header=header)).accepted


def flat_rows(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Therapist ID", "Therapist name", "Patient ID", "Homework", "Type", "Assigned", "Due date",
                     "Submission ID", "Submitted", "Completion", "Mood post", "Notes"])
    for i in range(n):
        assignment, client = i // 5, i // 25
        day = 1 + assignment % 20
        writer.writerow([f"T{client // 50}", f"Therapist {client // 50}", f"C{client}", f"Task {assignment % 3}",
                         "mindfulness", f"2026-01-{day:02d}", f"2026-01-{day + 7:02d}", f"S{i}",
                         f"2026-01-{day + i % 5:02d}T10:00:00Z", "done", str(i % 11), "a, \"quoted\"\nnote"])
    return out.getvalue().encode()


@pytest.mark.slow
def test_a_50000_row_flat_export_imports_within_a_generous_time(con):
    data = flat_rows(50_000)
    began = time.monotonic()
    report = run(con, data)
    elapsed = time.monotonic() - began
    assert report.accepted, report.to_text()
    assert {f.table: f.inserted for f in report.files} == {"therapists": 40, "clients": 2000, "assignments": 10_000,
                                                          "submissions": 50_000}
    assert elapsed < 60, f"{elapsed:.1f} s"
    # physical lines: each record spans two lines (the note holds a line break), header = 1
    assert con.execute("select count(*) from submissions where client_note = 'a, \"quoted\"\nnote'").fetchone() == (50_000,)


@pytest.mark.parametrize(("header", "row", "missing"), [
    ("Patient ID,Therapist ID,Homework,Assigned,Due date,Status", "C1,T1,Walk,2026-03-01,2026-03-07,done",
     "submitted_at"),
    ("Patient ID,Therapist ID,Assigned,Due date,Submitted", "C1,T1,2026-03-01,2026-03-07,2026-03-02T10:00:00Z", "title"),
    ("Patient ID,Therapist ID,Homework,Due date,Submitted", "C1,T1,Walk,2026-03-07,2026-03-02T10:00:00Z", "assigned_on"),
])
def test_a_column_an_id_is_derived_from_missing_is_a_message_not_a_traceback(con, header, row, missing):
    report = run(con, export(row, header=header))
    assert not report.accepted
    said = [p for p in report.errors if p.column == missing]
    assert len(said) == 1 and said[0].reason.startswith(f"no column was mapped to {missing}")
    assert con.execute("select count(*) from assignments").fetchone() == (0,)


def test_words_differing_only_in_case_in_a_value_map_do_not_double_the_rows(con):
    rows = [ROWS[0], ROWS[1].replace(",half,", ",Done,")]  # "done" and "Done": both proposed for the map
    report = run(con, export(*rows))
    assert report.accepted, report.to_text()
    assert [(f.table, f.rows_read, f.inserted) for f in report.files][2:] == [("assignments", 1, 1),
                                                                               ("submissions", 2, 2)]
    assert con.execute("select completion, count(*) from submissions group by 1").fetchall() == [("completed", 2)]
    # a doubled row made the line of a conflict ambiguous (a traceback); now it is the usual error
    rows = [ROWS[0], ROWS[1].replace(",half,", ",Done,").replace("2026-03-07", "2026-03-09")]
    report = run(con, export(*rows))
    (conflict,) = [p for p in report.errors if "conflicting" in p.reason]
    assert conflict.line == 3 and "due_on is 2026-03-09 here but 2026-03-07 on line 2" in conflict.reason
