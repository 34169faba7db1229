"""Real exports as they come (synthetic data in their shapes): a MindLogger report.csv padded into aligned
columns, the newer per-item MindLogger responses.csv layout, and a flat export whose missed rows carry no time."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from analytics.ingest.importer import import_batch, inspect_file
from analytics.ingest.mapping import FLAT, Mapping
from analytics.store.database import open_store
from analytics.store.scope import Scope

PRACTICE = Scope.practice()


def cell(value: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([value])
    return out.getvalue()


def aligned(columns: list[str], rows: list[dict[str, str]]) -> bytes:
    """CSV as aligned exports write it: every field padded with spaces to its column's width, quoted fields
    followed by spaces before the comma."""
    table = [[cell(c) for c in columns], *[[cell(row.get(c, "")) for c in columns] for row in rows]]
    widths = [max(len(r[i]) for r in table) + 1 for i in range(len(columns))]
    return ("\n".join(",".join(v.ljust(widths[i]) for i, v in enumerate(r)) for r in table) + "\n").encode()


def plain(columns: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# The older report.csv layout (the one the Child Mind Institute's published samples show padded).
OLD_COLUMNS = ["id", "activity_flow_submission_id", "activity_scheduled_time", "activity_start_time",
               "activity_end_time", "flag", "secret_user_id", "userId", "activity_id", "activity_name", "item",
               "item_id", "response", "prompt", "options", "version", "rawScore", "event_id", "timezone_offset"]
ENDED = "1772442900000"  # 2026-03-02 09:15:00 UTC
LATER = "1772532900000"  # 2026-03-03 10:15:00 UTC


def old_row(**values: str) -> dict[str, str]:
    base = {"id": "sub-1", "activity_scheduled_time": "1772442000000", "activity_start_time": "1772442300000",
            "activity_end_time": ENDED, "flag": "completed", "secret_user_id": "P-01", "userId": "u-1",
            "activity_id": "act-1", "activity_name": "Evening check-in", "item": "mood_before", "item_id": "i-1",
            "response": "value: 4", "prompt": "Mood now?", "options": "0: 0, 10: 10", "version": "1.0.0",
            "event_id": "ev-1", "timezone_offset": "-300"}
    return {**base, **values}


OLD_ROWS = [
    old_row(),  # line 2
    old_row(item="mood_after", item_id="i-2", response="value: 7"),  # line 3: same submission
    old_row(item="feelings", item_id="i-3", response="value: 1, 0", options="A: 0, B: 1"),  # 4: a multi-select
    old_row(id="sub-2", activity_end_time=LATER, item="mood_before", response="value: 3"),  # line 5
    old_row(id="sub-2", activity_end_time=LATER, item="mood_after", item_id="i-2", response="value: 8"),  # line 6
]


@pytest.fixture
def con():
    connection = open_store(":memory:")
    connection.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    yield connection
    connection.close()


def test_a_padded_report_is_read_with_a_note_and_imports_as_the_plain_one_does(con):
    data = aligned(OLD_COLUMNS, OLD_ROWS)
    assert re.search(rb'"value: 1, 0" +,', data) and b"sub-1 " in data  # really padded, spaces after a closing quote
    mapping = Mapping("mindlogger", therapist_id="T1", mood_item="mood_after", mood_before_item="mood_before")
    report = import_batch(con, [("report.csv", data)], scope=PRACTICE, mapping=mapping)
    assert report.accepted, report.to_text()
    assert any(p.severity == "note" and "padded with spaces" in p.reason for p in report.problems)
    assert con.execute("select submission_id, submitted_at, mood_before, mood_after, completion from submissions "
                       "order by 1").fetchall() == [
        ("sub-1", datetime(2026, 3, 2, 9, 15, tzinfo=UTC), 4, 7, "completed"),
        ("sub-2", datetime(2026, 3, 3, 10, 15, tzinfo=UTC), 3, 8, "completed")]
    assert con.execute("select client_id from clients").fetchall() == [("P-01",)]  # trimmed, not "P-01   "

    plain_store = open_store(":memory:")
    plain_store.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    assert import_batch(plain_store, [("report.csv", plain(OLD_COLUMNS, OLD_ROWS))], scope=PRACTICE,
                        mapping=mapping).accepted
    for table in ("clients", "assignments", "submissions"):
        assert con.execute(f"select * from {table} order by all").fetchall() == \
            plain_store.execute(f"select * from {table} order by all").fetchall()


def test_a_padded_file_with_text_after_a_closing_quote_is_still_refused(con):
    data = b'client_id , therapist_id , label\nC9 , T1 , "Kim"x\n'
    report = import_batch(con, [("clients.csv", data)], scope=PRACTICE, mapping=Mapping("canonical"))
    assert not report.accepted
    assert any("malformed" in p.reason and p.line == 2 for p in report.errors), report.to_text()


def test_the_strict_canonical_path_does_not_unpad():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    report = import_batch(con, [("clients.csv", b'client_id,therapist_id,label\nC9,T1,"Kim"  \n')], scope=PRACTICE)
    assert not report.accepted
    assert any("malformed" in p.reason for p in report.errors)


# The newer per-item layout (responses.csv): other column names, the subject as target_secret_id.
NEW_COLUMNS = ["target_id", "target_secret_id", "target_nickname", "source_id", "source_secret_id", "input_id",
               "userId", "secret_user_id", "applet_version", "activity_flow_id", "activity_flow_name",
               "activity_flow_submission_id", "activity_id", "activity_name", "activity_submission_id",
               "activity_start_time", "activity_end_time", "activity_schedule_id", "activity_schedule_start_time",
               "utc_timezone_offset", "activity_submission_review_id", "item_id", "item_name", "item_prompt",
               "item_response_options", "item_response", "item_response_status", "rawScore"]


def new_row(**values: str) -> dict[str, str]:
    base = {"target_id": "t-1", "target_secret_id": "P-01", "target_nickname": "Robin", "source_id": "s-1",
            "source_secret_id": "P-01", "userId": "u-1", "secret_user_id": "P-01", "applet_version": "2.1.0",
            "activity_id": "act-2", "activity_name": "Mindfulness practice", "activity_submission_id": "as-1",
            "activity_start_time": "1772442300000", "activity_end_time": ENDED, "activity_schedule_id": "sch-1",
            "activity_schedule_start_time": "1772442000000", "utc_timezone_offset": "60", "item_id": "i-9",
            "item_name": "calm_0_10", "item_prompt": "How calm are you?", "item_response_options": "0: 0, 10: 10",
            "item_response": "value: 6", "item_response_status": "completed"}
    return {**base, **values}


NEW_ROWS = [
    new_row(),  # line 2
    new_row(item_id="i-8", item_name="calm_before", item_response="value: 2"),  # line 3
    new_row(activity_submission_id="as-2", activity_end_time=LATER, activity_schedule_start_time="not scheduled",
            item_response="value: 9", item_response_status="incomplete"),  # line 4: self-initiated
]


def test_the_newer_responses_layout_is_recognised_and_mapped(con):
    data = plain(NEW_COLUMNS, NEW_ROWS)
    draft = inspect_file(con, "responses.csv", data)
    assert draft.proposal.target == "mindlogger"
    proposed = {field: source for source, field in draft.proposal.columns if field}
    assert proposed == {"submission_id": "activity_submission_id", "flow_submission_id": "activity_flow_submission_id",
                        "client_id": "target_secret_id", "activity_id": "activity_id",
                        "activity_name": "activity_name", "scheduled_time": "activity_schedule_start_time",
                        "start_time": "activity_start_time", "end_time": "activity_end_time",
                        "timezone_offset": "utc_timezone_offset", "flag": "item_response_status",
                        "item": "item_name", "item_id": "item_id", "response": "item_response",
                        "event_id": "activity_schedule_id"}
    assert draft.items == ["calm_0_10", "calm_before"]

    mapping = Mapping("mindlogger", therapist_id="T1", mood_item="calm_0_10", mood_before_item="calm_before",
                      values=(("completion", (("incomplete", "partial"),)),))
    report = import_batch(con, [("responses.csv", data)], scope=PRACTICE, mapping=mapping)
    assert report.accepted, report.to_text()
    assert con.execute("select s.submission_id, s.completion, s.mood_before, s.mood_after, a.title, a.due_on "
                       "from submissions s join assignments a using (assignment_id) order by 1").fetchall() == [
        ("as-1", "completed", 2, 6, "Mindfulness practice", datetime(2026, 3, 2).date()),
        ("as-2", "partial", None, 9, "Mindfulness practice (self-initiated)", datetime(9999, 12, 31).date())]
    assert con.execute("select assignment_type from assignments").fetchall() == [("mindfulness",)] * 2


def test_the_mood_items_chosen_are_kept_in_a_saved_mapping():
    mapping = Mapping("mindlogger", mood_item="calm_0_10", mood_before_item="calm_before")
    again = Mapping.from_json(mapping.to_json())
    assert (again.mood_item, again.mood_before_item) == ("calm_0_10", "calm_before")


# A flat export of a homework app: missed rows have no time; types are the dashboard's own labels.
FLAT_EXPORT = (
    b"Patient ID,Therapist,Homework,Type,Assigned,Due date,Submitted,Status\n"
    b"C1,T1,Walk,Behavioural,2026-03-01,2026-03-07,2026-03-02T18:00:00Z,done\n"  # 2
    b"C1,T1,Walk,Behavioural,2026-03-01,2026-03-07,,missed\n"  # 3: missed, no time
    b"C1,T1,Letter,Narrative,2026-03-01,2026-03-08,,missed\n"  # 4: missed, no time: the assignment only
    b"C1,T1,Worksheet,CBT worksheet,2026-03-02,2026-03-09,2026-03-03T09:00:00Z,missed\n"  # 5: skipped, with a time
)


def test_missed_rows_without_a_time_are_counted_and_are_not_submissions(con):
    report = import_batch(con, [("export.csv", FLAT_EXPORT)], scope=PRACTICE, mapping=FLAT)
    assert report.accepted, report.to_text()
    (note,) = [p for p in report.problems if "missed row" in p.reason]
    assert (note.severity, note.line) == ("note", 3)
    assert note.reason == "2 missed row(s) (skipped, no time submitted) are not submissions: the assignment stays " \
                          "due and uncredited"
    counts = {f.table: (f.rows_read, f.inserted) for f in report.files}
    assert counts == {"clients": (1, 1), "assignments": (3, 3), "submissions": (2, 2)}
    assert con.execute("select a.title, a.assignment_type, count(s.submission_id), "
                       "coalesce(sum(case s.completion when 'completed' then 1 else 0 end), 0) "
                       "from assignments a left join submissions s using (assignment_id) group by 1, 2 order by 1"
                       ).fetchall() == [("Letter", "narrative", 0, 0), ("Walk", "behavioural", 1, 1),
                                        ("Worksheet", "journaling", 1, 0)]


def test_a_quoted_note_with_spaces_beside_quotes_inside_is_not_taken_for_padding(con):
    data = b'client_id,therapist_id,label,goals\nC9,T1,Kim,"felt better, ""quoted"" words , and "" more"\n'
    report = import_batch(con, [("clients.csv", data)], scope=PRACTICE, mapping=Mapping("canonical"))
    assert report.accepted, report.to_text()
    assert not any("padded" in p.reason for p in report.problems)
    assert con.execute("select goals from clients").fetchone() == ('felt better, "quoted" words , and " more',)
