"""The import log for people, and undoing a batch: the store as it was before it, refused with the reason when
a later batch or an edit (feedback, a plan) touched the same rows or built on rows it added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
from duckdb import DuckDBPyConnection

if TYPE_CHECKING:
    import pandas as pd

from analytics.ingest.canonical import IMPORT_ORDER, TABLES
from analytics.ingest.changes import key_sql, row_unchanged_sql
from analytics.ingest.raw import printable
from analytics.store import audit, facts
from analytics.store.database import WriteConflict, transaction
from analytics.store.scope import Scope, ScopeError

LOG_ROWS = 200  # batches the log shows, newest first


# (child table, its column, parent table): the references an undo must not break. assignment_details holds what
# the planner wrote about an assignment; no import writes it, so a row there is always someone's later work.
REFERENCES = (
    ("clients", "therapist_id", "therapists"),
    ("assignments", "client_id", "clients"),
    ("measures", "client_id", "clients"),
    ("submissions", "assignment_id", "assignments"),
    ("assignment_details", "assignment_id", "assignments"),
)


@dataclass(frozen=True)
class UndoResult:
    """What an undo did (done) or why it refused (reasons); removed / restored: rows per table."""

    batch_id: str
    done: bool
    reasons: tuple[str, ...] = ()
    removed: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)

    def to_text(self) -> str:
        if not self.done:
            return "\n".join([f"Not undone: batch {self.batch_id} is left as it is.", *(f"  {r}" for r in self.reasons)])
        parts = [f"{t}: {self.removed.get(t, 0)} removed, {self.restored.get(t, 0)} restored"
                 for t in IMPORT_ORDER if self.removed.get(t) or self.restored.get(t)]
        return "\n".join([f"Undone: the store is as it was before batch {self.batch_id}.", *(f"  {p}" for p in parts)])


class _Refused(Exception):
    pass


def undo_batch(con: DuckDBPyConnection, batch_id: str, *, scope: Scope, undone_by: str) -> UndoResult:
    """Restore the store to exactly its state before batch_id: remove the rows it added, put back the rows it
    changed. Refused (nothing changes) when the batch is unknown, already undone, older than undo, or when rows
    it wrote were changed since or rows added since depend on rows it added; the reasons say which."""
    if not scope.is_practice:
        raise ScopeError("undoing an import is done by the practice, not from a therapist's view")
    scope.require(scope.may_import, "undo an import")
    batch_id = batch_id.strip()
    try:
        with transaction(con):
            reasons = _reasons_to_refuse(con, batch_id)
            if reasons:
                raise _Refused(*reasons)
            _note_touched(con, batch_id)
            removed, restored = _restore(con, batch_id)
            facts.rebuild_touched(con)  # the derived adherence facts (of what it touched, when few), in its transaction
            con.execute(f"drop table {facts.TOUCHED}")
            con.execute("update import_batches set undone_at = ?, undone_by = ? where batch_id = ?",
                        [datetime.now(UTC), undone_by, batch_id])
            for table in IMPORT_ORDER:
                con.execute(f"delete from undo_{table} where batch_id = ?", [batch_id])
            audit.append(con, actor=scope, action=audit.UNDO, object_type="batch", object_id=batch_id,
                         detail=f"removed {json.dumps(removed)}; restored {json.dumps(restored)}")
    except _Refused as refused:
        return UndoResult(batch_id, False, tuple(refused.args))
    except (duckdb.TransactionException, duckdb.ConstraintException, WriteConflict):
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        return UndoResult(batch_id, False, ("someone else changed the store at the same moment; nothing was undone: "
                                            "try again",))
    return UndoResult(batch_id, True, (), removed, restored)


def _note_touched(con: DuckDBPyConnection, batch_id: str) -> None:
    """The assignments whose facts the undo changes, in facts.TOUCHED (before the restore): the batch's assignments,
    and the assignment of each of its submissions as stored now and as it was before the batch."""
    con.execute(
        f"create or replace temp table {facts.TOUCHED} as "
        "select assignment_id from undo_assignments where batch_id = $batch "
        "union all select assignment_id from undo_submissions where batch_id = $batch and assignment_id is not null "
        "union all select s.assignment_id from submissions s join undo_submissions u using (submission_id) "
        "where u.batch_id = $batch", {"batch": batch_id})


def _reasons_to_refuse(con: DuckDBPyConnection, batch_id: str) -> list[str]:
    logged = con.execute("select imported_at from import_log where batch_id = ?", [batch_id]).fetchone()
    shown = printable(batch_id, 40)
    if logged is None:
        return [f"there is no batch {shown} in the import log"]
    kept = con.execute("select undone_at from import_batches where batch_id = ?", [batch_id]).fetchone()
    if kept is None:
        return [f"batch {shown} was imported before imports kept what they replaced (schema version 6); "
                "it cannot be undone"]
    if kept[0] is not None:
        return [f"batch {shown} was already undone on {kept[0]:%Y-%m-%d %H:%M}"]
    imported_at = logged[0]
    reasons = []
    for table in IMPORT_ORDER:
        keys = TABLES[table].key
        match = " and ".join(f"cur.{k} = u.{k}" for k in keys)
        touched, example = con.execute(
            f"select count(*), min({key_sql(table, 'u')}) from undo_{table} u left join {table} cur on {match} "
            f"where u.batch_id = $b and (cur.{keys[0]} is null or not {row_unchanged_sql(table, 'cur', 'u')})",
            {"b": batch_id}).fetchone()
        if touched:
            later = _later_batches(con, table, batch_id, imported_at)
            who = f" by the later import {later}: undo that first" if later else \
                " by an edit in the dashboard (feedback, a plan) or another program; undoing would lose it"
            reasons.append(f"{touched} {table} row(s) this batch wrote were changed since (e.g. "
                           f"{printable(str(example), 40)}){who}")
    for child, column, parent in REFERENCES:
        parent_key = TABLES[parent].key[0]
        child_keys = TABLES[child].key if child in TABLES else ("assignment_id",)
        ours = "" if child not in TABLES else (
            f" and not exists (select 1 from undo_{child} u where u.batch_id = $b and "
            f"{' and '.join(f'u.{k} = c.{k}' for k in child_keys)})")
        example_key = key_sql(child, "c") if child in TABLES else "c.assignment_id"
        depends, example = con.execute(
            f"select count(*), min({example_key}) from {child} c where c.{column} in "
            f"(select {parent_key} from undo_{parent} where batch_id = $b and action = 'insert'){ours}",
            {"b": batch_id}).fetchone()
        if depends:
            later = _batches_adding(con, child, column, parent, batch_id) if child in TABLES else ""
            who = f"; undo the later import {later} first" if later else \
                " (added in the dashboard, by the planner or another program); undoing would orphan them"
            what = "planned homework details" if child == "assignment_details" else f"{child} row(s)"
            reasons.append(f"{depends} {what} added since (e.g. {printable(str(example), 40)}) belong to {parent} "
                           f"this batch added{who}")
    return reasons


def _later_batches(con: DuckDBPyConnection, table: str, batch_id: str, imported_at: datetime) -> str:
    """Ids of later batches that wrote rows with this batch's keys of the table, newest first, as text."""
    keys = TABLES[table].key
    match = " and ".join(f"later.{k} = u.{k}" for k in keys)
    rows = con.execute(
        f"select distinct later.batch_id, log.imported_at from undo_{table} later "
        f"join import_log log on log.batch_id = later.batch_id "
        f"where log.imported_at > $at and later.batch_id <> $b "
        f"and exists (select 1 from undo_{table} u where u.batch_id = $b and {match}) order by 2 desc limit 5",
        {"at": imported_at, "b": batch_id}).fetchall()
    return ", ".join(r[0] for r in rows)


def _batches_adding(con: DuckDBPyConnection, child: str, column: str, parent: str, batch_id: str) -> str:
    """Ids of other batches that added child rows referring to parent rows this batch added, as text."""
    keys = TABLES[child].key
    match = " and ".join(f"u.{k} = c.{k}" for k in keys)
    rows = con.execute(
        f"select distinct u.batch_id from undo_{child} u join {child} c on {match} "
        f"where u.action = 'insert' and u.batch_id <> $b and c.{column} in "
        f"(select {TABLES[parent].key[0]} from undo_{parent} where batch_id = $b and action = 'insert') "
        f"order by 1 limit 5", {"b": batch_id}).fetchall()
    return ", ".join(r[0] for r in rows)


def _restore(con: DuckDBPyConnection, batch_id: str) -> tuple[dict[str, int], dict[str, int]]:
    removed: dict[str, int] = {}
    restored: dict[str, int] = {}
    for table in reversed(IMPORT_ORDER):
        keys = TABLES[table].key
        match = " and ".join(f"u.{k} = {table}.{k}" for k in keys)
        removed[table] = con.execute(
            f"delete from {table} where exists (select 1 from undo_{table} u where u.batch_id = $b and "
            f"u.action = 'insert' and {match})", {"b": batch_id}).fetchone()[0]
        others = [c for c in TABLES[table].column_names if c not in keys]
        restored[table] = con.execute(
            f"update {table} set {', '.join(f'{c} = u.{c}' for c in others)} from undo_{table} u "
            f"where u.batch_id = $b and u.action = 'update' and {match}", {"b": batch_id}).fetchone()[0]
    return removed, restored


def store_stamp(con: DuckDBPyConnection) -> tuple:
    """Changes whenever an import is written or undone: a key for anything computed against the store's rows."""
    return con.execute("select count(*), max(log.imported_at), count(b.undone_at) from import_log log "
                       "left join import_batches b using (batch_id)").fetchone()


def batch_history(con: DuckDBPyConnection, *, limit: int = LOG_ROWS) -> pd.DataFrame:
    """The import log for people, newest first: batch_id, imported_at, imported_by, files (names), tables, rows
    (read), added, changed, undone_at, can_undo (recorded for undo and not undone yet)."""
    rows = con.execute(
        "select log.batch_id, log.imported_at, log.imported_by, log.files, log.inserted, log.updated, "
        "b.undone_at, b.batch_id is not null and b.undone_at is null "
        "from import_log log left join import_batches b using (batch_id) order by log.imported_at desc limit ?",
        [limit]).fetchall()
    out = []
    for batch, at, who, files_json, added, changed, undone_at, can_undo in rows:
        files = _files(files_json)
        names = list(dict.fromkeys(f.get("file", "") for f in files))
        tables = list(dict.fromkeys(f.get("table") or "" for f in files))
        out.append((batch, at, who, ", ".join(names), ", ".join(t for t in tables if t),
                    sum(int(f.get("rows_read", 0)) for f in files), added, changed, undone_at, can_undo))
    import pandas as pd

    return pd.DataFrame(out, columns=["batch_id", "imported_at", "imported_by", "files", "tables", "rows", "added",
                                      "changed", "undone_at", "can_undo"])


def batch_files(con: DuckDBPyConnection, batch_id: str) -> pd.DataFrame:
    """One batch's files: file, table, format, rows_read, inserted, updated, unchanged, kept, rejected, sha256."""
    row = con.execute("select files from import_log where batch_id = ?", [batch_id]).fetchone()
    columns = ["file", "table", "format", "rows_read", "inserted", "updated", "unchanged", "kept", "rejected", "sha256"]
    files = _files(row[0]) if row else []
    import pandas as pd

    return pd.DataFrame([[f.get(c) for c in columns] for f in files], columns=columns)


def _files(text: str) -> list[dict]:
    try:
        files = json.loads(text)
    except (TypeError, ValueError):
        return []
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
