"""Undoing an import batch: import, change, undo gives a store equal, table by table, to the one before; an undo
is refused with its reason when a later batch or an edit touched the same rows or built on rows it added."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import built_once

from analytics.cli import main
from analytics.ingest.canonical import TABLES
from analytics.ingest.changes import ROW_KEPT, row_digest_sql, row_hash_sql
from analytics.ingest.importer import import_batch
from analytics.ingest.undo import batch_files, batch_history, undo_batch
from analytics.metrics.clients import save_feedback
from analytics.store.database import CANONICAL_TABLES, open_store
from analytics.store.scope import Scope, ScopeError
from tests.ingest.test_changes import SECOND, STORED, csv

PRACTICE = Scope.practice()
EVERY_TABLE = (*CANONICAL_TABLES, "assignment_details", "library_templates", "saved_mappings", "settings")


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in EVERY_TABLE}


def undo(con, batch_id: str):
    return undo_batch(con, batch_id, scope=PRACTICE, undone_by="tester")


def _stored(store: Path) -> None:
    connection = open_store(store)
    try:
        assert import_batch(connection, STORED, scope=PRACTICE, imported_by="setup").accepted
    finally:
        connection.close()


@pytest.fixture
def con(tmp_path: Path):
    """A store holding STORED, imported as the first batch (imported once per process, then the file copied)."""
    connection = open_store(built_once("test_undo STORED", tmp_path / "undo.duckdb", _stored))
    yield connection
    connection.close()


# Every table changes: a therapist renamed and one added, a client moved to the new therapist and one added,
# an assignment changed and one added, submissions changed and added, a measure changed and one added.
CHANGE = [
    ("therapists.csv", csv("therapist_id,name,email", "T1,Ada Moss-Byron,", "T2,Ben Ode,ben@example.org")),
    ("clients.csv", csv("client_id,therapist_id,label,goals", "C1,T2,Robin,Walk daily", "C3,T2,Sam,")),
    ("assignments.csv", csv("assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count",
                            "A1,C1,journaling,Mood diary,2026-03-02,2026-03-10,4",
                            "A2,C3,mindfulness,Body scan,2026-03-03,2026-03-09,2")),
    SECOND,
    ("measures.csv", csv("client_id,measure,score,administered_on", "C1,PHQ-9,12,2026-03-01",
                         "C3,GAD-7,9,2026-03-04")),
]


def test_import_change_undo_gives_the_store_as_it_was_table_by_table(con):
    before = snapshot(con)
    report = import_batch(con, CHANGE, scope=PRACTICE, existing="update")
    assert report.accepted, report.to_text()
    # by hand: added 1 + 1 + 1 + 1 + 1 rows, changed 1 + 1 + 1 + 2 + 1
    assert [(f.inserted, f.updated) for f in report.files] == [(1, 1), (1, 1), (1, 1), (1, 2), (1, 1)]
    assert snapshot(con) != before

    result = undo(con, report.batch_id)

    assert result.done, result.to_text()
    assert snapshot(con) == before
    assert result.removed == {"therapists": 1, "clients": 1, "assignments": 1, "submissions": 1, "measures": 1}
    assert result.restored == {"therapists": 1, "clients": 1, "assignments": 1, "submissions": 2, "measures": 1}
    history = batch_history(con)
    assert history.loc[history["batch_id"] == report.batch_id, "undone_at"].notna().all()
    assert not history.loc[history["batch_id"] == report.batch_id, "can_undo"].item()


def test_the_first_batch_can_be_undone_to_an_empty_store():
    con = open_store(":memory:")
    report = import_batch(con, STORED, scope=PRACTICE)
    assert undo(con, report.batch_id).done
    assert {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in CANONICAL_TABLES} == dict.fromkeys(
        CANONICAL_TABLES, 0)


def test_an_undo_is_refused_when_feedback_was_given_since_on_a_submission_it_wrote(con):
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    save_feedback(con, scope=PRACTICE, submission_id="S4", text="Well done", at=datetime(2026, 3, 7, tzinfo=UTC))
    before = snapshot(con)
    result = undo(con, report.batch_id)
    assert not result.done
    assert snapshot(con) == before
    (reason,) = result.reasons
    assert reason.startswith("1 submissions row(s) this batch wrote were changed since (e.g. S4) by an edit in the "
                             "dashboard (feedback, a plan) or another program")


def _as_written_before_digest_kinds(con, batch_id: str) -> None:
    """Rewrite the batch's kept digests as batches written before DIGEST_KIND kept them: md5 over the row's JSON."""
    for table in CANONICAL_TABLES:
        keys = TABLES[table].key
        con.execute(f"update undo_{table} u set row_hash = {row_hash_sql(table, 'cur')} from {table} cur "
                    f"where u.batch_id = ? and {' and '.join(f'cur.{k} = u.{k}' for k in keys)}", [batch_id])


def test_an_undo_checks_the_md5_digests_batches_kept_before_and_undoes_when_nothing_changed(con):
    before = snapshot(con)
    report = import_batch(con, CHANGE, scope=PRACTICE, existing="update")
    _as_written_before_digest_kinds(con, report.batch_id)
    kinds = {con.execute(f"select count(*) from undo_{t} where batch_id = ? and row_hash like 'm2:%'",
                         [report.batch_id]).fetchone()[0] for t in CANONICAL_TABLES}
    assert kinds == {0}
    assert undo(con, report.batch_id).done
    assert snapshot(con) == before


def test_an_undo_refuses_when_a_row_with_an_md5_digest_was_changed_since(con):
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    _as_written_before_digest_kinds(con, report.batch_id)
    save_feedback(con, scope=PRACTICE, submission_id="S4", text="Well done", at=datetime(2026, 3, 7, tzinfo=UTC))
    result = undo(con, report.batch_id)
    assert not result.done
    (reason,) = result.reasons
    assert reason.startswith("1 submissions row(s) this batch wrote were changed since (e.g. S4)")


# Every column of submissions, so the rows it adds are kept from what the batch wrote (not read back from the store).
WHOLE = ("submissions.csv", csv(",".join(TABLES["submissions"].column_names),
                                "S5,A1,2026-03-06T09:30:00+02:00,completed,3,4,6,20,a note,,",
                                "S6,A1,2026-03-07T10:00:00Z,partial,,,,,,Good start,2026-03-07T12:00:00.000001Z"))


@pytest.mark.parametrize(("files", "added"), [
    (CHANGE, {"therapists": 1, "clients": 1, "assignments": 1, "submissions": 1, "measures": 1}),  # columns missing
    ([WHOLE], {"therapists": 0, "clients": 0, "assignments": 0, "submissions": 2, "measures": 0}),  # every column
])
def test_a_batch_keeps_each_row_it_added_whole_as_it_was_stored(con, files, added):
    report = import_batch(con, files, scope=PRACTICE, existing="update")
    assert report.accepted, report.to_text()
    for table in CANONICAL_TABLES:
        columns = ", ".join(TABLES[table].column_names)
        kept = con.execute(f"select {columns} from undo_{table} where batch_id = ? and action = 'insert' and "
                           f"row_hash = ?", [report.batch_id, ROW_KEPT]).fetchall()
        assert len(kept) == added[table]
        keys = ", ".join(TABLES[table].key)
        stored = con.execute(f"select {columns} from {table} where ({keys}) in (select ({keys}) from undo_{table} "
                             f"where batch_id = ? and action = 'insert')", [report.batch_id]).fetchall()
        assert sorted(kept, key=repr) == sorted(stored, key=repr)  # defaults included (clients.status 'active')


# What another program might do to a row the batch added, each undone by the second statement.
EDITS = [
    ("update submissions set mood_after = 9 where submission_id = 'S5'",
     "update submissions set mood_after = 6 where submission_id = 'S5'"),
    ("update submissions set client_note = null where submission_id = 'S5'",
     "update submissions set client_note = 'a note' where submission_id = 'S5'"),
    ("update submissions set therapist_feedback = 'Thanks' where submission_id = 'S5'",
     "update submissions set therapist_feedback = null where submission_id = 'S5'"),
    ("update submissions set feedback_at = feedback_at + interval 1 microsecond where submission_id = 'S6'",
     "update submissions set feedback_at = feedback_at - interval 1 microsecond where submission_id = 'S6'"),
]


@pytest.mark.parametrize(("edit", "back"), EDITS)
def test_an_undo_refuses_when_any_value_of_a_row_it_added_changed_and_undoes_once_it_is_back(con, edit, back):
    before = snapshot(con)
    report = import_batch(con, [WHOLE], scope=PRACTICE)
    con.execute(edit)
    edited = snapshot(con)
    result = undo(con, report.batch_id)
    assert not result.done
    assert snapshot(con) == edited
    key = "S6" if "S6" in edit else "S5"
    assert result.reasons == (f"1 submissions row(s) this batch wrote were changed since (e.g. {key}) by an edit in "
                              "the dashboard (feedback, a plan) or another program; undoing would lose it",)
    con.execute(back)
    assert undo(con, report.batch_id).done
    assert snapshot(con) == before


def _as_written_before_rows_were_kept(con, batch_id: str) -> None:
    """Rewrite the batch's added rows in undo_<table> as the release before kept them: the key and an m2: digest of
    the row as written, the other columns empty."""
    for table in CANONICAL_TABLES:
        keys = TABLES[table].key
        others = [c for c in TABLES[table].column_names if c not in keys]
        con.execute(f"update undo_{table} u set row_hash = {row_digest_sql(table, 'cur')}, "
                    f"{', '.join(f'{c} = null' for c in others)} from {table} cur where u.batch_id = ? and "
                    f"u.action = 'insert' and {' and '.join(f'cur.{k} = u.{k}' for k in keys)}", [batch_id])


@pytest.mark.parametrize("files", [CHANGE, [WHOLE]])
def test_batches_of_a_store_written_before_rows_were_kept_whole_still_undo(con, files):
    before = snapshot(con)
    report = import_batch(con, files, scope=PRACTICE, existing="update")
    _as_written_before_rows_were_kept(con, report.batch_id)
    kinds = {r for t in CANONICAL_TABLES for r in con.execute(
        f"select distinct left(row_hash, 3) from undo_{t} where batch_id = ?", [report.batch_id]).fetchall()}
    assert kinds == {("m2:",)}
    assert undo(con, report.batch_id).done
    assert snapshot(con) == before


def test_batches_of_a_store_written_before_rows_were_kept_whole_refuse_when_a_row_changed(con):
    report = import_batch(con, [WHOLE], scope=PRACTICE)
    _as_written_before_rows_were_kept(con, report.batch_id)
    save_feedback(con, scope=PRACTICE, submission_id="S5", text="Well done", at=datetime(2026, 3, 7, tzinfo=UTC))
    result = undo(con, report.batch_id)
    assert not result.done
    (reason,) = result.reasons
    assert reason.startswith("1 submissions row(s) this batch wrote were changed since (e.g. S5)")


def test_an_undo_is_refused_while_a_later_batch_changed_the_same_rows_and_works_once_that_is_undone(con):
    first = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    later = import_batch(con, [("submissions.csv", csv("submission_id,assignment_id,submitted_at,completion",
                                                       "S4,A1,2026-03-06T10:00:00Z,partial"))],
                         scope=PRACTICE, existing="update")
    assert later.accepted
    refused = undo(con, first.batch_id)
    assert not refused.done
    assert refused.reasons == (f"1 submissions row(s) this batch wrote were changed since (e.g. S4) by the later "
                               f"import {later.batch_id}: undo that first",)
    assert undo(con, later.batch_id).done
    assert con.execute("select completion from submissions where submission_id = 'S4'").fetchone() == ("completed",)
    assert undo(con, first.batch_id).done
    before_first = con.execute("select submission_id, completion, mood_after from submissions order by 1").fetchall()
    assert before_first == [("S1", "completed", 6), ("S2", "completed", 5), ("S3", "partial", None)]


def test_an_undo_is_refused_when_rows_added_since_belong_to_rows_it_added(con):
    batch = import_batch(con, [("clients.csv", csv("client_id,therapist_id,label", "C9,T1,Lee"))], scope=PRACTICE)
    child = import_batch(con, [("assignments.csv", csv(
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on", "A9,C9,creative,Collage,2026-03-02,2026-03-09"))],
        scope=PRACTICE)
    result = undo(con, batch.batch_id)
    assert not result.done
    assert result.reasons == (f"1 assignments row(s) added since (e.g. A9) belong to clients this batch added; undo the "
                              f"later import {child.batch_id} first",)
    con.execute("insert into assignment_details values ('A1', 'Write it down', 3, null, now())")  # not ours: fine
    assert undo(con, child.batch_id).done and undo(con, batch.batch_id).done


def test_an_undo_is_refused_when_the_planner_added_homework_for_a_client_it_added(con):
    batch = import_batch(con, [("clients.csv", csv("client_id,therapist_id,label", "C9,T1,Lee"))], scope=PRACTICE)
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('P1', 'C9', 'mindfulness', 'Breathing', date '2026-03-02', date '2026-03-09')")
    result = undo(con, batch.batch_id)
    assert not result.done
    assert result.reasons == ("1 assignments row(s) added since (e.g. P1) belong to clients this batch added (added in "
                              "the dashboard, by the planner or another program); undoing would orphan them",)


def test_an_unknown_batch_is_refused(con):
    assert undo(con, "nope").reasons == ("there is no batch nope in the import log",)


def test_a_batch_is_undone_once_and_one_from_before_undo_existed_is_refused(con):
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    assert undo(con, report.batch_id).done
    again = undo(con, report.batch_id)
    assert not again.done and again.reasons[0].startswith(f"batch {report.batch_id} was already undone on ")
    older = con.execute("select batch_id from import_log where imported_by = 'setup'").fetchone()[0]
    con.execute("delete from import_batches where batch_id = ?", [older])  # as a version-3 store logged it
    assert undo(con, older).reasons == (f"batch {older} was imported before imports kept what they replaced "
                                        "(schema version 6); it cannot be undone",)


def test_only_the_practice_undoes(con):
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="update")
    with pytest.raises(ScopeError):
        undo_batch(con, report.batch_id, scope=Scope.therapist("T1"), undone_by="T1")


def test_only_new_batches_undo_to_the_store_before_them(con):
    before = snapshot(con)
    report = import_batch(con, [SECOND], scope=PRACTICE, existing="skip")
    assert undo(con, report.batch_id).done
    assert snapshot(con) == before


def test_the_log_is_readable_and_a_batchs_files_carry_their_hashes(con):
    import hashlib

    report = import_batch(con, CHANGE, scope=PRACTICE, existing="update", imported_by="Dr Ada")
    history = batch_history(con)
    newest = history.iloc[0]
    assert newest["batch_id"] == report.batch_id and newest["imported_by"] == "Dr Ada"
    assert newest["files"] == "therapists.csv, clients.csv, assignments.csv, submissions.csv, measures.csv"
    assert (newest["rows"], newest["added"], newest["changed"]) == (2 + 2 + 2 + 4 + 2, 5, 6)
    assert bool(newest["can_undo"])
    files = batch_files(con, report.batch_id)
    assert list(files["sha256"]) == [hashlib.sha256(data).hexdigest() for _, data in CHANGE]


def test_the_command_line_imports_with_a_decision_and_undoes(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    folder = tmp_path / "files"
    folder.mkdir()
    paths = []
    for name, data in STORED:
        (folder / name).write_bytes(data)
        paths.append(str(folder / name))
    assert main(["import", "--db", str(db), *paths]) == 0
    changed = tmp_path / "submissions.csv"
    changed.write_bytes(SECOND[1])
    capsys.readouterr()

    assert main(["import", "--db", str(db), "--dry-run", str(changed)]) == 1
    dry = capsys.readouterr().out
    assert "submissions.csv -> submissions: 4 read, 1 to add, 2 to change, 1 unchanged, 0 rejected" in dry
    assert "(free text: hidden)" in dry and "private words" not in dry

    assert main(["import", "--db", str(db), "--only-new", "--dry-run", str(changed)]) == 0
    assert "1 to add, 0 to change, 1 unchanged, 2 left as stored" in capsys.readouterr().out

    assert main(["import", "--db", str(db), "--update-existing", "--dry-run", str(changed)]) == 0
    assert "4 read, 1 to add, 2 to change, 1 unchanged, 0 rejected" in capsys.readouterr().out
    assert main(["import", "--db", str(db), "--update-existing", str(changed)]) == 0
    out = capsys.readouterr().out
    assert "4 read, 1 added, 2 changed, 1 unchanged, 0 rejected" in out
    batch = out.splitlines()[0].removeprefix("Imported as batch ").rstrip(".")
    assert f"--batch {batch}" in out

    assert main(["undo", "--db", str(db), "--batch", batch]) == 0
    assert capsys.readouterr().out.startswith(f"Undone: the store is as it was before batch {batch}.")
    con = duckdb.connect(str(db))
    assert con.execute("select count(*), count(*) filter (where completion = 'partial') from submissions").fetchone() == (3, 1)
    con.close()
    assert main(["undo", "--db", str(db), "--batch", batch]) == 1
    assert "already undone" in capsys.readouterr().out


def test_update_existing_and_only_new_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["import", "--db", str(tmp_path / "s.duckdb"), "--update-existing", "--only-new", "x.csv"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
