"""The store: open (create or upgrade) the DuckDB file, and run writes in transactions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from duckdb import DuckDBPyConnection

STORE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = STORE_DIR.parents[1]
SCHEMA_FILE = STORE_DIR / "schema.sql"
MIGRATIONS_DIR = STORE_DIR / "migrations"
DEFAULT_DB = PROJECT_DIR / "data" / "homework.duckdb"

# The version of the tables that schema.sql creates. A release that changes a table adds
# migrations/NNN_what.sql (NNN = the version it upgrades to) and raises this number.
SCHEMA_VERSION = 4

CANONICAL_TABLES = ("therapists", "clients", "assignments", "submissions", "measures")


class StoreError(Exception):
    """The store cannot be opened or used (wrong version, bad setting); the message says why."""


def default_db_path() -> Path:
    """The store's path: $HOMEWORK_DB if set, else data/homework.duckdb in the project."""
    return Path(os.environ.get("HOMEWORK_DB") or DEFAULT_DB)


def open_store(path: str | Path | None = None) -> DuckDBPyConnection:
    """Open the store at `path` (":memory:" for a throwaway one), creating or upgrading it.

    Returns the process's one connection; give each session or thread its own `.cursor()`.
    """
    target = ":memory:" if str(path) == ":memory:" else str(path or default_db_path())
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(target)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the store {target}: {exc}") from exc
    try:
        migrate(con)
    except BaseException:
        con.close()
        raise
    return con


def schema_version(con: DuckDBPyConnection) -> int | None:
    """The schema version recorded in the store, or None for a file without our tables."""
    has_meta = con.execute(
        "select count(*) from information_schema.tables where table_name = 'schema_meta'"
    ).fetchone()[0]
    if not has_meta:
        return None
    return con.execute("select max(version) from schema_meta").fetchone()[0]


def migrations() -> dict[int, str]:
    """Upgrade scripts by the version they upgrade to, from analytics/migrations/NNN_*.sql."""
    found: dict[int, str] = {}
    if MIGRATIONS_DIR.is_dir():
        for script in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql")):
            found[int(script.name[:3])] = script.read_text(encoding="utf-8")
    return found


def migrate(con: DuckDBPyConnection, *, target_version: int | None = None) -> int:
    """Bring the store to `target_version` without losing rows; returns the version it was at (0 if new).

    A new file gets schema.sql as is. An older file gets each migration after its version in order,
    all in one transaction, then schema.sql (which only adds what is missing and replaces views).
    """
    target_version = SCHEMA_VERSION if target_version is None else target_version
    found = schema_version(con)
    with transaction(con):
        if found is None:
            con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
            con.execute("insert into schema_meta (version) values (?)", [target_version])
            return 0
        if found > target_version:
            raise StoreError(
                f"this store was written by a newer release (schema version {found}, this release "
                f"knows {target_version}); open it with that release or newer"
            )
        upgrades = migrations()
        for version in range(found + 1, target_version + 1):
            if version not in upgrades:
                raise StoreError(f"no migration to schema version {version} in {MIGRATIONS_DIR}")
            con.execute(upgrades[version])
        con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
        if found < target_version:
            con.execute("insert into schema_meta (version) values (?)", [target_version])
        return found


@contextmanager
def transaction(con: DuckDBPyConnection) -> Iterator[DuckDBPyConnection]:
    """Run the block as one transaction: committed if it finishes, rolled back if it raises."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def is_empty(con: DuckDBPyConnection) -> bool:
    """True when the store holds no client yet (the dashboard then shows the way forward)."""
    return con.execute("select count(*) = 0 from clients").fetchone()[0]


def table_counts(con: DuckDBPyConnection) -> pd.DataFrame:
    """Rows per canonical table in the whole store: table, rows (practice-level, no client data)."""
    parts = " union all ".join(
        f"select '{name}' as \"table\", count(*) as rows from {name}" for name in CANONICAL_TABLES
    )
    return con.execute(parts).df()


def get_timezone(con: DuckDBPyConnection) -> str:
    """The practice's time zone (IANA name) used for the calendar date of a submission."""
    return con.execute("select timezone from practice_settings").fetchone()[0]


def set_timezone(con: DuckDBPyConnection, timezone: str) -> None:
    """Set the practice's time zone; raises StoreError for a name that is not an IANA time zone."""
    known = con.execute("select count(*) from pg_timezone_names() where name = ?", [timezone]).fetchone()[0]
    if not known:  # the zones DuckDB can compute with, not every file under the system's zoneinfo
        raise StoreError(f"unknown time zone {timezone!r}; use a name like Europe/London")
    with transaction(con):
        con.execute(
            "insert into settings values ('timezone', ?) on conflict (key) do update set value = excluded.value",
            [timezone],
        )
