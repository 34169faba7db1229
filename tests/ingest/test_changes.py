"""What an import will change, before it happens: the dry run's counts are those of the import that follows;
stored rows that would change need a decision (refused by default, changed when confirmed, left alone with
"only new"); the changed columns and a sample of before and after, free text hidden unless allowed."""

from __future__ import annotations

import pytest

from analytics.ingest.importer import import_batch
from analytics.ingest.report import HIDDEN
from analytics.store.database import CANONICAL_TABLES, open_store
from analytics.store.scope import Scope

PRACTICE = Scope.practice()


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# The stored practice: T1, clients C1 and C2, assignment A1 (C1), submissions S1-S3 (A1), one PHQ-9 of C1.
STORED = [
    ("therapists.csv", csv("therapist_id,name,email", "T1,Ada Moss,ada@example.org")),
    ("clients.csv", csv("client_id,therapist_id,label,goals", "C1,T1,Robin,Sleep better", "C2,T1,Kim,")),
    ("assignments.csv", csv("assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count",
                            "A1,C1,journaling,Mood diary,2026-03-02,2026-03-08,3")),
    ("submissions.csv", csv("submission_id,assignment_id,submitted_at,completion,mood_after,client_note",
                            "S1,A1,2026-03-03T10:00:00Z,completed,6,felt calmer",
                            "S2,A1,2026-03-04T10:00:00Z,completed,5,",
                            "S3,A1,2026-03-05T10:00:00Z,partial,,")),
    ("measures.csv", csv("client_id,measure,score,administered_on", "C1,PHQ-9,14,2026-03-01")),
]

# A second export of submissions: S1 as stored, S2 and S3 changed, S4 new. By hand: 1 to add, 2 to change
# (completion on S2 and S3; mood_after on S2; client_note on S3), 1 unchanged.
SECOND = ("submissions.csv", csv("submission_id,assignment_id,submitted_at,completion,mood_after,client_note",
                                 "S1,A1,2026-03-03T10:00:00Z,completed,6,felt calmer",  # line 2: as stored
                                 "S2,A1,2026-03-04T10:00:00Z,skipped,7,",  # line 3: completion, mood_after
                                 "S3,A1,2026-03-05T10:00:00Z,completed,,private words",  # 4: completion, client_note
                                 "S4,A1,2026-03-06T10:00:00Z,completed,8,"))  # line 5: new


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in CANONICAL_TABLES}


@pytest.fixture
def con():
    connection = open_store(":memory:")
    assert import_batch(connection, STORED, scope=PRACTICE, imported_by="setup").accepted
    yield connection
    connection.close()


def counts(report) -> list[tuple]:
    return [(f.file, f.table, f.rows_read, f.inserted, f.updated, f.unchanged, f.kept, f.rejected) for f in report.files]


def test_by_default_a_batch_that_would_change_stored_rows_is_refused_and_says_which(con):
    before = snapshot(con)
    report = import_batch(con, [SECOND], scope=PRACTICE)
    assert not report.accepted
    assert snapshot(con) == before
    assert counts(report) == [("submissions.csv", "submissions", 4, 1, 2, 1, 0, 0)]
    assert report.files[0].changed_columns == {"completion": 2, "mood_after": 1, "client_note": 1}
    (error,) = report.errors
    assert error.file == "submissions.csv"
    assert error.reason.startswith("2 submissions already stored would change (completion 2, mood_after 1, "
                                   "client_note 1); nothing was written")
    assert "--update-existing" in error.reason and "--only-new" in error.reason


def test_the_dry_run_says_the_same_counts_as_the_import_that_follows(con):
    for existing in ("update", "skip"):
        connection = open_store(":memory:")
        assert import_batch(connection, STORED, scope=PRACTICE).accepted
        dry = import_batch(connection, [SECOND], scope=PRACTICE, dry_run=True, existing=existing)
        assert not dry.accepted and dry.errors == []
        done = import_batch(connection, [SECOND], scope=PRACTICE, existing=existing)
        assert done.accepted
        assert counts(dry) == counts(done)
        assert dry.files[0].changed_columns == done.files[0].changed_columns
        assert dry.samples_frame(show_free_text=True).equals(done.samples_frame(show_free_text=True))
        # what the import did is what it said: one new row, and the stored rows as chosen
        assert connection.execute("select count(*) from submissions").fetchone() == (4,)
        completion = connection.execute("select completion from submissions where submission_id = 'S2'").fetchone()
        assert completion == (("skipped",) if existing == "update" else ("completed",))
        connection.close()


def test_a_dry_run_of_a_five_file_batch_equals_its_import_on_an_empty_store():
    dry_store, store = open_store(":memory:"), open_store(":memory:")
    dry = import_batch(dry_store, STORED, scope=PRACTICE, dry_run=True)
    done = import_batch(store, STORED, scope=PRACTICE)
    assert counts(dry) == counts(done)
    assert [f[3] for f in counts(done)] == [1, 2, 1, 3, 1]  # rows added per file, by hand
    assert snapshot(dry_store) == {t: [] for t in CANONICAL_TABLES}


def test_a_confirmed_change_is_written_and_counted(con):
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    assert report.accepted
    assert counts(report) == [("submissions.csv", "submissions", 4, 1, 2, 1, 0, 0)]
    assert con.execute("select submission_id, completion, mood_after, client_note from submissions order by 1").fetchall() == [
        ("S1", "completed", 6, "felt calmer"), ("S2", "skipped", 7, None), ("S3", "completed", None, "private words"),
        ("S4", "completed", 8, None)]


def test_only_new_adds_the_new_rows_and_leaves_stored_ones_as_they_are(con):
    before = {row[0]: row for row in con.execute("select * from submissions").fetchall()}
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="skip")
    assert report.accepted and report.errors == []
    assert counts(report) == [("submissions.csv", "submissions", 4, 1, 0, 1, 2, 0)]
    after = {row[0]: row for row in con.execute("select * from submissions").fetchall()}
    assert set(after) == {"S1", "S2", "S3", "S4"}
    assert all(after[key] == before[key] for key in before)
    assert "2 left as stored" in report.to_text()


def test_a_confirmed_count_that_no_longer_holds_refuses_the_import(con):
    # The analyst confirmed 1 change, but the store now gives 2: nothing is written.
    before = snapshot(con)
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update", expect_changes=1)
    assert not report.accepted
    assert snapshot(con) == before
    assert any("the store changed since the check: 2 stored row(s) would change now, not the 1 confirmed"
               in p.reason for p in report.errors)
    assert import_batch(con, [SECOND], scope=PRACTICE, existing="update", expect_changes=2).accepted


def test_the_sample_shows_before_and_after_and_hides_free_text_unless_allowed(con):
    report = import_batch(con, [SECOND], scope=PRACTICE, dry_run=True, existing="update")
    shown = report.samples_frame(show_free_text=True)
    shown = shown.astype(object).where(shown.notna(), None)  # an empty value is missing, not a word
    assert shown.values.tolist() == [
        ["submissions", 3, "S2", "completion", "completed", "skipped"],
        ["submissions", 3, "S2", "mood_after", "5", "7"],
        ["submissions", 4, "S3", "completion", "partial", "completed"],
        ["submissions", 4, "S3", "client_note", None, "private words"],
    ]
    hidden = report.samples_frame(show_free_text=False)
    assert hidden.values.tolist()[3] == ["submissions", 4, "S3", "client_note", HIDDEN, HIDDEN]
    assert "private words" not in report.to_text()
    assert "private words" in report.to_text(show_free_text=True)
    assert report.changes_frame().values.tolist() == [
        ["submissions.csv", "submissions", "completion", 2], ["submissions.csv", "submissions", "mood_after", 1],
        ["submissions.csv", "submissions", "client_note", 1]]


def test_instants_in_the_sample_are_written_in_utc(con):
    moved = ("submissions.csv", csv("submission_id,assignment_id,submitted_at,completion",
                                    "S1,A1,2026-03-03T12:00:00+01:00,completed"))
    report = import_batch(con, [moved], scope=PRACTICE, dry_run=True, existing="update")
    assert report.samples_frame(show_free_text=True)[["before", "after"]].values.tolist() == [
        ["2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z"]]


def test_identical_rows_are_neither_changes_nor_new(con):
    report = import_batch(con, STORED, scope=PRACTICE)
    assert report.accepted
    assert [(f.inserted, f.updated, f.unchanged) for f in report.files] == [(0, 0, 1), (0, 0, 2), (0, 0, 1),
                                                                             (0, 0, 3), (0, 0, 1)]
    assert report.changing == 0



def test_a_first_import_that_meets_someone_elses_new_row_with_the_same_key_is_refused_without_a_traceback(
        tmp_path, monkeypatch):
    """A table's first import writes from a view of every typed row (changes.plan_table): a row with one of its keys
    that another session adds between the plan and the write is refused by the key, and nothing of the batch stays."""
    from analytics.ingest import importer

    con = open_store(tmp_path / "store.duckdb")
    assert import_batch(con, STORED[:3], scope=PRACTICE).accepted  # no submission stored yet
    other = con.cursor()
    original = importer.write_table

    def meanwhile(*args, **kwargs):
        if not getattr(meanwhile, "done", False):
            meanwhile.done = True
            other.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                          "values ('S2', 'A1', timestamptz '2026-03-04 12:00:00+00', 'skipped')")
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "write_table", meanwhile)
    report = import_batch(con, [STORED[3]], scope=PRACTICE)
    assert not report.accepted and report.batch_id is None
    assert [p.reason for p in report.errors] == [
        "someone else changed the same rows at the same moment, so nothing was written; check the files again and "
        "import"]
    assert con.execute("select submission_id, completion from submissions").fetchall() == [("S2", "skipped")]
    assert con.execute("select count(*) from import_log").fetchone() == (1,)
    assert con.execute("select count(*) from undo_submissions").fetchone() == (0,)


CONFLICT = ("someone else changed the same rows at the same moment, so nothing was written; check the files again and "
            "import")


def write_meanwhile(monkeypatch, con, sql: str):
    """Make the next import's first write_table run `sql` first on another cursor (another session of the same process,
    as the dashboard gives each user), committed while the import's transaction is open; returns the original."""
    from analytics.ingest import importer

    other, original = con.cursor(), importer.write_table

    def meanwhile(*args, **kwargs):
        if not getattr(meanwhile, "done", False):
            meanwhile.done = True
            other.execute(sql)
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "write_table", meanwhile)
    return original


def test_a_write_that_meets_someone_elses_write_to_the_same_row_is_refused_without_a_traceback(tmp_path, monkeypatch):
    from analytics.ingest import importer

    con = open_store(tmp_path / "store.duckdb")
    assert import_batch(con, STORED, scope=PRACTICE).accepted
    original = write_meanwhile(monkeypatch, con, "update submissions set completion = 'partial' where submission_id = 'S2'")
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    assert not report.accepted and report.batch_id is None
    assert [p.reason for p in report.errors] == [CONFLICT]
    # the other session's write stands; ours left nothing behind
    assert con.execute("select completion from submissions where submission_id = 'S2'").fetchone() == ("partial",)
    assert con.execute("select count(*) from submissions").fetchone() == (3,)
    assert con.execute("select count(*) from import_log").fetchone() == (1,)
    monkeypatch.setattr(importer, "write_table", original)
    assert import_batch(con, [SECOND], scope=PRACTICE, existing="update").accepted  # and it can be done again


def test_an_assignment_moved_by_an_import_while_someone_reschedules_it_is_refused_and_the_reschedule_stands(
        tmp_path, monkeypatch):
    # The import moves A1 to client C2 (its client_id changes); meanwhile another session moves its due date. DuckDB
    # 2.0.1 turns an update of a column with a secondary index into a delete and an insert that does not see the other
    # session's commit (docs/DESIGN.md "Wave 14"): with an index on assignments (client_id) this import was accepted
    # and the new due date lost.
    con = open_store(tmp_path / "store.duckdb")
    assert import_batch(con, STORED, scope=PRACTICE).accepted
    write_meanwhile(monkeypatch, con, "update assignments set due_on = date '2026-03-09' where assignment_id = 'A1'")
    moved = ("assignments.csv", csv("assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count",
                                    "A1,C2,journaling,Mood diary,2026-03-02,2026-03-08,3"))
    report = import_batch(con, [moved], scope=PRACTICE, existing="update")
    assert not report.accepted and report.batch_id is None
    assert [p.reason for p in report.errors] == [CONFLICT]
    assert con.execute("select client_id, due_on::varchar from assignments where assignment_id = 'A1'").fetchone() == (
        "C1", "2026-03-09")
    assert con.execute("select index_name from duckdb_indexes()").fetchall() == []  # (why: docs/DESIGN.md "Wave 14")


def test_new_submissions_are_stored_in_time_order_whatever_the_files_order():
    # A file listing its submissions newest first (as some exports do): stored in time order, by their position in the
    # table (rowid), so a window of days reads only its own part of the table.
    connection = open_store(":memory:")
    newest_first = ("submissions.csv", csv("submission_id,assignment_id,submitted_at,completion",
                                           *(f"S{n},A1,2026-03-{n:02d}T10:00:00Z,completed" for n in range(7, 1, -1))))
    try:
        assert import_batch(connection, [*STORED[:3], newest_first], scope=PRACTICE, imported_by="test").accepted
        stored = connection.execute("select submission_id from submissions order by rowid").fetchall()
        assert stored == [(f"S{n}",) for n in range(2, 8)]
    finally:
        connection.close()
