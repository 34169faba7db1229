"""The MindLogger / Curious report.csv preset, on fixtures written from the documented format: item rows grouped
into submissions, clients from secret_user_id, scheduled and self-initiated entries, the mood item, epoch
milliseconds and timezone offsets, older column names, missing optional columns and column order."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import MINDLOGGER, Mapping
from analytics.store.database import open_store
from analytics.store.scope import Scope

PRACTICE = Scope.practice()
COLUMNS = ["id", "activity_flow_submission_id", "activity_scheduled_time", "activity_start_time", "activity_end_time",
           "flag", "secret_user_id", "userId", "source_user_subject_id", "source_user_secret_id",
           "target_user_secret_id", "activity_id", "activity_name", "activity_flow_id", "activity_flow_name", "item",
           "item_id", "response", "prompt", "options", "version", "rawScore", "reviewing_id", "event_id",
           "timezone_offset", "Anxiety subscale"]
# 2026-03-02 09:00:00 UTC and friends, in epoch milliseconds.
SCHEDULED = "1772442000000"
STARTED = "1772442300000"
ENDED = "1772442900000"  # 09:15 UTC
LATER_ENDED = "1772532900250.6"  # 2026-03-03 10:15:00.251 UTC (fractional milliseconds are exported too)


def item_row(**values: str) -> dict[str, str]:
    base = {"id": "ans-1", "activity_scheduled_time": SCHEDULED, "activity_start_time": STARTED,
            "activity_end_time": ENDED, "flag": "completed", "secret_user_id": "C1", "userId": "u-1",
            "activity_id": "act-breathe", "activity_name": "Mindfulness: breathing", "item": "mood_now",
            "item_id": "item-1", "response": "value: 7", "prompt": "How is your mood?", "options": "0: 0, 10: 10",
            "version": "1.2.0", "event_id": "ev-1", "timezone_offset": "60", "Anxiety subscale": "3"}
    return {**base, **values}


REPORT = [
    item_row(),  # line 2: submission ans-1 (scheduled), mood 7
    item_row(item="note", item_id="item-2", response="value: 1 | text: calmer, \"really\""),  # line 3: same submission
    item_row(id="ans-2", activity_scheduled_time="not scheduled", activity_end_time=LATER_ENDED,
             response="value: 4", event_id=""),  # line 4: self-initiated
    item_row(id="ans-3", secret_user_id="C2", activity_id="act-diary", activity_name="Sleep diary",
             flag="incomplete", response="value: 3", timezone_offset="-300"),  # line 5
]


def report_csv(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def con():
    connection = open_store(":memory:")
    connection.execute("insert into therapists values ('T1', 'Ada Moss', null), ('T2', 'Ben Ode', null)")
    yield connection
    connection.close()


def run(con, data: bytes, mapping: Mapping = MINDLOGGER, **kwargs):
    return import_batch(con, [("report.csv", data)], scope=PRACTICE, imported_by="tester", mapping=mapping, **kwargs)


def with_therapist(**options) -> Mapping:
    return Mapping("mindlogger", therapist_id="T1", **options)


def test_item_rows_become_one_submission_per_activity_submission(con):
    report = run(con, report_csv(REPORT), with_therapist())
    assert report.accepted, report.to_text()
    assert {f.table: (f.rows_read, f.inserted) for f in report.files} == {
        "clients": (2, 2), "assignments": (3, 3), "submissions": (3, 3)}
    rows = con.execute("select s.submission_id, s.submitted_at, s.completion, s.mood_after, a.title, a.client_id "
                       "from submissions s join assignments a using (assignment_id) order by 1").fetchall()
    assert rows == [
        ("ans-1", datetime(2026, 3, 2, 9, 15, tzinfo=UTC), "completed", 7, "Mindfulness: breathing", "C1"),
        ("ans-2", datetime(2026, 3, 3, 10, 15, 0, 251000, tzinfo=UTC), "completed", 4,
         "Mindfulness: breathing (self-initiated)", "C1"),
        ("ans-3", datetime(2026, 3, 2, 9, 15, tzinfo=UTC), "partial", 3, "Sleep diary", "C2"),  # incomplete -> partial
    ]
    assert con.execute("select client_id, therapist_id from clients order by 1").fetchall() == [("C1", "T1"), ("C2", "T1")]
    # the activity name says mindfulness; a sleep diary is "other" unless the analyst maps it
    assert con.execute("select title, assignment_type from assignments order by 1").fetchall() == [
        ("Mindfulness: breathing", "mindfulness"), ("Mindfulness: breathing (self-initiated)", "mindfulness"),
        ("Sleep diary", "other")]


def test_a_scheduled_entry_is_due_on_its_scheduled_day_and_a_self_initiated_one_never(con):
    assert run(con, report_csv(REPORT), with_therapist()).accepted
    scheduled = con.execute("select assigned_on, due_on, expected_count, status from assignments "
                            "where title = 'Mindfulness: breathing'").fetchone()
    assert scheduled == (date(2026, 3, 2), date(2026, 3, 2), 1, "active")
    extra = con.execute("select assigned_on, due_on, status from assignments where title like '%(self-initiated)'").fetchone()
    assert extra == (date(2026, 3, 3), date(9999, 12, 31), "active")
    # Adherence as of a year later: the two scheduled entries are due (credit 1 + 0.5); the self-initiated one
    # is never in the denominator, yet its submission counts as a submission with its mood.
    due = con.execute("select sum(expected_count), sum(credit) from due_assignments(date '2027-03-01', null)").fetchone()
    assert due == (2, 1.5)
    progress = con.execute("select title, is_due, submissions from assignment_progress(date '2027-03-01', null) "
                           "order by title").fetchall()
    assert progress[1] == ("Mindfulness: breathing (self-initiated)", False, 1)
    assert con.execute("select count(*) from submission_facts where mood_after is not null").fetchone() == (3,)


def test_the_mood_item_is_the_analysts_choice(con):
    assert run(con, report_csv(REPORT), with_therapist(mood_item="note")).accepted
    assert con.execute("select submission_id, mood_after from submissions order by 1").fetchall() == [
        ("ans-1", 1), ("ans-2", None), ("ans-3", None)]  # "value: 1 | text: ..." -> 1


def test_respondents_not_in_the_store_need_a_therapist(con):
    con.execute("delete from therapists where therapist_id = 'T2'")  # one therapist left: it is proposed
    assert run(con, report_csv(REPORT)).accepted
    con.execute("insert into therapists values ('T2', 'Ben Ode', null)")
    fresh = report_csv([item_row(id="ans-9", secret_user_id="C9")])
    refused = run(con, fresh)
    assert not refused.accepted
    assert any("not clients in the store" in p.reason for p in refused.errors)
    assert run(con, fresh, Mapping("mindlogger", therapist_id="T2")).accepted
    assert con.execute("select therapist_id from clients where client_id = 'C9'").fetchone() == ("T2",)


def test_older_names_another_column_order_and_missing_optional_columns(con):
    older = ["source_subject_id", "activity_name", "activity_id", "item", "response", "activity_end_time",
             "activity_scheduled_time", "user_id"]  # no id, no flag, no timezone_offset, no event_id
    rows = [{"source_subject_id": "C1", "activity_name": "Walk", "activity_id": "act-walk", "item": "Mood",
             "response": "value: 6", "activity_end_time": ENDED, "activity_scheduled_time": SCHEDULED, "user_id": "u"},
            {"source_subject_id": "C1", "activity_name": "Walk", "activity_id": "act-walk", "item": "Energy",
             "response": "value: 2", "activity_end_time": ENDED, "activity_scheduled_time": SCHEDULED, "user_id": "u"}]
    report = run(con, report_csv(rows, older), with_therapist())
    assert report.accepted, report.to_text()
    assert con.execute("select completion, mood_after from submissions").fetchall() == [("completed", 6)]
    assert any("grouped into submissions by respondent" in p.reason for p in report.warnings)


def test_item_rows_of_one_submission_that_disagree_are_an_error_naming_both_lines(con):
    rows = [item_row(), item_row(item="note", activity_end_time=LATER_ENDED)]
    report = run(con, report_csv(rows), with_therapist())
    assert not report.accepted
    conflict = next(p for p in report.errors if "conflicting" in p.reason)
    assert conflict.line == 3
    assert f"end_time is {LATER_ENDED} here but {ENDED} on line 2" in conflict.reason
    assert con.execute("select count(*) from submissions").fetchone() == (0,)


def test_an_end_time_that_is_not_epoch_milliseconds_is_named(con):
    report = run(con, report_csv([item_row(activity_end_time="NaN")]), with_therapist())
    assert [(p.line, p.column) for p in report.errors] == [(2, "activity_end_time (submitted_at)")]
    assert "not a date-time" in report.errors[0].reason


def test_reimporting_the_same_report_changes_nothing(con):
    assert run(con, report_csv(REPORT), with_therapist()).accepted
    again = run(con, report_csv(REPORT), with_therapist())
    assert [(f.table, f.inserted, f.updated) for f in again.files] == [("assignments", 0, 0), ("submissions", 0, 0)]


def test_the_command_line_mindlogger_preset(tmp_path, capsys):
    from analytics.cli import main

    db = tmp_path / "store.duckdb"
    con = open_store(db)
    con.execute("insert into therapists values ('T1', 'Ada', null), ('T2', 'Ben', null)")
    con.close()
    path = tmp_path / "report.csv"
    path.write_bytes(report_csv(REPORT))
    assert main(["import", "--db", str(db), "--format", "mindlogger", "--mood-item", "note", "--therapist", "T2",
                 str(path)]) == 0
    out = capsys.readouterr().out
    assert "report.csv -> submissions: 3 read, 3 added" in out
    con = open_store(db)
    assert con.execute("select count(*) from clients where therapist_id = 'T2'").fetchone() == (2,)
    con.close()
