"""The store: open (create or upgrade) the DuckDB file, and run writes in transactions."""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb
from duckdb import DuckDBPyConnection

from analytics.store import facts

T = TypeVar("T")

if TYPE_CHECKING:  # typing only: opening the store imports no pandas (the command line starts faster)
    import pandas as pd

STORE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = STORE_DIR.parents[1]
SCHEMA_FILE = STORE_DIR / "schema.sql"
MIGRATIONS_DIR = STORE_DIR / "migrations"
DEFAULT_DB = PROJECT_DIR / "data" / "homework.duckdb"

# The version of the tables that schema.sql creates. A release that changes a table adds
# migrations/NNN_what.sql (NNN = the version it upgrades to) and raises this number.
SCHEMA_VERSION = 10
# The last version that changed the derived facts' tables: an older store's facts are rebuilt when it is upgraded.
FACTS_VERSION = 10

CANONICAL_TABLES = ("therapists", "clients", "assignments", "submissions", "measures")


class StoreError(Exception):
    """The store cannot be opened or used (wrong version, bad setting); the message says why."""


class DiskFull(StoreError):
    """The disk holding the store (or its temp directory) ran out of space: the transaction was rolled back."""


def disk_full(exc: BaseException) -> DiskFull | None:
    """A DiskFull for an error that says the disk ran out of space (DuckDB's text or the OS's errno), else None."""
    text = str(exc)
    if "max_temp_directory_size" in text:  # DuckDB could not spill to its temp directory: by default, that disk's free space
        where = "the temp directory, where work that does not fit in memory goes"
    elif "No space left on device" in text or getattr(exc, "errno", None) == 28:  # ENOSPC
        where = text.split("Could not write file ", 1)[-1].split(":", 1)[0].strip('"') if "Could not write file " in text else ""
    else:
        return None
    return DiskFull(f"the disk is full{f' (writing {where})' if where else ''}: nothing was written and the store is as "
                    "it was; free some space on that disk and try again")


class WriteConflict(StoreError):
    """Another session changed the same rows at the same moment: nothing was written; trying again works."""

    def __init__(self, message: str = "someone changed this at the same time: nothing was saved, try again") -> None:
        super().__init__(message)


# One write at a time in this process. DuckDB lets one process hold the file, and the dashboard is that
# process: its sessions each have a cursor on one connection, and their write transactions take turns here,
# so two people saving at once are put one after the other instead of failing on a conflict. The audit
# trail's hash chain relies on it too (each row links to the one written before).
WRITE_LOCK = threading.RLock()


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
        owner_only_files()
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


def open_for_reading(path: str | Path | None = None) -> DuckDBPyConnection:
    """The store opened read-only when it is at this release's schema, else `open_store` (which creates or upgrades it).

    At this release's schema means: the version is SCHEMA_VERSION and the views and macros are those of this
    release's schema.sql (its digest, recorded by the last open that ran it). Nothing is then written to the file,
    and the open costs no re-run of schema.sql. For commands that only read (`summary`, `plan`); close the connection
    when done, so that the same process can open the file for writing again.
    """
    target = str(path or default_db_path())
    if target != ":memory:" and Path(target).is_file():
        try:
            con = duckdb.connect(target, read_only=True)
        except duckdb.Error:  # locked by a writer, or open in this process for writing: open_store says what it can
            con = None
        if con is not None:
            try:
                if stamp(con) == (SCHEMA_VERSION, schema_digest()):
                    return con
            except duckdb.Error:  # an older file without the stamp, or not a store at all
                pass
            con.close()
    return open_store(path)


def schema_digest() -> str:
    """The sha256 of this release's schema.sql: recorded in schema_meta by every open that runs it."""
    return hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()


def stamp(con: DuckDBPyConnection) -> tuple[int, str | None]:
    """The store's schema version and the digest of the schema.sql that last made its views and macros."""
    return con.execute("select version, schema_sql from schema_meta order by version desc, schema_sql nulls last "
                       "limit 1").fetchone()


def owner_only_files() -> None:
    """Files this process creates from now on (the store, its write-ahead log) are readable by their owner only.

    DuckDB creates its files itself, and its write-ahead log again after every checkpoint, so the
    process's umask is what decides their mode: it is tightened to 077 (never loosened).
    """
    current = os.umask(0o077)
    os.umask(current | 0o077)


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
    all in one transaction, then schema.sql (which only adds what is missing and replaces views). A file at this
    release's version whose views and macros this release's schema.sql made (the digest recorded) gets neither: only
    its facts are checked, and rebuilt when not current.
    """
    target_version = SCHEMA_VERSION if target_version is None else target_version
    found = schema_version(con)
    if found == target_version == SCHEMA_VERSION and _made_by_this_schema_sql(con):
        # The views and macros are this release's (as open_for_reading trusts): schema.sql would make them again as
        # they are (~60 ms of every open). The facts are still checked, and rebuilt when they are not current.
        if not facts.are_current(con):
            with transaction(con):
                facts.rebuild(con)
        return found
    with transaction(con):
        if found is None:
            con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
            facts.rebuild(con)
            con.execute("insert into schema_meta (version) values (?)", [target_version])
            _record_digest(con)
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
        # The derived facts (version 7; per assignment, 9; squared mood lifts, 10) are built from the rows when the
        # store is older than FACTS_VERSION, and rebuilt when they are not current: a plain-SQL edit since the last
        # write, or a DuckDB release whose hash() gives other values (assignments_digest), would otherwise send every
        # page to the raw tables until the next write. Checked at every open (~5 ms at 1M); the rebuild costs ~1.4 s
        # at 1M, once.
        if target_version >= 7 and (found < FACTS_VERSION or not facts.are_current(con)):
            facts.rebuild(con)
        if found < target_version:
            con.execute("insert into schema_meta (version) values (?)", [target_version])
        _record_digest(con)
        return found


def _made_by_this_schema_sql(con: DuckDBPyConnection) -> bool:
    """Whether the store's views and macros were made by this release's schema.sql (the digest its last open recorded)."""
    try:
        return stamp(con) == (SCHEMA_VERSION, schema_digest())
    except duckdb.Error:  # a store of a release before the digest was recorded
        return False


def _record_digest(con: DuckDBPyConnection) -> None:
    """Record that the views and macros are this release's schema.sql (open_for_reading trusts them only then)."""
    con.execute("update schema_meta set schema_sql = ? where version = (select max(version) from schema_meta)",
                [schema_digest()])


# Each id sequence moved past the ids already stored (a restored backup holds rows the new sequences have not seen).
ADVANCE_SEQUENCES = (
    "select max(nextval('audit_seq')) from range((select coalesce(max(seq), 0) from audit_log))",
    "select max(nextval('feedback_version_seq')) from range((select coalesce(max(version_id), 0) from feedback_versions))",
    "select max(nextval('user_template_seq')) from range((select coalesce(max(try_cast(substr(template_id, 2) as integer)), 0)"
    " from library_templates where template_id like 'U%'))",
    "select max(nextval('plan_assignment_seq')) from range((select coalesce(max(try_cast(regexp_extract("
    "assignment_id, '^P[0-9]{8}-([0-9]+)$', 1) as integer)), 0) from assignments))",
)


def advance_sequences(con: DuckDBPyConnection) -> None:
    """Move every id sequence past the ids stored, so a new row never takes an id a restored row holds."""
    for statement in ADVANCE_SEQUENCES:
        con.execute(statement)


# The cursors now reading inside read_snapshot (weakly held: a cursor that is gone is no longer reading).
_SNAPSHOTS: weakref.WeakSet[DuckDBPyConnection] = weakref.WeakSet()
# Per cursor in a read snapshot, answers that cannot change while it lasts (Scope.sees_client's): made empty when it
# begins, forgotten when it ends (a write of its own, through transaction(), ends it first).
_SNAPSHOT_MEMOS: weakref.WeakKeyDictionary[DuckDBPyConnection, dict] = weakref.WeakKeyDictionary()


def snapshot_memo(con: DuckDBPyConnection) -> dict | None:
    """The dict for answers that hold while `con`'s read snapshot lasts, or None outside one (ask the store)."""
    return _SNAPSHOT_MEMOS.get(con) if con in _SNAPSHOTS else None


def kept_for_snapshot(con: DuckDBPyConnection, key: Hashable, make: Callable[[], T]) -> T:
    """make()'s answer, kept under `key` while `con`'s read snapshot lasts (snapshot_memo); made afresh outside one."""
    memo = snapshot_memo(con)
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]


@contextmanager
def read_snapshot(con: DuckDBPyConnection) -> Iterator[DuckDBPyConnection]:
    """Run the block's reads on one snapshot of the store: what others commit meanwhile (an import, a plan) is
    seen by all of the block's queries or by none, so a page never shows half of a batch.

    A write in the block (transaction()) ends the snapshot first and, once committed, starts a new one that
    holds it; import_batch ends it for good (end_snapshot), so its reading and checking are not held in
    one long transaction. At the end the snapshot is closed; a failed query leaves it to be rolled back.
    """
    _begin_snapshot(con)
    try:
        yield con
    finally:
        end_snapshot(con)


# Inside a snapshot whose facts are current, these macros of schema.sql are shadowed by the cursor's own temporary
# ones that read the facts alone (schema.sql says why): name -> (parameters, the macro it reads).
FACTS_ONLY_MACROS = {
    "assignment_progress": ("as_of, scope_therapist", "assignment_progress_facts(as_of, scope_therapist)"),
    "due_assignments": ("as_of, scope_therapist", "due_assignments_facts(as_of, scope_therapist)"),
    "last_submission_days": ("as_of", "last_submission_days_facts(as_of)"),
    "client_last_submission_days": ("as_of, scope_therapist, of_type",
                                    "client_last_submission_days_facts(as_of, scope_therapist, of_type)"),
    "submission_counts": ("first_day, last_day, scope_therapist",
                          "submission_counts_facts(first_day, last_day, scope_therapist)"),
    "client_type_lifts": ("first_day, last_day, scope_therapist",
                          "client_type_lifts_facts(first_day, last_day, scope_therapist)"),
    "assignments_since": ("first_day", "assignments_since_facts(first_day)"),
}


def _begin_snapshot(con: DuckDBPyConnection) -> None:
    con.execute("begin transaction")
    _SNAPSHOTS.add(con)
    _SNAPSHOT_MEMOS[con] = {}
    # Whether the derived facts are current holds for the whole snapshot: checked once here, not in every macro call
    # (schema.sql, facts_current). end_snapshot forgets it.
    con.execute("set variable facts_current_in_snapshot = (select current from facts_current_now)")
    if con.execute("select getvariable('facts_current_in_snapshot')").fetchone()[0]:
        for name, (parameters, body) in FACTS_ONLY_MACROS.items():  # names and bodies are this module's constants
            con.execute(f"create or replace temp macro {name}({parameters}) as table select * from {body}")


def end_snapshot(con: DuckDBPyConnection) -> bool:
    """Close the read snapshot `con` is in, if any (see read_snapshot); True if there was one."""
    if con not in _SNAPSHOTS:
        return False
    _SNAPSHOTS.discard(con)
    _SNAPSHOT_MEMOS.pop(con, None)
    try:
        for name in FACTS_ONLY_MACROS:  # outside the snapshot the facts may not be current: the choosing macros again
            con.execute(f"drop macro table if exists temp.{name}")
        con.execute("commit")  # it only read (temp tables aside): commit and rollback keep the same store
    except duckdb.Error:  # a query in it failed, so DuckDB aborted it (and with it the temporary macros it made)
        _rollback(con)
    con.execute("reset variable facts_current_in_snapshot")  # outside the snapshot, every check is made afresh
    return True


@contextmanager
def transaction(con: DuckDBPyConnection) -> Iterator[DuckDBPyConnection]:
    """Run the block as one transaction: committed if it finishes, rolled back if it raises.

    Write transactions of this process take turns (WRITE_LOCK). Should DuckDB still find that another
    transaction changed the same rows (a conflict), everything is rolled back and WriteConflict says so.
    Inside read_snapshot, the snapshot ends before the write and a new one (holding the write) starts after
    it is committed.
    """
    reading = end_snapshot(con)
    with WRITE_LOCK:
        con.execute("begin transaction")
        try:
            yield con
        except duckdb.TransactionException as exc:
            _rollback(con)
            if "conflict" in str(exc).lower():
                raise WriteConflict() from exc
            if full := disk_full(exc):
                raise full from exc
            raise
        except BaseException as exc:
            _rollback(con)
            if full := disk_full(exc):
                raise full from exc
            raise
        try:
            con.execute("commit")
        except (duckdb.TransactionException, duckdb.ConstraintException) as exc:  # refused at commit: rolled back
            _rollback(con)
            raise disk_full(exc) or WriteConflict() from exc
    if reading:
        _begin_snapshot(con)


def _rollback(con: DuckDBPyConnection) -> None:
    try:
        con.execute("rollback")
    except duckdb.TransactionException:  # DuckDB already ended the failed transaction
        pass
    except duckdb.Error as exc:  # e.g. a full disk: the transaction is over either way; the first error is what counts
        if not disk_full(exc):
            raise


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
        facts.rebuild(con)  # calendar dates of submissions follow the time zone
