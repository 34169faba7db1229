"""Opening the store for reading: read-only when its schema is this release's, else the writable open that upgrades it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from analytics.store import database
from analytics.store.database import SCHEMA_FILE, SCHEMA_VERSION, open_for_reading, open_store, schema_digest, stamp


def current_file(path: Path) -> Path:
    con = open_store(path)
    con.execute("insert into therapists values ('T1', 'Ada', null)")
    con.close()
    return path


def is_read_only(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("create temp table probe as select 1")  # temp tables are allowed on a read-only file
        con.execute("insert into therapists values ('T9', 'Probe', null)")
    except duckdb.InvalidInputException as exc:
        assert "read-only" in str(exc).lower() or "read only" in str(exc).lower()
        return True
    con.execute("delete from therapists where therapist_id = 'T9'")
    return False


def test_the_digest_is_the_sha256_of_schema_sql_and_every_open_records_it(tmp_path):
    assert schema_digest() == hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()
    con = open_store(tmp_path / "new.duckdb")
    assert stamp(con) == (SCHEMA_VERSION, schema_digest())
    con.execute("update schema_meta set schema_sql = 'another release'")
    con.close()
    con = open_store(tmp_path / "new.duckdb")
    assert stamp(con) == (SCHEMA_VERSION, schema_digest())
    con.close()


class SchemaSqlWatched:
    """database.SCHEMA_FILE, counting how often its text is read to be run (its bytes give the digest)."""

    def __init__(self) -> None:
        self.runs = 0

    def read_bytes(self) -> bytes:
        return SCHEMA_FILE.read_bytes()

    def read_text(self, encoding: str = "utf-8") -> str:
        self.runs += 1
        return SCHEMA_FILE.read_text(encoding=encoding)


def test_a_writable_open_runs_schema_sql_only_when_the_store_was_not_made_by_it(tmp_path, monkeypatch):
    path = current_file(tmp_path / "store.duckdb")
    watched = SchemaSqlWatched()
    monkeypatch.setattr(database, "SCHEMA_FILE", watched)
    open_store(path).close()
    assert watched.runs == 0  # made by this release's schema.sql: nothing to make again
    con = duckdb.connect(str(path))
    con.execute("update schema_meta set schema_sql = 'digest of an older schema.sql'")
    con.close()
    con = open_store(path)
    assert watched.runs == 1
    assert stamp(con) == (SCHEMA_VERSION, schema_digest())
    con.close()
    open_store(tmp_path / "new.duckdb").close()
    assert watched.runs == 2  # a new store is made by it


def test_a_current_store_with_facts_not_current_has_them_rebuilt_by_a_writable_open(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    con = duckdb.connect(str(path))
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'One')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('A1', 'C1', 'journaling', 'Diary', date '2026-03-02', date '2026-03-08')")  # plain SQL
    assert not con.execute("select current from facts_current_now").fetchone()[0]
    con.close()
    con = open_store(path)
    assert con.execute("select current from facts_current_now").fetchone()[0]
    assert con.execute("select assignment_id from assignment_facts").fetchall() == [("A1",)]
    con.close()


def test_a_current_store_is_opened_read_only_and_its_file_is_not_written(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    before = path.read_bytes()
    con = open_for_reading(path)
    assert con.execute("select name from therapists").fetchall() == [("Ada",)]
    assert con.execute("select count(*) from assignment_progress(date '2026-03-01', null)").fetchone()[0] == 0
    assert is_read_only(con)
    con.close()
    assert path.read_bytes() == before
    assert not Path(str(path) + ".wal").exists()


def test_views_of_another_schema_sql_are_made_again_by_a_writable_open(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    con = duckdb.connect(str(path))
    con.execute("create or replace view practice_settings as select 'Europe/Paris' as timezone")  # an older definition
    con.execute("update schema_meta set schema_sql = 'digest of an older schema.sql'")
    con.close()
    con = open_for_reading(path)
    assert not is_read_only(con)
    assert con.execute("select timezone from practice_settings").fetchone()[0] == "UTC"  # this release's view
    assert stamp(con) == (SCHEMA_VERSION, schema_digest())
    con.close()
    con = open_for_reading(path)  # and from now on it is read-only
    assert is_read_only(con)
    con.close()


def test_an_older_version_is_upgraded(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    con = duckdb.connect(str(path))
    con.execute("delete from schema_meta")
    con.execute("alter table schema_meta drop column schema_sql")  # as version 7 made it
    con.execute("insert into schema_meta (version) values (7)")
    con.close()
    con = open_for_reading(path)
    assert not is_read_only(con)
    assert [v for (v,) in con.execute("select version from schema_meta order by version").fetchall()] == [7, SCHEMA_VERSION]
    assert stamp(con) == (SCHEMA_VERSION, schema_digest())
    assert con.execute("select name from therapists").fetchall() == [("Ada",)]
    con.close()


def test_a_newer_version_is_refused_as_open_store_refuses_it(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    con = duckdb.connect(str(path))
    con.execute("insert into schema_meta (version, schema_sql) values (?, ?)", [SCHEMA_VERSION + 1, schema_digest()])
    con.close()
    with pytest.raises(database.StoreError, match="newer release"):
        open_for_reading(path)


def test_a_missing_file_is_created_as_open_store_creates_it(tmp_path):
    path = tmp_path / "nested" / "new.duckdb"
    con = open_for_reading(path)
    assert stamp(con) == (SCHEMA_VERSION, schema_digest())
    assert con.execute("select count(*) from clients").fetchone()[0] == 0
    con.close()
    assert path.is_file()


def test_a_file_this_process_holds_for_writing_is_read_through_that_connection(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    writer = open_store(path)
    writer.execute("insert into therapists values ('T2', 'Bo', null)")
    reader = open_for_reading(path)  # read-only would clash with the open writable database: the writable open it is
    assert reader.execute("select count(*) from therapists").fetchone()[0] == 2
    reader.close()
    writer.close()


def test_after_reading_the_same_process_opens_the_file_for_writing(tmp_path):
    path = current_file(tmp_path / "store.duckdb")
    reader = open_for_reading(path)
    reader.close()
    writer = open_store(path)
    writer.execute("insert into therapists values ('T2', 'Bo', null)")
    assert writer.execute("select count(*) from therapists").fetchone()[0] == 2
    writer.close()
