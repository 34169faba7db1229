"""The store: creation, reopening, versions, migrations, transactions and the time-zone setting."""

from pathlib import Path

import duckdb
import pytest

import analytics.store.database as store
from analytics.store.database import (
    CANONICAL_TABLES,
    SCHEMA_VERSION,
    StoreError,
    get_timezone,
    migrate,
    open_store,
    schema_version,
    set_timezone,
    transaction,
)

BOOKKEEPING_TABLES = ("schema_meta", "settings", "import_log")


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
    ).fetchall()
    return {name for (name,) in rows}


def recorded_versions(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [v for (v,) in con.execute("select version from schema_meta order by version").fetchall()]


def add_therapist(con: duckdb.DuckDBPyConnection, therapist_id: str = "T1", name: str = "Ada") -> None:
    con.execute("insert into therapists values (?, ?, null)", [therapist_id, name])


# What schema version 2 (migrations/002_library_templates.sql) added.
TABLES_ADDED_IN_V2 = ("library_templates", "assignment_details")
# The tables of a version-1 store; later versions only add tables.
V1_TABLES = set(CANONICAL_TABLES) | set(BOOKKEEPING_TABLES)


def make_current_file(path: Path) -> None:
    """A closed store file at the current version holding one therapist and one client."""
    con = open_store(path)
    add_therapist(con)
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'Robin')")
    con.close()


def make_v1_file(path: Path) -> None:
    """A closed store file at version 1 holding one therapist and one client.

    Version 1 is today's schema without the tables later versions added (so far migrations only add
    tables), recorded as version 1.
    """
    make_current_file(path)
    con = duckdb.connect(str(path))
    for table in sorted(table_names(con) - V1_TABLES):
        con.execute(f"drop table {table}")
    con.execute("delete from schema_meta")
    con.execute("insert into schema_meta (version) values (1)")
    con.close()


# ---------------------------------------------------------------------------------------------
# Creating and reopening
# ---------------------------------------------------------------------------------------------


def test_open_store_in_memory_creates_every_table_and_records_the_version():
    con = open_store(":memory:")
    assert set(CANONICAL_TABLES) | set(BOOKKEEPING_TABLES) <= table_names(con)
    assert recorded_versions(con) == [SCHEMA_VERSION]
    assert schema_version(con) == SCHEMA_VERSION
    for table in CANONICAL_TABLES:
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == 0
    # the views and macros of schema.sql exist too
    assert con.execute("select timezone from practice_settings").fetchone()[0] == "UTC"
    assert con.execute("select count(*) from assignment_progress(date '2026-03-01', null)").fetchone()[0] == 0


def test_open_store_creates_the_file_and_its_folder(tmp_path):
    path = tmp_path / "nested" / "folder" / "homework.duckdb"
    con = open_store(path)
    con.close()
    assert path.is_file()


def test_reopening_a_file_keeps_rows_and_does_not_duplicate_the_version(tmp_path):
    path = tmp_path / "store.duckdb"
    make_current_file(path)
    for _ in range(2):  # open twice more
        con = open_store(path)
        assert con.execute("select therapist_id, name from therapists").fetchall() == [("T1", "Ada")]
        assert con.execute("select client_id, label from clients").fetchall() == [("C1", "Robin")]
        assert recorded_versions(con) == [SCHEMA_VERSION]
        con.close()


def test_migrate_on_a_current_store_returns_its_version_and_changes_nothing():
    con = open_store(":memory:")
    add_therapist(con)
    assert migrate(con) == SCHEMA_VERSION
    assert recorded_versions(con) == [SCHEMA_VERSION]
    assert con.execute("select count(*) from therapists").fetchone()[0] == 1


def test_a_new_store_reports_version_zero_from_migrate():
    con = duckdb.connect(":memory:")
    assert schema_version(con) is None
    assert migrate(con) == 0
    assert recorded_versions(con) == [SCHEMA_VERSION]


# ---------------------------------------------------------------------------------------------
# Versions and migrations
# ---------------------------------------------------------------------------------------------


def test_a_store_from_a_newer_release_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "newer.duckdb"
    make_current_file(path)
    con = duckdb.connect(str(path))
    con.execute("insert into schema_meta (version) values (?)", [SCHEMA_VERSION + 1])
    con.close()

    with pytest.raises(StoreError) as caught:
        open_store(path)
    message = str(caught.value)
    assert "newer release" in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert f"knows {SCHEMA_VERSION}" in message

    # and nothing was changed in the file
    con = duckdb.connect(str(path))
    assert recorded_versions(con) == [SCHEMA_VERSION, SCHEMA_VERSION + 1]
    assert con.execute("select count(*) from clients").fetchone()[0] == 1
    con.close()


def test_a_version_2_migration_upgrades_a_version_1_file_keeping_its_rows(tmp_path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)

    monkeypatch.setattr(store, "migrations", lambda: {2: "alter table clients add column pronouns varchar;"})
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    # migrate's default target was bound when the module was imported: patch it as a release would
    monkeypatch.setitem(store.migrate.__kwdefaults__, "target_version", 2)

    con = open_store(path)
    assert recorded_versions(con) == [1, 2]
    assert con.execute("select client_id, label, pronouns from clients").fetchall() == [("C1", "Robin", None)]
    assert con.execute("select therapist_id from therapists").fetchall() == [("T1",)]
    con.execute("update clients set pronouns = 'they' where client_id = 'C1'")
    con.close()

    # reopening the upgraded file runs no migration again and keeps the new column's value
    con = open_store(path)
    assert recorded_versions(con) == [1, 2]
    assert con.execute("select pronouns from clients").fetchall() == [("they",)]
    con.close()


def test_migration_scripts_are_read_from_the_migrations_folder(tmp_path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "002_pronouns.sql").write_text("alter table clients add column pronouns varchar;", encoding="utf-8")
    (folder / "README.txt").write_text("not a migration", encoding="utf-8")
    monkeypatch.setattr(store, "MIGRATIONS_DIR", folder)

    assert store.migrations() == {2: "alter table clients add column pronouns varchar;"}

    con = duckdb.connect(str(path))
    assert migrate(con, target_version=2) == 1
    assert recorded_versions(con) == [1, 2]
    assert con.execute("select client_id, pronouns from clients").fetchall() == [("C1", None)]
    con.close()


def test_a_missing_migration_is_a_store_error_and_leaves_the_file_at_its_version(tmp_path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    monkeypatch.setattr(store, "migrations", lambda: {})

    con = duckdb.connect(str(path))
    with pytest.raises(StoreError, match="no migration to schema version 2"):
        migrate(con, target_version=2)
    assert recorded_versions(con) == [1]
    assert con.execute("select count(*) from clients").fetchone()[0] == 1
    con.close()


def test_a_failing_migration_rolls_back_every_step(tmp_path, monkeypatch):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    monkeypatch.setattr(store, "migrations", lambda: {
        2: "alter table clients add column pronouns varchar;",
        3: "alter table no_such_table add column x varchar;",
    })

    con = duckdb.connect(str(path))
    with pytest.raises(duckdb.Error):
        migrate(con, target_version=3)
    assert recorded_versions(con) == [1]
    columns = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_name = 'clients'").fetchall()]
    assert "pronouns" not in columns
    con.close()


# ---------------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------------


def test_transaction_commits_when_the_block_finishes():
    con = open_store(":memory:")
    with transaction(con):
        add_therapist(con)
    assert con.execute("select therapist_id from therapists").fetchall() == [("T1",)]


def test_transaction_rolls_back_on_an_exception():
    con = open_store(":memory:")
    add_therapist(con, "T0", "Before")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with transaction(con):
            add_therapist(con, "T1", "Inside")
            assert con.execute("select count(*) from therapists").fetchone()[0] == 2
            raise Boom
    assert con.execute("select therapist_id from therapists").fetchall() == [("T0",)]
    # the connection is usable again (no transaction left open)
    with transaction(con):
        add_therapist(con, "T2", "After")
    assert con.execute("select count(*) from therapists").fetchone()[0] == 2


# ---------------------------------------------------------------------------------------------
# The time-zone setting
# ---------------------------------------------------------------------------------------------


def test_timezone_is_utc_by_default_and_can_be_set_and_changed():
    con = open_store(":memory:")
    assert get_timezone(con) == "UTC"
    set_timezone(con, "Europe/London")
    assert get_timezone(con) == "Europe/London"
    set_timezone(con, "America/New_York")  # a second set replaces, not duplicates
    assert get_timezone(con) == "America/New_York"
    assert con.execute("select count(*) from settings where key = 'timezone'").fetchone()[0] == 1


def test_the_timezone_setting_survives_reopening(tmp_path):
    path = tmp_path / "tz.duckdb"
    con = open_store(path)
    set_timezone(con, "Europe/London")
    con.close()
    con = open_store(path)
    assert get_timezone(con) == "Europe/London"
    con.close()


@pytest.mark.parametrize("bogus", ["Mars/Olympus", "", "europe/london", "UTC ", "../../etc/passwd", "Not A Zone"])
def test_set_timezone_rejects_a_bogus_zone_and_keeps_the_setting(bogus):
    con = open_store(":memory:")
    set_timezone(con, "Europe/London")
    with pytest.raises(StoreError, match="time zone"):
        set_timezone(con, bogus)
    assert get_timezone(con) == "Europe/London"


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "right/UTC"])
def test_set_timezone_accepts_only_zones_the_store_can_compute_with(zone):
    """Names that are files in the system's zoneinfo folder but not IANA zones DuckDB knows.

    BUG (analytics/store/database.py, set_timezone): it validates with zoneinfo.ZoneInfo only, which loads
    any file under /usr/share/zoneinfo ("localtime", "posixrules", "right/UTC"); DuckDB does not
    know these names, so after the setting is saved every query through submission_facts fails
    with "Unknown TimeZone". Either way the store must stay usable: refuse the name, or accept one
    DuckDB can use.
    """
    con = open_store(":memory:")
    add_therapist(con)
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'C1')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('A1', 'C1', 'journaling', 'Diary', date '2026-03-02', date '2026-03-08')")
    con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                "values ('S1', 'A1', timestamptz '2026-03-03 10:00:00+00', 'completed')")
    try:
        set_timezone(con, zone)
    except StoreError:
        assert get_timezone(con) == "UTC"
        return
    # accepted: then the store must still answer queries that use the zone
    assert len(con.execute("select submitted_on from submission_facts").fetchall()) == 1
    assert len(con.execute("select * from assignment_progress(date '2026-03-10', null)").fetchall()) == 1


# ---------------------------------------------------------------------------------------------
# Schema version 2: the planner's tables (migrations/002_library_templates.sql)
# ---------------------------------------------------------------------------------------------


def test_schema_version_2_has_its_migration_script():
    assert SCHEMA_VERSION >= 2
    assert 2 in store.migrations()
    assert "library_templates" in store.migrations()[2]


def test_a_new_store_has_the_planner_tables():
    con = open_store(":memory:")
    assert set(TABLES_ADDED_IN_V2) <= table_names(con)


def test_the_real_migration_upgrades_a_version_1_file_without_losing_rows(tmp_path):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    con = duckdb.connect(str(path))
    assert not set(TABLES_ADDED_IN_V2) & table_names(con)  # really a version-1 file
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('A1', 'C1', 'journaling', 'Diary', date '2026-03-02', date '2026-03-08')")
    con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                "values ('S1', 'A1', timestamptz '2026-03-03 10:00:00+00', 'completed')")
    con.execute("insert into settings values ('timezone', 'Europe/London')")
    con.close()

    con = open_store(path)
    assert recorded_versions(con) == [1, SCHEMA_VERSION]
    assert set(TABLES_ADDED_IN_V2) <= table_names(con)
    assert con.execute("select client_id, label from clients").fetchall() == [("C1", "Robin")]
    assert con.execute("select assignment_id, title from assignments").fetchall() == [("A1", "Diary")]
    assert con.execute("select submission_id, credit from submission_facts").fetchall() == [("S1", 1.0)]
    assert get_timezone(con) == "Europe/London"
    assert con.execute("select count(*) from library_templates").fetchone()[0] == 0
    con.close()

    con = open_store(path)  # opening again runs nothing twice
    assert recorded_versions(con) == [1, SCHEMA_VERSION]
    con.close()


# ---------------------------------------------------------------------------------------------
# Schema version 6: what import batches replaced, for undo (migrations/006_import_batches.sql)
# ---------------------------------------------------------------------------------------------

TABLES_ADDED_IN_V6 = ("import_batches", "undo_therapists", "undo_clients", "undo_assignments", "undo_submissions",
                      "undo_measures")


def test_the_version_4_migration_adds_the_undo_tables_to_a_version_3_file_keeping_its_rows(tmp_path):
    path = tmp_path / "v3.duckdb"
    make_current_file(path)
    con = duckdb.connect(str(path))
    for table in TABLES_ADDED_IN_V6:
        con.execute(f"drop table {table}")
    con.execute("delete from schema_meta")
    con.execute("insert into schema_meta (version) values (3)")
    con.execute("insert into import_log values ('old', now(), 'someone', '[]', 1, 0)")
    con.close()

    con = open_store(path)
    assert recorded_versions(con) == [3, SCHEMA_VERSION]
    assert set(TABLES_ADDED_IN_V6) <= table_names(con)
    assert con.execute("select client_id, label from clients").fetchall() == [("C1", "Robin")]
    assert con.execute("select batch_id from import_log").fetchall() == [("old",)]
    assert con.execute("select count(*) from import_batches").fetchone() == (0,)  # an old batch: no undo record
    con.close()


def test_each_undo_table_has_the_columns_of_its_canonical_table_with_the_same_types():
    con = open_store(":memory:")

    def columns(table: str) -> list[tuple[str, str]]:
        return con.execute("select column_name, data_type from information_schema.columns where table_name = ? "
                           "order by ordinal_position", [table]).fetchall()

    for table in CANONICAL_TABLES:
        undo_columns = columns(f"undo_{table}")
        assert [c for c, _ in undo_columns[:3]] == ["batch_id", "action", "row_hash"]
        assert undo_columns[3:] == columns(table)
    assert "undo_clients" in store.migrations()[6] and "import_batches" in store.migrations()[6]
