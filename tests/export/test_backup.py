"""The lossless Parquet backup: every table comes back equal, row for row, on the demo store and on random stores;
the manifest is checked; a restore goes only into an empty store and is all or nothing; the secret never leaves."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.cli import main
from analytics.export import backup, deidentify, exports
from analytics.store.database import SCHEMA_VERSION, open_store
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES, CLIENT_STATUSES, COMPLETIONS

EXPECTED_TABLES = ["assignment_details", "assignments", "audit_head", "audit_log", "clients", "export_log",
                   "feedback_versions", "import_batches", "import_log", "library_templates", "measures", "saved_mappings",
                   "settings", "submissions", "therapists", "undo_assignments", "undo_clients", "undo_measures",
                   "undo_submissions", "undo_therapists", "users"]


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f'select * from "{table}" order by all').fetchall()


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute("select column_name, data_type from information_schema.columns where table_name = ? "
                       "order by ordinal_position", [table]).fetchall()


def assert_equal_stores(original: duckdb.DuckDBPyConnection, restored: duckdb.DuckDBPyConnection) -> None:
    assert backup.backup_tables(restored) == backup.backup_tables(original) == EXPECTED_TABLES
    for table in EXPECTED_TABLES:
        assert columns(restored, table) == columns(original, table), table
        expected = rows(original, table)
        if table == "settings":  # the pseudonym secret never leaves its store
            expected = [row for row in expected if row[0] != deidentify.SECRET_KEY]
        assert rows(restored, table) == expected, table


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo, with a row in every other table too (planner, library, mappings, settings, logs)."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    assert main(["load-demo", "--db", str(path)]) == 0
    con = open_store(path)
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    con.execute("insert into library_templates values ('U0001', 'journaling', 'Worry =diary', 'Write \"why\";\n=1+1', "
                "10, 3, 'anxiety', null, 'writing', ?, ?, 'user', 'ada@example.test', 'ada@example.test')", [at, at])
    assignment = con.execute("select assignment_id from assignments limit 1").fetchall()[0][0]
    con.execute("insert into assignment_details values (?, 'Breathe', 3, 'U0001', ?)", [assignment, at])
    con.execute("insert into saved_mappings values ('Clinic', 'flat', '{\"a\": 1}', ?, 'dashboard')", [at])
    con.execute("insert into settings values ('timezone', 'Europe/London'), ('export.suppression_k', '5')")
    deidentify.practice_secret(con)  # made on first use, as an export would
    exports.write_folder(con, exports.Request("deidentified", "csv", Scope.practice()),
                         path.parent / "first-export", exported_by="analyst")
    con.close()
    return path


def test_the_demo_store_comes_back_equal_row_for_row(demo_store: Path, tmp_path: Path) -> None:
    con = open_store(demo_store)
    written = backup.write_backup(con, tmp_path / "backup")
    assert [f.table for f in written] == EXPECTED_TABLES
    assert {f.table: f.rows for f in written}["submissions"] == len(rows(con, "submissions"))
    assert len(rows(con, "submissions")) > 2000
    restored = open_store(tmp_path / "restored.duckdb")
    counts = backup.restore_backup(restored, tmp_path / "backup")
    assert counts == {f.table: f.rows for f in written}
    assert_equal_stores(con, restored)
    assert rows(con, "settings") != rows(restored, "settings")  # the secret was there, and stayed behind
    assert deidentify.SECRET_KEY not in {key for key, _ in rows(restored, "settings")}


def test_a_backup_of_the_release_before_restores_and_an_older_one_is_refused(demo_store: Path, tmp_path: Path) -> None:
    # Version 10 changed only the derived facts, which a backup leaves out: a backup written by version 9 holds the same
    # tables and comes back equal; one of version 8 is refused with the versions this release restores.
    con = open_store(demo_store)
    backup.write_backup(con, tmp_path / "backup")
    manifest = (tmp_path / "backup" / "manifest.json").read_text()
    for version, restores in ((9, True), (8, False)):
        folder = tmp_path / f"v{version}"
        shutil.copytree(tmp_path / "backup", folder)
        (folder / "manifest.json").write_text(
            manifest.replace(f'"schema_version": {SCHEMA_VERSION}', f'"schema_version": {version}'))
        target = open_store(tmp_path / f"v{version}.duckdb")
        if restores:
            backup.restore_backup(target, folder)
            assert_equal_stores(con, target)
        else:
            with pytest.raises(backup.BackupError, match=f"schema version 8, this release restores versions 9 to "
                                                         f"{SCHEMA_VERSION}"):
                backup.restore_backup(target, folder)
            assert all(not rows(target, table) for table in EXPECTED_TABLES)


def test_the_manifest_lists_version_rows_and_sha256_of_every_file(demo_store: Path, tmp_path: Path) -> None:
    con = open_store(demo_store)
    backup.write_backup(con, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == backup.BACKUP_FORMAT and manifest["schema_version"] == SCHEMA_VERSION
    assert sorted(manifest["tables"]) == EXPECTED_TABLES
    for table, entry in manifest["tables"].items():
        data = (tmp_path / "backup" / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
        expected = len(rows(con, table)) - (table == "settings")  # less the secret
        assert entry["rows"] == expected, table


def test_the_pseudonym_secret_is_in_no_byte_of_the_backup(demo_store: Path, tmp_path: Path) -> None:
    con = open_store(demo_store)
    secret = deidentify.practice_secret(con).hex()
    backup.write_backup(con, tmp_path / "backup")
    for path in (tmp_path / "backup").iterdir():
        restored_text = duckdb.connect().execute("select * from read_parquet(?)", [str(path)]).fetchall() \
            if path.suffix == ".parquet" else [path.read_text(encoding="utf-8")]
        assert secret not in repr(restored_text)
        assert secret.encode() not in path.read_bytes()


def test_a_restore_into_a_store_with_rows_is_refused_and_changes_nothing(demo_store: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    con = open_store(demo_store)
    backup.write_backup(con, tmp_path / "backup")
    target = open_store(tmp_path / "busy.duckdb")
    target.execute("insert into settings values ('timezone', 'Europe/Paris')")
    with pytest.raises(backup.BackupError, match="the store is not empty .settings holds rows."):
        backup.restore_backup(target, tmp_path / "backup")
    assert rows(target, "settings") == [("timezone", "Europe/Paris")]
    assert rows(target, "clients") == []
    target.close()
    code = main(["import", "--db", str(tmp_path / "busy.duckdb"), "--format", "parquet", str(tmp_path / "backup")])
    assert code == 1 and "not empty" in capsys.readouterr().err


def test_a_changed_file_a_missing_file_and_another_version_are_refused(demo_store: Path, tmp_path: Path) -> None:
    con = open_store(demo_store)
    folder = tmp_path / "backup"
    backup.write_backup(con, folder)
    for name, damage, message in [
        ("changed", lambda f: (f / "clients.parquet").write_bytes((f / "clients.parquet").read_bytes() + b"x"),
         "clients.parquet has changed"),
        ("missing", lambda f: (f / "measures.parquet").unlink(), "measures.parquet is missing"),
        ("version", lambda f: (f / "manifest.json").write_text(
            (f / "manifest.json").read_text().replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 99')),
         "schema version 99"),
        ("renamed", lambda f: (f / "manifest.json").write_text(
            (f / "manifest.json").read_text().replace('"file": "clients.parquet"', '"file": "../clients.parquet"')),
         "must name the file clients.parquet"),
        ("no manifest", lambda f: (f / "manifest.json").unlink(), "holds no manifest.json"),
    ]:
        copy = tmp_path / name
        shutil.copytree(folder, copy)
        damage(copy)
        target = open_store(tmp_path / f"{name}.duckdb")
        with pytest.raises(backup.BackupError, match=message):
            backup.restore_backup(target, copy)
        assert all(not rows(target, table) for table in EXPECTED_TABLES)


def test_rows_that_break_a_rule_roll_back_the_whole_restore(demo_store: Path, tmp_path: Path) -> None:
    con = open_store(demo_store)
    folder = tmp_path / "backup"
    backup.write_backup(con, folder)
    # A hand-made file that claims to be the measures table but holds a PHQ-9 of 99 (the manifest made to match).
    bad = duckdb.connect()
    bad.execute("copy (select 'C1' as client_id, 'PHQ-9' as measure, 99::tinyint as score, "
                "date '2026-01-01' as administered_on) to '" + str(folder / "measures.parquet") + "' (format parquet)")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"]["measures"].update(rows=1, sha256=backup._sha256(folder / "measures.parquet"))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    target = open_store(tmp_path / "target.duckdb")
    with pytest.raises(backup.BackupError, match="nothing was written"):
        backup.restore_backup(target, folder)
    assert all(not rows(target, table) for table in EXPECTED_TABLES)


def test_a_backup_never_overwrites_a_folder_with_files(demo_store: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(backup.BackupError, match="not an empty folder"):
        backup.write_backup(open_store(demo_store), tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


# --- Random stores ----------------------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
OPTIONAL_TEXT = st.one_of(st.none(), TEXT)
DAYS = st.dates(date(1900, 1, 1), date(2200, 12, 31))
INSTANTS = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))


@st.composite
def random_store(draw: st.DrawFn) -> dict[str, list[tuple]]:
    ids = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=6, unique=True))
    therapists = [(t, draw(TEXT), draw(OPTIONAL_TEXT)) for t in ids[:2]]
    clients = [(c, therapists[n % len(therapists)][0], draw(TEXT), draw(st.one_of(st.none(), DAYS)), draw(OPTIONAL_TEXT),
                draw(OPTIONAL_TEXT), draw(OPTIONAL_TEXT), draw(st.sampled_from(CLIENT_STATUSES)))
               for n, c in enumerate(ids)]
    assignments, submissions, details, measures = [], [], [], []
    for n in range(draw(st.integers(0, 6))):
        assigned = draw(DAYS)
        assignment_id = f"{draw(TEXT)}#{n}"
        assignments.append((assignment_id, draw(st.sampled_from(ids)), draw(st.sampled_from(ASSIGNMENT_TYPES)),
                            draw(TEXT), assigned, assigned + timedelta(days=draw(st.integers(0, 60))),
                            draw(st.integers(1, 2**31 - 1)), draw(st.one_of(st.none(), st.integers(0, 2**31 - 1))),
                            draw(OPTIONAL_TEXT), draw(st.one_of(st.none(), st.booleans())),
                            draw(st.sampled_from(["active", "cancelled"]))))
        if draw(st.booleans()):
            details.append((assignment_id, draw(OPTIONAL_TEXT), draw(st.one_of(st.none(), st.integers(1, 7))),
                            draw(OPTIONAL_TEXT), draw(INSTANTS)))
        for m in range(draw(st.integers(0, 3))):
            moods = st.one_of(st.none(), st.integers(0, 10))
            submissions.append((f"{assignment_id}/{m}", assignment_id, draw(INSTANTS), draw(st.sampled_from(COMPLETIONS)),
                                draw(st.one_of(st.none(), st.integers(0, 4))), draw(moods), draw(moods),
                                draw(st.one_of(st.none(), st.integers(0, 2**31 - 1))), draw(OPTIONAL_TEXT),
                                draw(OPTIONAL_TEXT), draw(st.one_of(st.none(), INSTANTS))))
    for n, day in enumerate(draw(st.lists(DAYS, max_size=4, unique=True))):
        measures.append((ids[n % len(ids)], "PHQ-9", draw(st.integers(0, 27)), day))
    settings_rows = [(f"k{n}", value) for n, value in enumerate(draw(st.lists(TEXT, max_size=3)))]
    return {"therapists": therapists, "clients": clients, "assignments": assignments, "submissions": submissions,
            "assignment_details": details, "measures": measures, "settings": settings_rows}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(random_store())
def test_random_stores_come_back_equal_row_for_row(tmp_path: Path, store: dict[str, list[tuple]]) -> None:
    folder = tmp_path / "round"
    shutil.rmtree(folder, ignore_errors=True)
    original = open_store(":memory:")
    for table, values in store.items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            original.executemany(f'insert into "{table}" values ({marks})', values)
    backup.write_backup(original, folder)
    restored = open_store(":memory:")
    backup.restore_backup(restored, folder)
    assert_equal_stores(original, restored)
    for table, values in store.items():
        assert len(rows(restored, table)) == len(values)
