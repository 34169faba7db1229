"""The lossless backup: every table of the store as Parquet with a manifest (schema version, rows, sha256), and its
restore into an empty store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from duckdb import DuckDBPyConnection

from analytics.export.deidentify import SECRET_KEY
from analytics.store import facts
from analytics.store.database import SCHEMA_VERSION, advance_sequences, transaction

MANIFEST = "manifest.json"
BACKUP_FORMAT = "homework-dashboard-backup"
SKIPPED_TABLES = ("schema_meta", *facts.FACT_TABLES)  # the restored store records its own version and rebuilds facts
# The oldest schema version whose backups hold the tables of this release's: version 10 changed only the derived facts,
# which a backup leaves out, so a backup written by version 9 restores as it is. (Raise it when a release changes a
# table a backup holds.)
OLDEST_RESTORABLE = 9


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why, and the store is left as it was."""


@dataclass(frozen=True)
class BackupFile:
    table: str
    file: str
    rows: int
    size: int
    sha256: str


def backup_tables(con: DuckDBPyConnection) -> list[str]:
    """The store's tables a backup holds: every base table but schema_meta, in name order."""
    names = con.execute(
        "select table_name from information_schema.tables where table_schema = 'main' and table_type = 'BASE TABLE' "
        "order by table_name").fetchall()
    return [name for (name,) in names if name not in SKIPPED_TABLES]


def _table_sql(table: str) -> str:
    """The rows of one table (a name from backup_tables) in a fixed order; settings without the pseudonym secret."""
    where = " where key <> $secret_key" if table == "settings" else ""
    return f'select * from "{table}"{where} order by all'


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_backup(con: DuckDBPyConnection, folder: Path) -> list[BackupFile]:
    """Write every table (backup_tables) to `folder`/<table>.parquet and the manifest; returns the files written.

    The folder must not exist yet or be empty. The practice's pseudonym secret (settings key
    export.pseudonym_secret) is left out: it never leaves the store, so a restored store makes a new one.
    Everything is read in one transaction, so the files agree with each other.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not an empty folder: choose a new one, so nothing is overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with transaction(con):  # one snapshot of the store
        for table in backup_tables(con):
            path = folder / f"{table}.parquet"
            params = {"secret_key": SECRET_KEY} if table == "settings" else {}
            arrow = con.sql(_table_sql(table), params=params).to_arrow_table()
            pq.write_table(arrow, path, compression="zstd")
            written.append(BackupFile(table, path.name, arrow.num_rows, path.stat().st_size, _sha256(path)))
    manifest = {
        "format": BACKUP_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": {f.table: {"file": f.file, "rows": f.rows, "bytes": f.size, "sha256": f.sha256} for f in written},
        "left_out": [f"settings: {SECRET_KEY} (the pseudonym secret never leaves the store)"],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


def read_manifest(folder: Path) -> dict:
    """The backup's manifest, checked: our format, a schema version this release restores (OLDEST_RESTORABLE to its
    own), and every file present with the sha256 it lists. Raises BackupError naming the first problem."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: it is not a backup folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{path} is not the manifest of a backup of this dashboard")
    version = manifest.get("schema_version")
    if type(version) is not int or not OLDEST_RESTORABLE <= version <= SCHEMA_VERSION:
        raise BackupError(f"the backup has schema version {version}, this release restores versions "
                          f"{OLDEST_RESTORABLE} to {SCHEMA_VERSION}: restore it with the release that wrote it")
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        raise BackupError(f"{path} lists no tables")
    for table, entry in tables.items():
        expected_name = f"{table}.parquet"
        if not isinstance(entry, dict) or entry.get("file") != expected_name:
            raise BackupError(f"{path}: the entry for {table!r} must name the file {expected_name}")
        file = folder / expected_name
        if not file.is_file():
            raise BackupError(f"{file} is missing")
        if _sha256(file) != entry.get("sha256"):
            raise BackupError(f"{file} has changed since the backup was written (its sha256 differs from the manifest)")
    return manifest


def restore_backup(con: DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Restore a backup folder into `con`, an empty store (the backup's schema version is one read_manifest accepts);
    returns rows per table.

    All or nothing: in one transaction, and refused (BackupError, nothing written) when the store holds any row,
    the manifest or a file is wrong, or a table's rows differ from the count the manifest gives.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    known = set(backup_tables(con))
    unknown = sorted(set(manifest["tables"]) - known)
    if unknown:
        raise BackupError(f"the backup holds tables this store does not have: {', '.join(unknown)}")
    restored = {}
    try:
        with transaction(con):
            for table in sorted(known):
                if con.execute(f'select count(*) from "{table}"').fetchone()[0]:
                    raise BackupError(f"the store is not empty ({table} holds rows): restore into a new store")
            for table, entry in sorted(manifest["tables"].items()):
                path = str(folder / entry["file"])
                con.execute(f'insert into "{table}" by name select * from read_parquet($path)', {"path": path})
                rows = con.execute(f'select count(*) from "{table}"').fetchone()[0]
                if rows != entry.get("rows"):
                    raise BackupError(f"{entry['file']} gave {rows} rows, the manifest says {entry.get('rows')}")
                restored[table] = rows
            advance_sequences(con)
            facts.rebuild(con)
    except BackupError:
        raise
    except (duckdb.Error, OSError) as exc:  # a constraint the rows break, an unreadable file: nothing was written
        raise BackupError(f"the backup could not be restored, nothing was written: {exc}") from exc
    return restored
