"""Importing canonical CSV files: values, problems, line numbers, refusal, re-import and the log."""

import csv
import getpass
import hashlib
import io
import json
import string
from datetime import UTC, date, datetime, timedelta, timezone

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.canonical import TABLES
from analytics.ingest.importer import Problem, import_batch, import_log
from analytics.ingest.report import MAX_LISTED_PROBLEMS, ImportReport
from analytics.store.database import CANONICAL_TABLES, open_store, set_timezone
from analytics.store.scope import Scope, ScopeError
from analytics.store.vocabulary import ASSIGNMENT_STATUSES, ASSIGNMENT_TYPES, CLIENT_STATUSES, COMPLETIONS

PRACTICE = Scope.practice()

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def csv_text(*lines: str) -> bytes:
    """Hand-written CSV: each argument is one physical line (header first), joined with \\n."""
    return ("\n".join(lines) + "\n").encode("utf-8")


def csv_rows(table: str, rows: list[dict[str, object]], columns: tuple[str, ...] | None = None) -> bytes:
    """CSV bytes written by Python's csv module: header = columns (default: every column of the table)."""
    columns = columns or TABLES[table].column_names
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue().encode("utf-8")


def run(con, *files: tuple[str, bytes], **kwargs) -> ImportReport:
    return import_batch(con, list(files), scope=PRACTICE, imported_by=kwargs.pop("imported_by", "tester"), **kwargs)


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def count(con, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def file_report(report: ImportReport, name: str):
    return next(f for f in report.files if f.file == name)


def errors_at(report: ImportReport, line: int | None) -> list[Problem]:
    return [p for p in report.errors if p.line == line]


SNAPSHOT_TABLES = (*CANONICAL_TABLES, "import_log", "settings", "schema_meta")


def snapshot(con) -> dict[str, list[tuple]]:
    """Every row of every table the importer could touch, sorted, for before/after comparisons."""
    return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in SNAPSHOT_TABLES}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# A small store every row-level test starts from: therapist T1, client C1, assignment A1.
BASE_THERAPISTS = csv_text("therapist_id,name,email", "T1,Ada Moss,ada@example.org")
BASE_CLIENTS = csv_text("client_id,therapist_id,label", "C1,T1,Robin")
BASE_ASSIGNMENTS = csv_text(
    "assignment_id,client_id,assignment_type,title,assigned_on,due_on",
    "A1,C1,journaling,Mood diary,2026-03-02,2026-03-08",
)


@pytest.fixture
def con():
    """A store holding T1, C1 and A1 (the rows of BASE_*), written directly to save time."""
    connection = open_store(":memory:")
    connection.execute("insert into therapists values ('T1', 'Ada Moss', 'ada@example.org')")
    connection.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'Robin')")
    connection.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                       "values ('A1', 'C1', 'journaling', 'Mood diary', date '2026-03-02', date '2026-03-08')")
    yield connection
    connection.close()


def test_the_base_files_import_to_the_rows_of_the_con_fixture(con):
    fresh = open_store(":memory:")
    report = run(fresh, ("therapists.csv", BASE_THERAPISTS), ("clients.csv", BASE_CLIENTS),
                 ("assignments.csv", BASE_ASSIGNMENTS))
    assert report.accepted, report.to_text()
    for table in CANONICAL_TABLES:
        assert rows(fresh, f"select * from {table}") == rows(con, f"select * from {table}")


# ---------------------------------------------------------------------------------------------
# A valid batch of all five files
# ---------------------------------------------------------------------------------------------

VALID_THERAPISTS = csv_text(
    "therapist_id,name,email",
    "T1,Ada Moss,ada@example.org",
    "T2,Ben Ode,",
)
VALID_CLIENTS = csv_text(
    "client_id,therapist_id,label,intake_date,primary_concern,goals,preferences,status",
    'C1,T1,Robin,2026-01-05,low mood,"Sleep better, walk daily",writing;visual,Active',
    "C2,T1,,2026-01-12,,,,",
    "C3,T2,Sam,2026-02-02,anxiety,,,paused",
)
VALID_ASSIGNMENTS = csv_text(
    "assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,est_minutes,goal,chosen_with_client,status",
    "A1,C1,Behavioral,Evening walk,2026-03-02,2026-03-08,7,20,move more,yes,",
    "A2,C1,Mindfulness & Meditation,Body scan,2026-03-02,2026-03-04,,10,,TRUE,active",
    "A3,C2,journal,Mood diary,2026-03-02,2026-03-02,2,,,1,cancelled",
    "A4,C3,Art,Collage,2026-03-03,2026-03-10,1,30,,No,",
    "A5,C3,Writing,Letter to self,2026-03-03,2026-03-10,1,,,,",
)
VALID_SUBMISSIONS = csv_text(
    "submission_id,assignment_id,submitted_at,completion,quality,mood_before,mood_after,minutes,client_note,therapist_feedback,feedback_at",
    'S1,A1,2026-03-03T19:00:00,Partial,2,4,6,15,"Walked, but only ""half"" way",Good start,2026-03-04T09:00:00Z',
    "S2,A1,2026-03-04T07:30:00+02:00,completed,4,,,25,,,",
    "S3,A2,2026-03-04T21:15:00Z,SKIPPED,0,5,5,0,,,",
)
VALID_MEASURES = csv_text(
    "client_id,measure,score,administered_on",
    "C1,phq 9,14,2026-03-01",
    "C1,GAD7,9,2026-03-01",
    "C3,PHQ-9,22,2026-03-03",
)
VALID_BATCH = (
    ("therapists.csv", VALID_THERAPISTS),
    ("clients.csv", VALID_CLIENTS),
    ("assignments.csv", VALID_ASSIGNMENTS),
    ("submissions.csv", VALID_SUBMISSIONS),
    ("measures.csv", VALID_MEASURES),
)


def test_a_valid_batch_of_all_five_files_is_accepted_with_exact_counts():
    con = open_store(":memory:")
    report = run(con, *VALID_BATCH)
    assert report.accepted, report.to_text()
    assert report.errors == []
    assert report.batch_id
    counted = {f.file: (f.table, f.rows_read, f.inserted, f.updated, f.unchanged, f.rejected) for f in report.files}
    assert counted == {
        "therapists.csv": ("therapists", 2, 2, 0, 0, 0),
        "clients.csv": ("clients", 3, 3, 0, 0, 0),
        "assignments.csv": ("assignments", 5, 5, 0, 0, 0),
        "submissions.csv": ("submissions", 3, 3, 0, 0, 0),
        "measures.csv": ("measures", 3, 3, 0, 0, 0),
    }
    assert {t: count(con, t) for t in CANONICAL_TABLES} == {
        "therapists": 2, "clients": 3, "assignments": 5, "submissions": 3, "measures": 3}
    frame = report.files_frame()
    assert list(frame.columns) == ["file", "table", "rows_read", "inserted", "updated", "unchanged", "kept", "rejected"]
    assert frame["inserted"].sum() == 16


def test_a_valid_batch_stores_normalised_values():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted

    assert rows(con, "select * from therapists order by 1") == [
        ("T1", "Ada Moss", "ada@example.org"),
        ("T2", "Ben Ode", None),  # empty -> missing
    ]
    assert rows(con, "select * from clients order by 1") == [
        # status "Active" -> active
        ("C1", "T1", "Robin", date(2026, 1, 5), "low mood", "Sleep better, walk daily", "writing;visual", "active"),
        # empty label -> the client_id; empty status -> active
        ("C2", "T1", "C2", date(2026, 1, 12), None, None, None, "active"),
        ("C3", "T2", "Sam", date(2026, 2, 2), "anxiety", None, None, "paused"),
    ]
    assert rows(con, "select * from assignments order by 1") == [
        # Behavioral -> behavioural; yes -> true; empty status -> active
        ("A1", "C1", "behavioural", "Evening walk", date(2026, 3, 2), date(2026, 3, 8), 7, 20, "move more", True, "active"),
        # Mindfulness & Meditation -> mindfulness; empty expected_count -> 1; TRUE -> true
        ("A2", "C1", "mindfulness", "Body scan", date(2026, 3, 2), date(2026, 3, 4), 1, 10, None, True, "active"),
        # journal -> journaling; 1 -> true
        ("A3", "C2", "journaling", "Mood diary", date(2026, 3, 2), date(2026, 3, 2), 2, None, None, True, "cancelled"),
        # Art -> creative; No -> false
        ("A4", "C3", "creative", "Collage", date(2026, 3, 3), date(2026, 3, 10), 1, 30, None, False, "active"),
        # Writing -> narrative; empty bool -> missing
        ("A5", "C3", "narrative", "Letter to self", date(2026, 3, 3), date(2026, 3, 10), 1, None, None, None, "active"),
    ]
    assert rows(con, "select * from submissions order by 1") == [
        # no offset: read in the practice zone (UTC by default); Partial -> partial; quotes unescaped
        ("S1", "A1", utc(2026, 3, 3, 19, 0), "partial", 2, 4, 6, 15, 'Walked, but only "half" way', "Good start",
         utc(2026, 3, 4, 9, 0)),
        # +02:00: 07:30 local is 05:30 UTC
        ("S2", "A1", utc(2026, 3, 4, 5, 30), "completed", 4, None, None, 25, None, None, None),
        # Z; SKIPPED -> skipped; zeros are values, not missing
        ("S3", "A2", utc(2026, 3, 4, 21, 15), "skipped", 0, 5, 5, 0, None, None, None),
    ]
    assert rows(con, "select * from measures order by 1, 2, 4") == [
        ("C1", "GAD-7", 9, date(2026, 3, 1)),  # GAD7 -> GAD-7
        ("C1", "PHQ-9", 14, date(2026, 3, 1)),  # phq 9 -> PHQ-9
        ("C3", "PHQ-9", 22, date(2026, 3, 3)),
    ]


def test_local_times_are_read_in_the_practice_time_zone_with_summer_time():
    con = open_store(":memory:")
    set_timezone(con, "Europe/London")
    assert run(con, ("therapists.csv", BASE_THERAPISTS), ("clients.csv", BASE_CLIENTS),
               ("assignments.csv", BASE_ASSIGNMENTS)).accepted
    report = run(con, ("submissions.csv", csv_text(
        "submission_id,assignment_id,submitted_at,completion,feedback_at",
        "S1,A1,2026-07-01T00:30:00,completed,2026-07-01T09:00:00",  # BST = UTC+1
        "S2,A1,2026-01-15T00:30:00,completed,",  # GMT = UTC+0
        "S3,A1,2026-07-01T00:30:00+02:00,completed,",  # an offset wins over the zone
        "S4,A1,2026-07-01T00:30:00Z,completed,",
    )))
    assert report.accepted, report.to_text()
    assert rows(con, "select submission_id, submitted_at, feedback_at from submissions order by 1") == [
        ("S1", utc(2026, 6, 30, 23, 30), utc(2026, 7, 1, 8, 0)),
        ("S2", utc(2026, 1, 15, 0, 30), None),
        ("S3", utc(2026, 6, 30, 22, 30), None),
        ("S4", utc(2026, 7, 1, 0, 30), None),
    ]


def test_date_times_with_a_space_minutes_only_or_fractions_are_accepted():
    con = open_store(":memory:")
    assert run(con, ("therapists.csv", BASE_THERAPISTS), ("clients.csv", BASE_CLIENTS),
               ("assignments.csv", BASE_ASSIGNMENTS)).accepted
    report = run(con, ("submissions.csv", csv_text(
        "submission_id,assignment_id,submitted_at,completion",
        "S1,A1,2026-03-03 18:30:00,completed",
        "S2,A1,2026-03-03T18:30,completed",
        "S3,A1,2026-03-03T18:30:00.250000-05:30,completed",  # 18:30 at -05:30 is 00:00 next day UTC
    )))
    assert report.accepted, report.to_text()
    assert rows(con, "select submission_id, submitted_at from submissions order by 1") == [
        ("S1", utc(2026, 3, 3, 18, 30)),
        ("S2", utc(2026, 3, 3, 18, 30)),
        ("S3", utc(2026, 3, 4, 0, 0, 0, 250000)),
    ]


@pytest.mark.parametrize("offset", ["+25:00", "+99:00", "+05:99", "-24:30"])
def test_an_impossible_utc_offset_is_not_a_date_time(con, offset):
    """BUG (analytics/ingest/importer.py, DATETIME_RE/_datetime_sql): the offset is checked only for its
    shape, and DuckDB's cast accepts any hours and minutes, so "2026-03-03T10:00:00+99:00" is
    stored as 2026-02-27 07:00 UTC, days away from what was meant. Real offsets lie within
    -12:00..+14:00 with minutes below 60.
    """
    report = run(con, ("submissions.csv", csv_text(
        "submission_id,assignment_id,submitted_at,completion",
        "S1,A1,2026-03-03T10:00:00+02:00,completed",
        f"S2,A1,2026-03-03T10:00:00{offset},completed",
    )))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(3, "submitted_at")]
    assert "not a date-time" in report.errors[0].reason


def test_surrounding_spaces_and_header_spelling_are_forgiven():
    con = open_store(":memory:")
    report = run(con, ("therapists.csv", csv_text(" Therapist ID , Name ", "  T1 ,  Ada Moss  ")))
    assert report.accepted, report.to_text()
    assert rows(con, "select therapist_id, name, email from therapists") == [("T1", "Ada Moss", None)]


# ---------------------------------------------------------------------------------------------
# Any subset of the files
# ---------------------------------------------------------------------------------------------


def test_submissions_only_referencing_an_assignment_already_in_the_store(con):
    report = run(con, ("submissions.csv", csv_text(
        "submission_id,assignment_id,submitted_at,completion", "S1,A1,2026-03-03T10:00:00,completed")))
    assert report.accepted, report.to_text()
    assert [(f.table, f.rows_read, f.inserted) for f in report.files] == [("submissions", 1, 1)]
    assert rows(con, "select submission_id, assignment_id from submissions") == [("S1", "A1")]


def test_measures_only(con):
    report = run(con, ("measures.csv", csv_text("client_id,measure,score,administered_on", "C1,GAD-7,3,2026-03-01")))
    assert report.accepted, report.to_text()
    assert rows(con, "select * from measures") == [("C1", "GAD-7", 3, date(2026, 3, 1))]


def test_clients_and_assignments_without_their_therapists_file(con):
    report = run(con,
                 ("assignments.csv", csv_text(
                     "assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                     "A2,C2,habit,Walk,2026-03-02,2026-03-03")),
                 ("clients.csv", csv_text("client_id,therapist_id,label", "C2,T1,Kim")))  # order in the batch is free
    assert report.accepted, report.to_text()
    assert rows(con, "select assignment_id, client_id, assignment_type from assignments order by 1") == [
        ("A1", "C1", "journaling"), ("A2", "C2", "behavioural")]


def test_a_file_name_that_is_not_a_table_is_recognised_by_its_header(con):
    report = run(con, ("export (3).csv", csv_text("client_id,therapist_id,label", "C2,T1,Kim")))
    assert report.accepted, report.to_text()
    assert report.files[0].table == "clients"
    assert rows(con, "select client_id from clients order by 1") == [("C1",), ("C2",)]


def test_a_folder_in_the_file_name_is_not_shown(con):
    report = run(con, ("C:\\Users\\me\\exports\\clients.csv", csv_text("client_id,therapist_id", "C1,T1")))
    assert report.files[0].file == "clients.csv"


# ---------------------------------------------------------------------------------------------
# Invalid rows: one kind each. The file has a good row on line 2 and the bad row on line 3.
# ---------------------------------------------------------------------------------------------

# A valid row per table, referring to what the `con` fixture holds (T1, C1, A1).
GOOD_ROW = {
    "therapists": {"therapist_id": "T2", "name": "Ben Ode", "email": "ben@example.org"},
    "clients": {"client_id": "C2", "therapist_id": "T1", "label": "Kim", "intake_date": "2026-01-05",
                "status": "active"},
    "assignments": {"assignment_id": "A2", "client_id": "C1", "assignment_type": "journaling", "title": "Diary",
                    "assigned_on": "2026-03-02", "due_on": "2026-03-08", "expected_count": "3", "est_minutes": "10",
                    "chosen_with_client": "true", "status": "active"},
    "submissions": {"submission_id": "S2", "assignment_id": "A1", "submitted_at": "2026-03-03T10:00:00",
                    "completion": "completed", "quality": "3", "mood_before": "4", "mood_after": "6",
                    "minutes": "10", "feedback_at": "2026-03-04T10:00:00"},
    "measures": {"client_id": "C1", "measure": "PHQ-9", "score": "10", "administered_on": "2026-03-01"},
}
# The key of the bad row, so that it differs from the good row's.
BAD_KEY = {
    "therapists": {"therapist_id": "T3"},
    "clients": {"client_id": "C3"},
    "assignments": {"assignment_id": "A3"},
    "submissions": {"submission_id": "S3"},
    "measures": {"administered_on": "2026-03-02"},
}

INVALID_ROWS = [
    # (table, changes to the good row, column named, words the reason contains)
    ("therapists", {"name": ""}, "name", "required value is missing"),
    ("therapists", {"name": "   "}, "name", "required value is missing"),
    ("clients", {"therapist_id": ""}, "therapist_id", "required value is missing"),
    ("submissions", {"completion": ""}, "completion", "required value is missing"),
    ("measures", {"score": ""}, "score", "required value is missing"),
    ("assignments", {"assigned_on": "2026-02-30"}, "assigned_on", "not a date"),
    ("assignments", {"due_on": "03/01/2026"}, "due_on", "not a date"),
    ("clients", {"intake_date": "2026-1-5"}, "intake_date", "not a date"),
    ("measures", {"administered_on": "2026-13-01"}, "administered_on", "not a date"),
    ("submissions", {"submitted_at": "2026-03-03T25:00:00"}, "submitted_at", "not a date-time"),
    ("submissions", {"submitted_at": "03/03/2026 10:00"}, "submitted_at", "not a date-time"),
    ("submissions", {"submitted_at": "2026-02-30T10:00:00Z"}, "submitted_at", "not a date-time"),
    ("submissions", {"feedback_at": "tomorrow"}, "feedback_at", "not a date-time"),
    ("submissions", {"mood_before": "five"}, "mood_before", "not a whole number between 0 and 10"),
    ("submissions", {"minutes": "1.5"}, "minutes", "not a whole number between 0 and 1440"),
    ("submissions", {"mood_after": "11"}, "mood_after", "not a whole number between 0 and 10"),
    ("submissions", {"mood_before": "-1"}, "mood_before", "not a whole number between 0 and 10"),
    ("submissions", {"quality": "5"}, "quality", "not a whole number between 0 and 4"),
    ("submissions", {"minutes": "99999999999"}, "minutes", "not a whole number between 0 and 1440"),
    ("assignments", {"expected_count": "0"}, "expected_count", "not a whole number between 1 and 1000"),
    ("assignments", {"est_minutes": "ten"}, "est_minutes", "not a whole number between 0 and 1440"),
    ("measures", {"score": "28"}, "score", "27"),
    ("measures", {"measure": "GAD-7", "score": "22"}, "score", "a GAD-7 score must be between 0 and 21"),
    ("submissions", {"completion": "done"}, "completion", "must be one of completed, partial, skipped"),
    ("clients", {"status": "archived"}, "status", "must be one of active, paused, discharged"),
    ("assignments", {"status": "finished"}, "status", "must be one of active, cancelled"),
    ("measures", {"measure": "BDI-II"}, "measure", "must be PHQ-9 or GAD-7"),
    ("assignments", {"chosen_with_client": "maybe"}, "chosen_with_client", "not true or false"),
    ("assignments", {"assigned_on": "2026-03-10", "due_on": "2026-03-09"}, "due_on", "due_on is before assigned_on"),
    ("submissions", {"submitted_at": "2026-03-03T10:00:00", "feedback_at": "2026-03-03T09:59:59"}, "feedback_at",
     "feedback_at is before submitted_at"),
    ("clients", {"therapist_id": "T404"}, "therapist_id", "therapist_id T404 is not in therapists.csv or the store"),
    ("assignments", {"client_id": "C404"}, "client_id", "client_id C404 is not in clients.csv or the store"),
    ("submissions", {"assignment_id": "A404"}, "assignment_id",
     "assignment_id A404 is not in assignments.csv or the store"),
    ("measures", {"client_id": "C404"}, "client_id", "client_id C404 is not in clients.csv or the store"),
]


@pytest.mark.parametrize(
    ("table", "changes", "column", "reason"), INVALID_ROWS,
    ids=[f"{t}-{c}-{'-'.join(v for v in ch.values())}" for t, ch, c, _ in INVALID_ROWS],
)
def test_an_invalid_row_is_named_by_line_and_column_and_refuses_the_batch(con, table, changes, column, reason):
    bad = {**GOOD_ROW[table], **BAD_KEY[table], **changes}
    data = csv_rows(table, [GOOD_ROW[table], bad])
    before = snapshot(con)

    report = run(con, (f"{table}.csv", data))

    assert not report.accepted
    assert report.batch_id is None
    matching = [p for p in report.errors if p.line == 3 and p.column == column and reason in p.reason]
    assert matching, report.to_text()
    assert {p.line for p in report.errors} == {3}  # the good row on line 2 has no problem
    assert all(p.file == f"{table}.csv" for p in report.errors)
    f = report.files[0]
    # the report says what the good row would do (one to add), and nothing is written
    assert (f.rows_read, f.rejected, f.inserted, f.updated, f.unchanged) == (2, 1, 1, 0, 0)
    assert snapshot(con) == before
    # the text report names the file, the line and the column
    assert f"{table}.csv, line 3, column {column}:" in report.to_text()


@pytest.mark.parametrize("table", sorted(GOOD_ROW))
def test_the_good_rows_of_the_invalid_row_tests_are_accepted(con, table):
    """The control for the test above: without the bad row the same file imports."""
    report = run(con, (f"{table}.csv", csv_rows(table, [GOOD_ROW[table]])))
    assert report.accepted, report.to_text()
    assert report.files[0].inserted == 1


def test_a_phq9_score_of_22_is_fine_while_a_gad7_score_of_22_is_not(con):
    report = run(con, ("measures.csv", csv_text(
        "client_id,measure,score,administered_on",
        "C1,PHQ-9,22,2026-03-01",
        "C1,GAD-7,22,2026-03-01",
        "C1,PHQ-9,27,2026-03-02",
        "C1,GAD-7,21,2026-03-02",
        "C1,PHQ-9,0,2026-03-03",
    )))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(3, "score")]
    ok = run(con, ("measures.csv", csv_text(
        "client_id,measure,score,administered_on", "C1,PHQ-9,22,2026-03-01", "C1,GAD-7,21,2026-03-02")))
    assert ok.accepted, ok.to_text()


def test_a_row_breaking_several_rules_lists_each_problem_once_and_counts_one_rejected_row(con):
    """Every rule a row breaks is its own problem (validate checks a row once, all rules in one pass); a duplicate id
    on another row is listed beside them; each bad row is one rejected row, and the good row stays good."""
    report = run(con, ("submissions.csv", csv_text(
        "submission_id,assignment_id,submitted_at,completion,mood_before,mood_after,minutes",
        "S1,A1,2026-03-03T18:00:00,completed,4,6,10",
        "S2,A1,03/03/2026 18:00,finished,four,6,-5",
        "S1,A1,2026-03-04T18:00:00,partial,4,,",
    )))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [
        (3, "completion"), (3, "minutes"), (3, "mood_before"), (3, "submitted_at"), (4, "submission_id")]
    assert "not a date-time" in errors_at(report, 3)[3].reason
    assert "the same submission_id as line 2" in errors_at(report, 4)[0].reason
    f = report.files[0]
    assert (f.rows_read, f.rejected, f.inserted) == (3, 2, 1)
    assert report.unlisted_problems == 0


def test_a_duplicate_id_rejects_the_second_occurrence_naming_the_first_line(con):
    report = run(con, ("assignments.csv", csv_text(
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on",
        "A2,C1,journaling,Diary,2026-03-02,2026-03-08",
        "A3,C1,journaling,Diary,2026-03-02,2026-03-08",
        "A2,C1,mindfulness,Breathe,2026-03-02,2026-03-08",
        " A2 ,C1,mindfulness,Breathe,2026-03-02,2026-03-08",  # the same id once spaces are removed
    )))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(4, "assignment_id"), (5, "assignment_id")]
    assert all("line 2" in p.reason for p in report.errors)
    assert report.files[0].rejected == 2


def test_a_duplicate_measure_key_spelled_differently_is_a_duplicate(con):
    """BUG (analytics/ingest/importer.py, _validate): the duplicate check compares the raw measure text, so
    "PHQ-9" and "phq9" for the same client and date pass; both are then written to one primary key.
    The report says 2 inserted while the store holds 1 row, and the second score (12) is lost silently.
    """
    report = run(con, ("measures.csv", csv_text(
        "client_id,measure,score,administered_on",
        "C1,PHQ-9,10,2026-03-01",
        "C1,phq9,12,2026-03-01",
    )))
    stored = rows(con, "select measure, score from measures")
    if report.accepted:  # whatever a fix decides, the counts must match the store
        assert report.files[0].inserted == len(stored)
    assert not report.accepted  # like any duplicate key: the second occurrence is rejected
    assert [p.line for p in report.errors] == [3]
    assert "line 2" in report.errors[0].reason


def test_a_row_whose_parent_in_the_same_batch_was_rejected_is_rejected_too(con):
    report = run(
        con,
        ("clients.csv", csv_text("client_id,therapist_id,label,status",
                                 "C2,T1,Kim,active",
                                 "C3,T1,Lee,gone")),  # bad status: C3 is rejected
        ("assignments.csv", csv_text("assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                                     "A2,C2,journaling,Diary,2026-03-02,2026-03-08",
                                     "A3,C3,journaling,Diary,2026-03-02,2026-03-08")),  # child of C3
        ("submissions.csv", csv_text("submission_id,assignment_id,submitted_at,completion",
                                     "S1,A2,2026-03-03T10:00:00,completed",
                                     "S2,A3,2026-03-03T10:00:00,completed")),  # grandchild of C3
    )
    assert not report.accepted
    found = sorted((p.file, p.line, p.column) for p in report.errors)
    assert found == [("assignments.csv", 3, "client_id"), ("clients.csv", 3, "status"),
                     ("submissions.csv", 3, "assignment_id")]
    assert "C3" in next(p.reason for p in report.errors if p.file == "assignments.csv")
    assert [f.rejected for f in report.files] == [1, 1, 1]


def test_a_ragged_row_is_rejected_naming_the_field_counts(con):
    report = run(con, ("clients.csv", csv_text(
        "client_id,therapist_id,label",
        "C2,T1,Kim",
        "C3,T1",
        "C4,T1,Lee,extra",
    )))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(3, ""), (4, "")]
    assert "2 fields" in report.errors[0].reason and "3" in report.errors[0].reason
    assert "4 fields" in report.errors[1].reason
    assert (report.files[0].rows_read, report.files[0].rejected) == (3, 2)


def test_malformed_quoting_refuses_the_file_naming_the_line(con):
    report = run(con, ("clients.csv", csv_text(
        "client_id,therapist_id,label",
        "C2,T1,Kim",
        'C3,T1,"Lee"x',
    )))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(3, "")]
    assert "malformed" in report.errors[0].reason


def test_an_unclosed_quote_refuses_the_file(con):
    report = run(con, ("clients.csv", b'client_id,therapist_id,label\nC2,T1,"Kim\nC3,T1,Lee\n'))
    assert not report.accepted
    assert len(report.errors) == 1 and "malformed" in report.errors[0].reason
    assert count(con, "clients") == 1


# ---------------------------------------------------------------------------------------------
# Line numbers are physical lines
# ---------------------------------------------------------------------------------------------


def test_a_quoted_line_break_shifts_the_line_numbers_of_later_rows(con):
    data = csv_text(
        "submission_id,assignment_id,submitted_at,completion,client_note",  # line 1
        'S1,A1,2026-03-03T10:00:00,completed,"first line',  # line 2
        "second line",  # line 3
        'third line"',  # line 4
        "S2,A1,2026-03-03T10:00:00,done,",  # line 5: bad completion
        'S3,A1,2026-03-03T10:00:00,"com',  # line 6: a line break inside the completion field
        'pleted",',  # line 7
        "S4,A1,2026-03-03T10:00:00,skipped,x,y",  # line 8: ragged
    )
    report = run(con, ("submissions.csv", data))
    assert [(p.line, p.column) for p in sorted(report.errors, key=lambda p: p.line)] == [
        (5, "completion"), (6, "completion"), (8, "")]
    assert report.files[0].rows_read == 4


def test_blank_lines_are_skipped_with_a_warning_and_counted(con):
    data = csv_text(
        "client_id,therapist_id,label",  # 1
        "",  # 2
        "C2,T1,Kim",  # 3
        "",  # 4
        "  ",  # 5: only spaces
        ",,",  # 6: only empty fields
        "C3,T1,Lee,oops",  # 7: ragged
        "",  # 8
    )
    report = run(con, ("clients.csv", data))
    assert [(p.line, p.column) for p in report.errors] == [(7, "")]
    warnings = [p for p in report.warnings if "blank" in p.reason]
    assert len(warnings) == 1
    assert warnings[0].reason.startswith("5 blank line(s)")  # lines 2, 4, 5, 6 and 8
    assert report.files[0].rows_read == 2

    ok = run(con, ("clients.csv", csv_text("client_id,therapist_id,label", "", "C2,T1,Kim", "", "C3,T1,Lee")),
             skip_invalid=False)
    assert ok.accepted
    assert ok.files[0].rows_read == 2 and ok.files[0].inserted == 2
    assert [p.reason for p in ok.warnings] == ["2 blank line(s) held no data and were skipped"]


def test_blank_lines_before_the_header_are_skipped(con):
    report = run(con, ("clients.csv", b"\n\nclient_id,therapist_id,label\nC2,T1,Kim\nC3,T1,Lee,x\n"))
    assert [(p.line, p.column) for p in report.errors] == [(5, "")]


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(con):
    data = (b"\xef\xbb\xbfclient_id,therapist_id,label,goals\r\n"
            b"C2,T1,Kim,\"walk\r\nsleep\"\r\n"
            b"C3,T1,Lee,\r\n")
    report = run(con, ("clients.csv", data))
    assert report.accepted, report.to_text()
    assert rows(con, "select client_id, label, goals from clients order by 1") == [
        ("C1", "Robin", None), ("C2", "Kim", "walk\r\nsleep"), ("C3", "Lee", None)]

    bad = data.replace(b"C3,T1,Lee,", b"C3,T9,Lee,")
    refused = run(con, ("clients.csv", bad))
    assert [(p.line, p.column) for p in refused.errors] == [(4, "therapist_id")]


# ---------------------------------------------------------------------------------------------
# File-level problems
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"], ids=["empty", "blank-lines", "bom-only"])
def test_an_empty_file_is_refused(con, data):
    before = snapshot(con)
    report = run(con, ("clients.csv", data))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(1, "")]
    assert "empty" in report.errors[0].reason
    assert snapshot(con) == before


def test_a_header_only_file_is_accepted_with_no_rows(con):
    report = run(con, ("clients.csv", b"client_id,therapist_id,label\n"))
    assert report.accepted
    assert report.problems == []
    f = report.files[0]
    assert (f.table, f.rows_read, f.inserted, f.updated, f.unchanged, f.rejected) == ("clients", 0, 0, 0, 0, 0)


def test_a_missing_required_column_is_named(con):
    report = run(con, ("assignments.csv", csv_text(
        "assignment_id,client_id,title,assigned_on",
        "A2,C1,Diary,2026-03-02",
    )))
    assert not report.accepted
    assert sorted((p.line, p.column) for p in report.errors) == [(1, "assignment_type"), (1, "due_on")]
    assert all("required column is missing" in p.reason for p in report.errors)
    assert "column assignment_type" in report.to_text()


def test_a_duplicated_column_is_refused(con):
    report = run(con, ("clients.csv", csv_text("client_id,therapist_id,label,Label", "C2,T1,Kim,Kimmy")))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(1, "label")]
    assert "twice" in report.errors[0].reason
    assert count(con, "clients") == 1


def test_an_unknown_extra_column_is_a_warning_and_ignored(con):
    report = run(con, ("clients.csv", csv_text("client_id,shoe_size,therapist_id,label", "C2,44,T1,Kim")))
    assert report.accepted, report.to_text()
    assert report.errors == []
    assert [(p.severity, p.line, p.column) for p in report.warnings] == [("warning", 1, "shoe_size")]
    assert "ignored" in report.warnings[0].reason
    assert rows(con, "select client_id, therapist_id, label from clients where client_id = 'C2'") == [("C2", "T1", "Kim")]


def test_an_unrecognisable_file_is_refused(con):
    report = run(con, ("data.csv", csv_text("name,shoe_size", "Ada,38")))
    assert not report.accepted
    assert report.files[0].table is None
    assert [(p.file, p.line) for p in report.errors] == [("data.csv", 1)]
    assert "cannot tell which table" in report.errors[0].reason
    assert "clients.csv" in report.errors[0].reason


def test_windows_1252_bytes_are_refused_naming_their_line(con):
    data = b"client_id,therapist_id,label\nC2,T1,Kim\nC3,T1,caf\xe9\nC4,T1,Lee\n"
    before = snapshot(con)
    report = run(con, ("clients.csv", data))
    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(3, "")]
    assert "UTF-8" in report.errors[0].reason
    assert snapshot(con) == before


@pytest.mark.parametrize("bad_byte", [b"\xe9", b"\xa3", b"\x80", b"\xff"], ids=["e-acute", "pound", "x80", "xff"])
def test_a_bad_byte_after_a_character_split_across_read_blocks_is_still_reported(con, bad_byte):
    """The reader decodes 64 KiB blocks. Here the block boundary falls inside a valid "é" and
    a Windows-1252 byte follows a few lines later, in the next block.

    BUG (analytics/ingest/importer.py, _LineCountingText.__iter__): after a block ends inside a
    multi-byte character, the decoder keeps that byte buffered; UnicodeDecodeError.start then
    counts it, so `block[: exc.start]` takes one byte too many and decoding it raises again,
    outside the `try`. For bytes such as \\xa3 (£) or \\x80 (€) import_batch raises
    UnicodeDecodeError instead of reporting "not valid UTF-8".
    """
    header = b"client_id,therapist_id,label\n"
    body = b"".join(b"C%05d,T1,x\n" % i for i in range(5000))  # 5000 rows of 11 bytes
    data = header + body
    split_line = b"CX,T1," + b"a" * (65535 - len(data) - 6) + "é".encode() + b"\n"
    data += split_line + b"CY,T1,caf" + bad_byte + b" 5\n"
    assert data[65535:65537] == "é".encode()  # the first read ends between the two bytes of é
    bad_line = 1 + 5000 + 1 + 1  # header, the rows, the split line, then the bad one

    report = run(con, ("clients.csv", data))

    assert not report.accepted
    assert [(p.line, p.column) for p in report.errors] == [(bad_line, "")]
    assert "UTF-8" in report.errors[0].reason


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_refused(con, encoding):
    data = "client_id,therapist_id,label\nC2,T1,Kim\n".encode(encoding)
    report = run(con, ("clients.csv", data))
    assert not report.accepted
    assert [p.line for p in report.errors] == [1]
    assert "UTF-16" in report.errors[0].reason
    assert count(con, "clients") == 1


def test_zip_or_excel_bytes_are_refused(con):
    report = run(con, ("clients.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binarystuff"))
    assert not report.accepted
    assert [p.line for p in report.errors] == [1]
    assert "zip or Excel" in report.errors[0].reason


def test_two_files_for_the_same_table_in_one_batch_are_refused(con):
    report = run(con,
                 ("clients.csv", csv_text("client_id,therapist_id,label", "C2,T1,Kim")),
                 ("more_clients.csv", csv_text("client_id,therapist_id,label", "C3,T1,Lee")))
    assert not report.accepted
    assert [(p.file, p.line) for p in report.errors] == [("more_clients.csv", None)]
    assert "second file for clients" in report.errors[0].reason
    assert "clients.csv" in report.errors[0].reason
    assert count(con, "clients") == 1


def test_an_unreadable_file_refuses_the_batch_even_with_skip_invalid(con):
    report = run(con,
                 ("therapists.csv", csv_text("therapist_id,name", "T2,Ben")),
                 ("clients.csv", b"caf\xe9\n"),
                 skip_invalid=True)
    assert not report.accepted
    assert count(con, "therapists") == 1


def test_no_files_is_not_accepted():
    con = open_store(":memory:")
    report = import_batch(con, [], scope=PRACTICE)
    assert not report.accepted
    assert len(report.errors) == 1


def test_clients_without_the_optional_label_column_import(con):
    """label is optional in the canonical format ("the client_id when empty") and so is a missing column.

    BUG (analytics/ingest/importer.py, _write_table / _typed_sql): when the label column is absent it is
    not written at all, and clients.label is NOT NULL without a default, so the insert raises
    duckdb.ConstraintException out of import_batch (a traceback on the command line).
    """
    try:
        report = run(con, ("clients.csv", csv_text("client_id,therapist_id", "C2,T1")))
    except duckdb.Error as exc:  # pragma: no cover - this is the bug
        pytest.fail(f"import_batch raised {type(exc).__name__}: {exc}")
    assert report.accepted, report.to_text()
    assert rows(con, "select client_id, label, status from clients where client_id = 'C2'") == [("C2", "C2", "active")]


def test_assignments_without_optional_columns_take_the_defaults(con):
    report = run(con, ("assignments.csv", csv_text(
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on",
        "A2,C1,mindful,Breathe,2026-03-02,2026-03-03")))
    assert report.accepted, report.to_text()
    assert rows(con, "select expected_count, status, chosen_with_client from assignments where assignment_id = 'A2'") == [
        (1, "active", None)]


# ---------------------------------------------------------------------------------------------
# Unknown assignment types
# ---------------------------------------------------------------------------------------------


def test_an_unknown_assignment_type_is_kept_as_written_with_one_warning_and_its_row_count(con):
    report = run(con, ("assignments.csv", csv_text(
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on",
        "A2,C1,Pottery,Bowl,2026-03-02,2026-03-08",  # line 2
        "A3,C1,Journalling,Diary,2026-03-02,2026-03-08",
        "A4,C1,Pottery,Vase,2026-03-02,2026-03-08",
        "A5,C1,Sleep hygiene,Lights out,2026-03-02,2026-03-08",  # line 5
    )))
    assert report.accepted, report.to_text()
    assert report.errors == []
    type_warnings = sorted((p.line, p.column, p.reason) for p in report.warnings)
    assert len(type_warnings) == 2  # one per unknown type, not one per row
    (line_a, column_a, reason_a), (line_b, column_b, reason_b) = type_warnings
    assert (line_a, column_a) == (2, "assignment_type")
    assert "Pottery" in reason_a and "(2 row(s))" in reason_a
    assert (line_b, column_b) == (5, "assignment_type")
    assert "Sleep hygiene" in reason_b and "(1 row(s))" in reason_b
    assert rows(con, "select assignment_id, assignment_type from assignments order by 1") == [
        ("A1", "journaling"), ("A2", "Pottery"), ("A3", "journaling"), ("A4", "Pottery"), ("A5", "Sleep hygiene")]


# ---------------------------------------------------------------------------------------------
# Refusal leaves the store exactly as it was
# ---------------------------------------------------------------------------------------------


def test_a_refused_batch_leaves_every_table_exactly_as_it_was():
    con = open_store(":memory:")
    set_timezone(con, "Europe/London")
    assert run(con, *VALID_BATCH).accepted
    before = snapshot(con)
    assert all(before[t] for t in (*CANONICAL_TABLES, "import_log", "settings"))  # something to lose

    report = run(
        con,
        ("therapists.csv", csv_text("therapist_id,name,email", "T1,Ada Changed,new@example.org", "T9,New,")),
        ("clients.csv", csv_text("client_id,therapist_id,label,goals", "C1,T9,Renamed,", "C9,T9,New,")),
        ("assignments.csv", csv_text("assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                                     "A1,C1,creative,Changed,2026-03-02,2026-03-09",
                                     "A9,C9,creative,New,2026-03-02,2026-03-09")),
        ("submissions.csv", csv_text("submission_id,assignment_id,submitted_at,completion",
                                     "S1,A1,2026-03-05T10:00:00,completed",
                                     "S9,A9,2026-03-05T10:00:00,completed")),
        ("measures.csv", csv_text("client_id,measure,score,administered_on",
                                  "C1,PHQ-9,1,2026-03-01",
                                  "C9,PHQ-9,99,2026-03-01")),  # the one bad row: score out of range
        existing="update",  # the changes to stored rows are confirmed: the bad row alone refuses the batch
    )
    assert not report.accepted
    assert [(p.file, p.line, p.column) for p in report.errors] == [("measures.csv", 3, "score")] * 2
    assert snapshot(con) == before
    # the importer's scratch tables are gone too
    temp = rows(con, "select table_name from duckdb_tables() where temporary")
    assert temp == []


# ---------------------------------------------------------------------------------------------
# Re-import
# ---------------------------------------------------------------------------------------------


def test_reimporting_the_same_files_changes_nothing():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted
    before = {t: rows(con, f"select * from {t} order by all") for t in CANONICAL_TABLES}

    again = run(con, *VALID_BATCH)

    assert again.accepted
    expected_rows = {"therapists.csv": 2, "clients.csv": 3, "assignments.csv": 5, "submissions.csv": 3,
                     "measures.csv": 3}
    assert {f.file: (f.rows_read, f.inserted, f.updated, f.unchanged) for f in again.files} == {
        name: (n, 0, 0, n) for name, n in expected_rows.items()}
    assert {t: rows(con, f"select * from {t} order by all") for t in CANONICAL_TABLES} == before
    assert count(con, "import_log") == 2


def test_a_changed_row_in_a_reimport_counts_as_updated_and_the_value_changes():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted
    changed_clients = VALID_CLIENTS.replace(b"C3,T2,Sam,2026-02-02,anxiety,,,paused",
                                            b"C3,T2,Sam,2026-02-02,anxiety,,,discharged")
    changed_submissions = VALID_SUBMISSIONS.replace(b"S3,A2,2026-03-04T21:15:00Z,SKIPPED,0,5,5,0",
                                                    b"S3,A2,2026-03-04T21:15:00Z,partial,0,5,7,0")
    report = run(con, ("clients.csv", changed_clients), ("submissions.csv", changed_submissions), existing="update")
    assert report.accepted
    assert [(f.inserted, f.updated, f.unchanged) for f in report.files] == [(0, 1, 2), (0, 1, 2)]
    assert rows(con, "select status from clients where client_id = 'C3'") == [("discharged",)]
    assert rows(con, "select completion, mood_after from submissions where submission_id = 'S3'") == [("partial", 7)]
    assert rows(con, "select updated, inserted from import_log order by imported_at desc limit 1") == [(2, 0)]


def test_a_file_without_an_optional_column_keeps_that_columns_stored_values():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted
    # clients.csv again without goals, preferences and status; C1's label changes
    report = run(con, ("clients.csv", csv_text(
        "client_id,therapist_id,label,intake_date,primary_concern",
        "C1,T1,Robin R,2026-01-05,low mood",
        "C2,T1,,2026-01-12,",
        "C3,T2,Sam,2026-02-02,anxiety",
    )), existing="update")
    assert report.accepted
    assert [(f.inserted, f.updated, f.unchanged) for f in report.files] == [(0, 1, 2)]
    assert rows(con, "select client_id, label, goals, preferences, status from clients order by 1") == [
        ("C1", "Robin R", "Sleep better, walk daily", "writing;visual", "active"),
        ("C2", "C2", None, None, "active"),
        ("C3", "Sam", None, None, "paused"),  # status kept: the file had no status column
    ]


def test_an_empty_optional_field_in_a_reimport_clears_the_stored_value():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted
    report = run(con, ("clients.csv", VALID_CLIENTS.replace(b'"Sleep better, walk daily"', b"")), existing="update")
    assert [(f.updated, f.unchanged) for f in report.files] == [(1, 2)]
    assert rows(con, "select goals from clients where client_id = 'C1'") == [(None,)]


def test_an_import_never_deletes_rows_missing_from_the_file():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted
    report = run(con, ("assignments.csv", csv_text(
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on",
        "A2,C1,mindfulness,Body scan,2026-03-02,2026-03-04",
    )))
    assert report.accepted
    assert [(f.inserted, f.updated, f.unchanged) for f in report.files] == [(0, 0, 1)]
    assert count(con, "assignments") == 5
    assert count(con, "submissions") == 3


# ---------------------------------------------------------------------------------------------
# skip_invalid
# ---------------------------------------------------------------------------------------------


def test_skip_invalid_writes_the_valid_rows_and_lists_the_rejected_ones():
    con = open_store(":memory:")
    assert run(con, *VALID_BATCH).accepted
    report = run(con, ("submissions.csv", csv_text(
        "submission_id,assignment_id,submitted_at,completion,mood_after",
        "S1,A1,2026-03-03T19:00:00,partial,6",  # 2: unchanged (as stored)
        "S2,A1,2026-03-04T05:30:00Z,partial,",  # 3: updated (completed -> partial)
        "S4,A2,2026-03-05T10:00:00,completed,8",  # 4: inserted
        "S5,A9,2026-03-05T10:00:00,completed,8",  # 5: rejected, no assignment A9
        "S6,A2,2026-03-05T10:00:00,completed,12",  # 6: rejected, mood 12
        "S7,A2,2026-03-05T10:00:00,completed",  # 7: rejected, ragged
        "S8,A5,2026-03-06T10:00:00,skipped,",  # 8: inserted
        "S4,A2,2026-03-05T10:00:00,completed,8",  # 9: rejected, duplicate of line 4
    )), skip_invalid=True, existing="update")
    assert report.accepted
    f = report.files[0]
    assert (f.rows_read, f.inserted, f.updated, f.unchanged, f.rejected) == (8, 2, 1, 1, 4)
    assert f.rows_read == f.inserted + f.updated + f.unchanged + f.rejected
    assert sorted(p.line for p in report.errors) == [5, 6, 7, 9]
    assert rows(con, "select submission_id, completion from submissions order by 1") == [
        ("S1", "partial"), ("S2", "partial"), ("S3", "skipped"), ("S4", "completed"), ("S8", "skipped")]
    logged = json.loads(rows(con, "select files from import_log order by imported_at desc limit 1")[0][0])
    assert logged[0]["rejected"] == 4 and logged[0]["inserted"] == 2


def test_skip_invalid_drops_the_children_of_rejected_parents():
    con = open_store(":memory:")
    report = run(
        con,
        ("therapists.csv", csv_text("therapist_id,name", "T1,Ada", "T2,")),  # T2 rejected: no name
        ("clients.csv", csv_text("client_id,therapist_id,label", "C1,T1,a", "C2,T2,b")),
        skip_invalid=True,
    )
    assert report.accepted
    assert [(f.inserted, f.rejected) for f in report.files] == [(1, 1), (1, 1)]
    assert [(p.file, p.line, p.column) for p in report.errors] == [
        ("therapists.csv", 3, "name"), ("clients.csv", 3, "therapist_id")]
    assert rows(con, "select client_id from clients") == [("C1",)]


# ---------------------------------------------------------------------------------------------
# The import log, scope, and what a reason may show
# ---------------------------------------------------------------------------------------------


def test_an_accepted_import_is_logged_and_a_refused_one_is_not():
    con = open_store(":memory:")
    report = import_batch(con, list(VALID_BATCH), scope=PRACTICE, imported_by="Dr Ada (upload)")
    assert report.accepted
    log = import_log(con)
    assert len(log) == 1
    entry = log.iloc[0]
    assert entry["batch_id"] == report.batch_id
    assert entry["imported_by"] == "Dr Ada (upload)"
    assert entry["inserted"] == 2 + 3 + 5 + 3 + 3
    assert entry["updated"] == 0
    assert abs(entry["imported_at"].timestamp() - datetime.now(UTC).timestamp()) < 600
    files = json.loads(entry["files"])
    assert [f["file"] for f in files] == [name for name, _ in VALID_BATCH]
    assert [f["sha256"] for f in files] == [hashlib.sha256(data).hexdigest() for _, data in VALID_BATCH]
    assert [f["rows_read"] for f in files] == [2, 3, 5, 3, 3]
    assert [f["inserted"] for f in files] == [2, 3, 5, 3, 3]
    assert [f["table"] for f in files] == ["therapists", "clients", "assignments", "submissions", "measures"]

    refused = run(con, ("clients.csv", csv_text("client_id,therapist_id,label", "C9,T404,X")))
    assert not refused.accepted
    assert len(import_log(con)) == 1


def test_the_sha256_of_a_path_source_is_that_of_its_bytes(tmp_path):
    con = open_store(":memory:")
    path = tmp_path / "therapists.csv"
    path.write_bytes(VALID_THERAPISTS)
    report = import_batch(con, [("therapists.csv", path)], scope=PRACTICE, imported_by="tester")
    assert report.accepted
    assert report.files[0].sha256 == hashlib.sha256(VALID_THERAPISTS).hexdigest()
    assert count(con, "therapists") == 2


def test_imported_by_defaults_to_the_operating_system_user():
    con = open_store(":memory:")
    assert import_batch(con, [("therapists.csv", VALID_THERAPISTS)], scope=PRACTICE).accepted
    assert import_log(con)["imported_by"].tolist() == [getpass.getuser()]


def test_a_therapist_scope_cannot_import(con):
    before = snapshot(con)
    with pytest.raises(ScopeError):
        import_batch(con, [("therapists.csv", csv_text("therapist_id,name", "T2,Ben"))],
                     scope=Scope.therapist("T1"))
    assert snapshot(con) == before


NOTE = "ZEBRA-OBLIVION-7731 my private words"


def test_note_text_is_never_echoed_in_a_problem(con):
    report = run(con,
                 ("submissions.csv", csv_rows("submissions", [
                     {**GOOD_ROW["submissions"], "submission_id": "S5", "mood_after": "11", "completion": "nope",
                      "client_note": NOTE, "therapist_feedback": NOTE},
                     {**GOOD_ROW["submissions"], "submission_id": "S6", "assignment_id": "A404", "client_note": NOTE},
                     {**GOOD_ROW["submissions"], "submission_id": "S5", "client_note": NOTE},  # duplicate
                 ]) + f'S7,A1,2026-03-03T10:00:00,completed,,,,,"{NOTE}",\n'.encode()),  # ragged
                 ("clients.csv", csv_rows("clients", [
                     {**GOOD_ROW["clients"], "client_id": "C7", "status": "gone", "goals": NOTE}])),
                 ("assignments.csv", csv_rows("assignments", [
                     {**GOOD_ROW["assignments"], "expected_count": "0", "goal": NOTE}])))
    assert not report.accepted
    assert len(report.errors) >= 6
    for problem in report.problems:
        assert "ZEBRA" not in problem.reason
    assert "ZEBRA" not in report.to_text()
    assert "ZEBRA" not in report.problems_frame().to_csv()


def test_problem_counts_stay_exact_beyond_the_listed_cap(con):
    bad_rows = 1200
    lines = ["submission_id,assignment_id,submitted_at,completion,mood_after"]
    lines += [f"S{i},A1,2026-03-03T10:00:00,completed,11" for i in range(bad_rows)]
    report = run(con, ("submissions.csv", csv_text(*lines)))
    assert not report.accepted
    f = report.files[0]
    assert (f.rows_read, f.rejected) == (1200, 1200)
    assert len(report.errors) == MAX_LISTED_PROBLEMS  # 1000 listed
    assert report.unlisted_problems == 200  # 1200 - 1000
    assert len(report.errors) + report.unlisted_problems == bad_rows
    # the text shows 50 and counts the rest: 1200 - 50 = 1150
    assert report.to_text().endswith("... and 1150 more")

    skipped = run(con, ("submissions.csv", csv_text(*lines, "S_ok,A1,2026-03-03T10:00:00,completed,5")),
                  skip_invalid=True)
    assert skipped.accepted
    assert (skipped.files[0].rejected, skipped.files[0].inserted) == (1200, 1)


# ---------------------------------------------------------------------------------------------
# Round trip, by property
# ---------------------------------------------------------------------------------------------

SAFE_ID = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12)
# Any text, including commas, quotes, line breaks and unicode. Surrounding whitespace is removed
# by the importer by design ("surrounding spaces removed, empty read as missing"), so generated
# values come pre-stripped; empty text stands for a missing value.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40).map(str.strip)
FIELD_TEXT = ANY_TEXT | st.sampled_from(['a, "b"', "line\nbreak", "crlf\r\nbreak", "tab\there", "ünïcødé ☂ 漢字", "=1+2"])
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
# Submissions are made in the past: one later than the import is refused (checks.FUTURE_SKEW_MINUTES).
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC))
OFFSETS = st.sampled_from([None, "Z", "+00:00", "+02:00", "-05:30", "+13:00"])


def iso(instant: datetime, offset: str | None) -> str:
    """instant written as local time at the offset (no offset: UTC, the practice's default zone)."""
    if offset in (None, "Z"):
        text = instant.astimezone(UTC).replace(tzinfo=None).isoformat()
        return text + ("Z" if offset else "")
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return instant.astimezone(zone).isoformat()


def none_if_empty(text: str) -> str | None:
    return text or None


@st.composite
def datasets(draw):
    client_ids = draw(st.lists(SAFE_ID, min_size=1, max_size=4, unique=True))
    clients = [{
        "client_id": cid, "therapist_id": "T1", "label": draw(FIELD_TEXT),
        "intake_date": draw(st.none() | DATES), "primary_concern": draw(FIELD_TEXT), "goals": draw(FIELD_TEXT),
        "preferences": draw(FIELD_TEXT), "status": draw(st.sampled_from(CLIENT_STATUSES)),
    } for cid in client_ids]
    assignment_ids = draw(st.lists(SAFE_ID, min_size=1, max_size=5, unique=True))
    assignments = []
    for aid in assignment_ids:
        assigned = draw(DATES)
        assignments.append({
            "assignment_id": aid, "client_id": draw(st.sampled_from(client_ids)),
            "assignment_type": draw(st.sampled_from(ASSIGNMENT_TYPES)),
            "title": draw(FIELD_TEXT.filter(bool)), "assigned_on": assigned,
            "due_on": assigned + timedelta(days=draw(st.integers(0, 60))),
            "expected_count": draw(st.integers(1, 1000)), "est_minutes": draw(st.none() | st.integers(0, 1440)),
            "goal": draw(FIELD_TEXT), "chosen_with_client": draw(st.none() | st.booleans()),
            "status": draw(st.sampled_from(ASSIGNMENT_STATUSES)),
        })
    submission_ids = draw(st.lists(SAFE_ID, max_size=6, unique=True))
    submissions = []
    for sid in submission_ids:
        submitted = draw(INSTANTS)
        feedback = draw(st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
        submissions.append({
            "submission_id": sid, "assignment_id": draw(st.sampled_from(assignment_ids)),
            "submitted_at": submitted, "submitted_offset": draw(OFFSETS),
            "completion": draw(st.sampled_from(COMPLETIONS)),
            "quality": draw(st.none() | st.integers(0, 4)), "mood_before": draw(st.none() | st.integers(0, 10)),
            "mood_after": draw(st.none() | st.integers(0, 10)), "minutes": draw(st.none() | st.integers(0, 1440)),
            "client_note": draw(FIELD_TEXT), "therapist_feedback": draw(FIELD_TEXT),
            "feedback_at": None if feedback is None else submitted + feedback,
            "feedback_offset": draw(OFFSETS),
        })
    return clients, assignments, submissions


def write_csv(columns: tuple[str, ...], records: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)  # the csv module's defaults: \r\n line ends, minimal quoting
    writer.writerow(columns)
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


def csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_round_trip_of_generated_rows_gives_back_exactly_the_same_values(data):
    clients, assignments, submissions = data
    con = open_store(":memory:")
    try:
        client_columns = TABLES["clients"].column_names
        assignment_columns = TABLES["assignments"].column_names
        submission_columns = TABLES["submissions"].column_names
        files = [
            ("therapists.csv", csv_text("therapist_id,name", "T1,Ada")),
            ("clients.csv", write_csv(client_columns, [[csv_value(c[k]) for k in client_columns] for c in clients])),
            ("assignments.csv", write_csv(
                assignment_columns, [[csv_value(a[k]) for k in assignment_columns] for a in assignments])),
            ("submissions.csv", write_csv(submission_columns, [[
                iso(s["submitted_at"], s["submitted_offset"]) if k == "submitted_at"
                else "" if k == "feedback_at" and s["feedback_at"] is None
                else iso(s["feedback_at"], s["feedback_offset"]) if k == "feedback_at"
                else csv_value(s[k])
                for k in submission_columns] for s in submissions])),
        ]
        report = run(con, *files)
        assert report.accepted, report.to_text()
        assert report.problems == []
        assert [f.inserted for f in report.files] == [1, len(clients), len(assignments), len(submissions)]

        assert rows(con, "select * from clients order by client_id") == sorted(
            (c["client_id"], "T1", c["label"] or c["client_id"], c["intake_date"], none_if_empty(c["primary_concern"]),
             none_if_empty(c["goals"]), none_if_empty(c["preferences"]), c["status"])
            for c in clients)
        assert rows(con, "select * from assignments order by assignment_id") == sorted(
            (a["assignment_id"], a["client_id"], a["assignment_type"], a["title"], a["assigned_on"], a["due_on"],
             a["expected_count"], a["est_minutes"], none_if_empty(a["goal"]), a["chosen_with_client"], a["status"])
            for a in assignments)
        assert rows(con, "select * from submissions order by submission_id") == sorted(
            (s["submission_id"], s["assignment_id"], s["submitted_at"], s["completion"], s["quality"],
             s["mood_before"], s["mood_after"], s["minutes"], none_if_empty(s["client_note"]),
             none_if_empty(s["therapist_feedback"]), s["feedback_at"])
            for s in submissions)

        # and importing the same bytes again changes nothing
        again = run(con, *files)
        assert [(f.inserted, f.updated) for f in again.files] == [(0, 0)] * 4
    finally:
        con.close()
