"""A page's run reads one snapshot of the store (database.read_snapshot): what another session commits meanwhile is
seen by all of the run's queries or by none; a write in the run is committed and seen; nothing it does is lost."""

from __future__ import annotations

import duckdb
import pytest

from analytics.ingest.importer import import_batch
from analytics.store import audit
from analytics.store.database import (
    FACTS_ONLY_MACROS,
    end_snapshot,
    open_store,
    read_snapshot,
    snapshot_memo,
    transaction,
)
from analytics.store.scope import Scope
from tests.conftest import fixture_files

NEW_CLIENT = "client_id,therapist_id,label,intake_date,status\nC9,T1,Client Nine,2026-01-05,active\n"


@pytest.fixture
def con(tmp_path):
    con = open_store(tmp_path / "store.duckdb")
    assert import_batch(con, fixture_files(), scope=Scope.practice(), imported_by="fixture").accepted
    yield con
    con.close()


def clients(cur) -> int:
    return cur.execute("select count(*) from clients").fetchone()[0]


def test_an_import_committed_during_the_snapshot_is_seen_only_after_it(con) -> None:
    reader, writer = con.cursor(), con.cursor()
    with read_snapshot(reader):
        assert clients(reader) == 4
        report = import_batch(writer, [("clients.csv", NEW_CLIENT.encode())], scope=Scope.practice())
        assert report.accepted, report.to_text()
        assert clients(writer) == 5  # committed
        assert clients(reader) == 4  # the reader's run still sees the store as it began
    assert clients(reader) == 5


def test_a_write_inside_the_snapshot_is_committed_and_seen_by_the_rest_of_the_run(con) -> None:
    page, other = con.cursor(), con.cursor()
    before = audit_rows(other)
    with read_snapshot(page):
        audit.record(page, actor=Scope.practice(), action=audit.VIEW_CLIENT, object_type="client", object_id="C1")
        assert audit_rows(page) == before + 1  # the new snapshot holds the write
        assert audit_rows(other) == before + 1  # committed at once, not at the end of the run
        with pytest.raises(RuntimeError):
            with transaction(page):
                page.execute("delete from audit_log")
                raise RuntimeError("the write fails half way")
        assert audit_rows(page) == before + 1  # rolled back; the run goes on reading
    assert audit_rows(other) == before + 1


def test_whether_a_client_is_in_scope_is_asked_once_per_snapshot_and_again_after_its_own_write(con) -> None:
    page, other = con.cursor(), con.cursor()
    ada = Scope.therapist("T1")  # C1 and C2 are Ada Byron's
    assert snapshot_memo(page) is None  # outside a snapshot every answer is the store's at that moment
    with read_snapshot(page):
        assert ada.sees_client(page, "C1") and not ada.sees_client(page, "C3")
        assert snapshot_memo(page) == {("sees_client", "T1", "C1"): True, ("sees_client", "T1", "C3"): False}
        other.execute("update clients set therapist_id = 'T2' where client_id = 'C2'")  # another session: not seen
        assert ada.sees_client(page, "C2")
        with transaction(page):  # the run's own write ends the snapshot: the next one asks again
            page.execute("update clients set therapist_id = 'T2' where client_id = 'C1'")
        assert snapshot_memo(page) == {}
        assert not ada.sees_client(page, "C1") and not ada.sees_client(page, "C2")
    assert snapshot_memo(page) is None
    other.execute("update clients set therapist_id = 'T1' where client_id = 'C1'")
    assert ada.sees_client(page, "C1")


def audit_rows(cur) -> int:
    return cur.execute("select count(*) from audit_log").fetchone()[0]


def test_a_failed_query_ends_the_snapshot_and_leaves_the_cursor_usable(con) -> None:
    cur = con.cursor()
    with pytest.raises(duckdb.Error):
        with read_snapshot(cur):
            cur.execute("select cast('not a number' as integer)")
    assert clients(cur) == 4
    assert end_snapshot(cur) is False  # nothing left open


def test_a_write_after_a_failed_query_in_the_snapshot_is_still_saved(con) -> None:
    """As the frame does: a page's query fails, then its error is written to the audit trail on the same cursor."""
    cur, other = con.cursor(), con.cursor()
    before = audit_rows(other)
    with read_snapshot(cur):
        with pytest.raises(duckdb.Error):
            cur.execute("select cast('not a number' as integer)")
        audit.record(cur, actor=Scope.practice(), action=audit.ERROR, object_type="error", object_id="X")
    assert audit_rows(other) == before + 1


def facts_current(cur) -> tuple[bool, object]:
    """What the macros read (facts_current) and the snapshot's remembered answer (None outside a snapshot)."""
    return cur.execute("select current, getvariable('facts_current_in_snapshot') from facts_current").fetchone()


def test_whether_the_facts_are_current_is_checked_once_per_snapshot_and_again_after_its_own_write(con) -> None:
    page, other = con.cursor(), con.cursor()
    assert facts_current(page) == (True, None)  # outside a snapshot: checked by every query
    sql_write = ("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                 "values ('{}', 'A1', '2026-03-14 12:00+00', 'partial')")
    with read_snapshot(page):
        assert facts_current(page) == (True, True)  # remembered at the snapshot's start
        other.execute(sql_write.format("S90"))  # committed by another session, past every write function
        assert facts_current(other) == (False, None)  # so the facts are stale for everyone who sees it...
        assert facts_current(page) == (True, True)  # ...but not for this snapshot, which does not see it
        with transaction(page):  # a write of the run's own: the snapshot ends, and the next one checks again
            page.execute(sql_write.format("S91"))
        assert facts_current(page) == (False, False)
    assert facts_current(page) == (False, None)  # forgotten at the end
    other.execute("delete from submissions where submission_id in ('S90', 'S91')")
    assert facts_current(page) == (True, None)


def temporary_macros(cur) -> list[str]:
    return [name for (name,) in cur.execute(
        "select function_name from duckdb_functions() where database_name = 'temp' order by 1").fetchall()]


CREDIT_OF_A1 = "select credit from assignment_progress(current_date, null) where assignment_id = 'A1'"


def test_a_snapshot_with_current_facts_reads_them_alone_and_one_without_reads_the_raw_tables(con) -> None:
    page, other = con.cursor(), con.cursor()
    assert page.execute(CREDIT_OF_A1).fetchone()[0] == 1  # the fixture: A1 completed once (tests/conftest.py)
    with read_snapshot(page):  # current: the choosing macros are shadowed by ones reading the facts alone
        assert temporary_macros(page) == sorted(FACTS_ONLY_MACROS)
        assert page.execute(CREDIT_OF_A1).fetchone()[0] == 1
        assert temporary_macros(other) == []  # the cursor's own
    assert temporary_macros(page) == []  # outside a snapshot the macros choose again
    # A plain-SQL write past every write function: the facts are stale, and a snapshot reads the raw tables.
    other.execute("delete from submissions where assignment_id = 'A1'")
    with read_snapshot(page):
        assert temporary_macros(page) == []
        assert page.execute(CREDIT_OF_A1).fetchone()[0] == 0
    with pytest.raises(duckdb.Error):
        with read_snapshot(page):
            page.execute("select cast('not a number' as integer)")
    assert temporary_macros(page) == []
