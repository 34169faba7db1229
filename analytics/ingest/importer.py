"""Import a batch of canonical CSV files: read, validate in DuckDB, report, and write all or nothing."""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from duckdb import DuckDBPyConnection

if TYPE_CHECKING:  # pandas is imported by what builds frames (previews, the log), not by an import's start
    import pandas as pd

from analytics.ingest.canonical import IMPORT_ORDER, TABLES
from analytics.ingest.changes import EXISTING_MODES, drop_write_set, plan_table, write_table
from analytics.ingest.checks import StagedFile, check_references, validate, warn_unknown_types
from analytics.ingest.columns import tables_of
from analytics.ingest.mapping import CANONICAL, Mapping
from analytics.ingest.raw import Problem, ReadOptions, display_name, printable
from analytics.ingest.recognition import header_score, mindlogger_items, propose, recognise, resolve, strict_mapping
from analytics.ingest.report import DECISION, MAX_LISTED_PROBLEMS, FileReport, ImportRefused, ImportReport
from analytics.ingest.sources import read_source
from analytics.ingest.staging import apply as apply_mapping
from analytics.ingest.value_maps import SAMPLE_ROWS, distinct_values
from analytics.store import audit, facts
from analytics.store.database import WriteConflict, end_snapshot, transaction
from analytics.store.scope import Scope, ScopeError
from analytics.store.vocabulary import type_aliases

__all__ = ["CANONICAL", "FileDraft", "FileReport", "ImportReport", "Mapping", "Preview", "Problem", "Progress",
           "display_name", "import_batch", "import_log", "inspect_file", "preview", "printable", "upload_limit_bytes"]


DEFAULT_UPLOAD_MB = 50  # the Data page's limit for one file; .streamlit/config.toml's server.maxUploadSize agrees


UPLOAD_SECONDS = 20.0  # the time reading one uploaded file may take on the Data page (none on the command line)


CHUNK_ROWS = 50_000  # rows staged per round trip: bounds the memory an import holds in Python


def upload_limit_bytes(con: DuckDBPyConnection, server_mb: int | None = None) -> int:
    """The size limit of one uploaded file: the practice setting `import.max_upload_mb` (50 MB by default), and
    never more than the web server takes (server_mb, its server.maxUploadSize)."""
    row = con.execute("select value from settings where key = 'import.max_upload_mb'").fetchone()
    try:
        megabytes = float(row[0]) if row else DEFAULT_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_UPLOAD_MB
    if server_mb is not None:
        megabytes = min(megabytes, server_mb)
    return int(max(megabytes, 0.001) * (1 << 20))


def _mapping_for(mapping: Mapping | Sequence[Mapping | None] | None, index: int) -> Mapping | None:
    if mapping is None or isinstance(mapping, Mapping):
        return mapping
    return mapping[index] if index < len(mapping) else None


def _stage_source(
    con: DuckDBPyConnection,
    name: str,
    source: bytes | Path,
    given: Mapping | None,
    report: ImportReport,
    *,
    slot: int,
    max_bytes: int | None,
    max_records: int | None = None,
    taken: dict[str, str],
    seconds: float | None = None,
    on_rows: Callable[[int, int | None], None] | None = None,
) -> list[StagedFile]:
    """Read one file and stage the canonical tables it gives; file-level problems go to the report.

    given None reads the canonical format strictly (UTF-8, commas, exact column names); a Mapping
    reads the file as it comes and maps it (the "canonical" preset recognises the table). Returns one
    StagedFile per table; one with spec None when nothing could be staged.
    """
    strict = given is None
    options = ReadOptions(strict=strict, max_bytes=max_bytes, max_records=max_records,
                          sheet=given.sheet if given else None, header_score=None if strict else header_score,
                          seconds=seconds, on_rows=on_rows)
    raw = read_source(con, name, source, slot=slot, options=options)
    report.problems.extend(raw.problems[:MAX_LISTED_PROBLEMS])
    report.unlisted_problems += raw.rejected - raw.rejected_listed
    unreadable = StagedFile(FileReport(file=raw.file, table=None, sha256=raw.sha256), None)
    if not raw.readable:
        return [unreadable]
    if strict:
        resolved, problems = strict_mapping(raw)
        report.problems.extend(problems)
        if resolved is None:
            return [unreadable]
    else:
        resolved = resolve(con, given, raw)
        if resolved.target == "canonical":
            looks = recognise(raw)
            hint = {"flat": " It looks like a flat export: import it with the flat format.",
                    "mindlogger": " It looks like a MindLogger report: import it with the mindlogger format."}
            report.problems.append(Problem(raw.file, raw.header_line, "", "cannot tell which table this is: name the "
                                           "file after it (therapists.csv, clients.csv, assignments.csv, "
                                           "submissions.csv, measures.csv) or map its columns." + hint.get(looks or "", "")))
            return [unreadable]
    for table in tables_of(resolved):
        if table in taken:
            report.problems.append(Problem(raw.file, None, "", f"a second file for {table} in one batch "
                                           f"(the first is {taken[table]}); send one"))
            return [unreadable]
    applied = apply_mapping(con, resolved, raw, slot=slot, strict=strict)
    report.problems.extend(applied.problems)
    report.matches.extend(applied.matches)
    if not applied.ok or not applied.tables:
        return [unreadable]
    staged = []
    for table in applied.tables:
        taken[table.table] = raw.file
        file_report = FileReport(file=raw.file, table=table.table, sha256=raw.sha256, rows_read=table.rows_read,
                                 rejected=table.rejected)
        file_report.format = "canonical" if resolved.target in TABLES else resolved.target
        staged.append(StagedFile(file_report, TABLES[table.table], table.present, table.labels, table.date_order,
                                 table.source))
    return staged


def import_batch(
    con: DuckDBPyConnection,
    files: Sequence[tuple[str, bytes | Path]],
    *,
    scope: Scope,
    imported_by: str | None = None,
    skip_invalid: bool = False,
    mapping: Mapping | Sequence[Mapping | None] | None = None,
    max_bytes: int | None = None,
    dry_run: bool = False,
    existing: str = "refuse",
    expect_changes: int | None = None,
    seconds: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> ImportReport:
    """Validate and import a batch of files as one transaction.

    files: (file name, content as bytes or a Path to read). mapping None: canonical CSV files (any
    subset of the five), read strictly (UTF-8, commas, the column names as documented). A Mapping
    (for every file) or a list of them (one per file, None for the canonical preset): files as they
    come, mapped (see analytics/ingest/mapping.py); the preset mapping.CANONICAL recognises each file's
    table by its name or headers, synonyms included. max_bytes refuses larger files; seconds limits the
    time reading one file may take (the Data page's uploads: UPLOAD_SECONDS). progress, when given, is
    called with a Progress as the work goes (reading with row counts, checking, writing).

    By default a batch with any rejected row is refused whole and the store is left exactly as it
    was; with skip_invalid the valid rows are written and the rejected ones listed. Importing the
    same files again changes nothing. Only the practice imports: a therapist scope raises ScopeError.

    Stored rows the files would change need a decision (existing, see changes.EXISTING_MODES):
    "refuse" (the default) refuses the batch and reports them; "update" changes them, and with
    expect_changes (the count the analyst confirmed) refuses if the store now differs from what was
    checked; "skip" adds the new rows only. dry_run validates and reports exactly what the same call
    without it would do (the same counts), without writing. A written batch keeps what it replaced:
    undo.undo_batch restores the store as it was before it.
    """
    if existing not in EXISTING_MODES:
        raise ValueError(f"existing must be one of {', '.join(EXISTING_MODES)}")
    report, _ = _run_batch(con, files, scope=scope, imported_by=imported_by, skip_invalid=skip_invalid,
                           mapping=mapping, max_bytes=max_bytes, dry_run=dry_run, existing=existing,
                           expect_changes=expect_changes, seconds=seconds, progress=progress)
    return report


@dataclass
class Preview:
    """The first rows of each table as they would be imported, and why a table is empty or missing.

    tables: table -> frame (the source `line` and the table's columns the files fill). empty: table or file
    name -> the reason it shows no rows (e.g. "no column was mapped to submitted_at"). report: what reading
    the first rows said, with the people matched.
    """

    tables: dict[str, pd.DataFrame]
    empty: dict[str, str]
    report: ImportReport


def preview(
    con: DuckDBPyConnection,
    files: Sequence[tuple[str, bytes | Path]],
    mapping: Mapping | Sequence[Mapping | None] | None,
    rows: int = 20,
    *,
    max_bytes: int | None = None,
    seconds: float | None = None,
) -> Preview:
    """The first rows of each table as they would be imported (typed, after every check), without writing.

    Reads only the first rows of each file: run import_batch(dry_run=True) to check the whole batch.
    """
    report, frames = _run_batch(con, files, scope=Scope.practice(), imported_by=None, skip_invalid=True,
                                mapping=mapping, max_bytes=max_bytes, dry_run=True, preview_rows=rows,
                                seconds=seconds)
    return Preview(frames, _empty_reasons(report, frames), report)


def _empty_reasons(report: ImportReport, frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Why each table of the preview is empty, and why each file gave no table, in a sentence."""
    reasons: dict[str, str] = {}
    for f in report.files:
        errors = [p for p in report.errors if p.file == f.file]
        first = errors[0] if errors else None
        where = "" if first is None else (f"line {first.line}, " if first.line else "") + \
            (f"{first.column}: " if first.column else "")
        if f.table is None:
            reasons[f.file] = first.reason if first else "nothing could be read from it"
        elif f.table in frames and frames[f.table].empty:
            if f.rows_read == 0:
                reasons[f.table] = f"{f.file} has no data rows"
            else:
                reasons[f.table] = (f"all {f.rows_read} row(s) read from {f.file} have problems (the first: "
                                    f"{where}{first.reason if first else 'see the problems listed'})")
    return reasons


def _run_batch(
    con: DuckDBPyConnection,
    files: Sequence[tuple[str, bytes | Path]],
    *,
    scope: Scope,
    imported_by: str | None,
    skip_invalid: bool,
    mapping: Mapping | Sequence[Mapping | None] | None,
    max_bytes: int | None,
    dry_run: bool,
    preview_rows: int | None = None,
    existing: str = "refuse",
    expect_changes: int | None = None,
    seconds: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[ImportReport, dict[str, pd.DataFrame]]:
    if not scope.is_practice:
        raise ScopeError("importing data is done by the practice, not from a therapist's view")
    scope.require(scope.may_import, "import files")
    end_snapshot(con)  # a page's read snapshot: reading and checking a batch are not held in one long transaction
    report = ImportReport(dry_run=dry_run, existing=existing)
    frames: dict[str, pd.DataFrame] = {}
    if not files:
        report.problems.append(Problem("", None, "", "no files were given"))
        return report, frames
    preset_for_none = mapping is not None and not isinstance(mapping, Mapping)
    told = _Teller(progress, len(files))
    try:
        with transaction(con):
            _register_type_aliases(con)
            staged_by_table: dict[str, StagedFile] = {}
            taken: dict[str, str] = {}
            unreadable = 0  # files refused as a whole: the batch cannot be written
            for slot, (name, source) in enumerate(files):
                given = _mapping_for(mapping, slot)
                if given is None and preset_for_none:
                    given = CANONICAL
                told.reading(slot, display_name(name), 0, None)
                staged_files = _stage_source(
                    con, name, source, given, report, slot=slot, max_bytes=max_bytes, taken=taken,
                    max_records=None if preview_rows is None else max(preview_rows * 50, 1000), seconds=seconds,
                    on_rows=None if progress is None else
                    (lambda rows, total, slot=slot, name=name: told.reading(slot, display_name(name), rows, total)))
                for staged in staged_files:
                    report.files.append(staged.report)
                    if staged.spec is None:
                        unreadable += 1
                    else:
                        staged_by_table[staged.spec.name] = staged
            batch_tables = set(staged_by_table)
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    told.step("checking", staged_by_table[table])
                    validate(con, staged_by_table[table], report)
                    check_references(con, staged_by_table[table], report, batch_tables)
                    warn_unknown_types(con, staged_by_table[table], report)
            if preview_rows is not None:
                for table in IMPORT_ORDER:
                    if table in staged_by_table:
                        frames[table] = con.execute(
                            f"select _line as line, * exclude (_line) from typed_{table} order by _line limit ?",
                            [preview_rows]).df()
                raise ImportRefused
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    plan_table(con, staged_by_table[table], existing=existing)
            undecided = _changes_need_a_decision(report, existing, expect_changes)
            rejected = any(f.rejected for f in report.files)
            if unreadable or (rejected and not skip_invalid) or undecided or dry_run:
                raise ImportRefused
            report.batch_id = uuid.uuid4().hex
            touched = _few_assignments_touched(con, report)
            con.execute(f"create or replace temp table {facts.TOUCHED} (assignment_id varchar)")
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    told.step("writing", staged_by_table[table])
                    write_table(con, staged_by_table[table], batch_id=report.batch_id, existing=existing,
                                touched=touched)
            if touched:
                facts.rebuild_touched(con)  # the derived adherence facts of what it wrote, in the batch's transaction
            elif any(f.inserted or f.updated for f in report.files if f.table in facts.SOURCE_TABLES):
                facts.rebuild(con)  # (all of them: the batch may touch too many assignments to pick them out)
            _log_batch(con, report, imported_by or getpass.getuser())
            _audit_batch(con, scope, report)
            _drop_temp_tables(con, batch_tables, len(files))
            report.accepted = True
    except ImportRefused:
        report.accepted = False
        if not dry_run and preview_rows is None:
            _audit_batch(con, scope, report, refused=True)
    except (duckdb.TransactionException, duckdb.ConstraintException, WriteConflict):
        # Another session wrote the same rows between our check and our commit: nothing of ours was written.
        _roll_back_quietly(con)
        report.accepted, report.batch_id = False, None
        report.problems.append(Problem(report.files[0].file if report.files else "", None, "",
                                       "someone else changed the same rows at the same moment, so nothing was "
                                       "written; check the files again and import"))
    return report, frames


def _few_assignments_touched(con: DuckDBPyConnection, report: ImportReport) -> bool:
    """Whether the batch, as planned, touches few enough assignments to rebuild only their facts: at most one per
    assignment written and per submission added, two per submission changed (its old and new assignment). A first
    import touches every assignment, so it rebuilds them all without noting each one."""
    written = {f.table: (f.inserted, f.updated) for f in report.files if f.table in facts.SOURCE_TABLES}
    if not any(sum(counts) for counts in written.values()):
        return False
    added, changed = written.get("submissions", (0, 0))
    bound = sum(written.get("assignments", (0, 0))) + added + 2 * changed
    stored = con.execute("select count(*) from assignments").fetchone()[0]
    new = next((f.inserted for f in report.files if f.table == "assignments"), 0)
    return facts.incremental(bound, stored + new)


def _audit_batch(con: DuckDBPyConnection, scope: Scope, report: ImportReport, *, refused: bool = False) -> None:
    """The import in the audit trail: the batch (or the refusal), each file's sha256 and its counts."""
    files = "; ".join(f"{f.table or '?'} sha256 {f.sha256 or '-'} read {f.rows_read} added {f.inserted} "
                      f"changed {f.updated} rejected {f.rejected}" for f in report.files)
    entry = {"actor": scope, "action": audit.IMPORT, "object_type": "batch", "object_id": report.batch_id or "",
             "outcome": "failed" if refused else "ok", "detail": f"{len(report.files)} file(s): {files}"}
    if refused:
        audit.record(con, **entry)
    else:
        audit.append(con, **entry)


@dataclass(frozen=True)
class Progress:
    """How far a batch has got: step (reading, checking or writing), the file and table, rows read so far (or
    the table's rows), and the share of the batch's work done (0 to 1)."""

    step: str
    file: str
    table: str | None
    rows: int
    done: float


class _Teller:
    """Turns the batch's steps into Progress calls: reading is the first 60% of the work, checking the next 30%,
    writing the rest."""

    def __init__(self, progress: Callable[[Progress], None] | None, files: int):
        self.progress, self.files = progress, max(files, 1)

    def reading(self, slot: int, file: str, rows: int, total: int | None) -> None:
        if self.progress:
            within = min(rows / total, 1.0) if total else 0.0
            self.progress(Progress("reading", file, None, rows, 0.6 * (slot + within) / self.files))

    def step(self, step: str, staged: StagedFile) -> None:
        if self.progress and staged.spec is not None:
            order = IMPORT_ORDER.index(staged.spec.name) / len(IMPORT_ORDER)
            start, share = (0.6, 0.3) if step == "checking" else (0.9, 0.1)
            rows = staged.report.rows_read
            self.progress(Progress(step, staged.report.file, staged.spec.name, rows, start + share * order))


def _roll_back_quietly(con: DuckDBPyConnection) -> None:
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass  # a failed commit has already ended the transaction


def _changes_need_a_decision(report: ImportReport, existing: str, expect_changes: int | None) -> bool:
    """Problems for stored rows the batch would change without a decision; True when the batch must be refused."""
    if existing == "refuse":
        for f in report.files:
            if f.updated:
                columns = ", ".join(f"{c} {n}" for c, n in f.changed_columns.items())
                report.problems.append(Problem(
                    f.file, None, DECISION, f"{f.updated} {f.table} already stored would change ({columns}); nothing was "
                    "written: confirm the change (tick it on the Data page, --update-existing on the command line) "
                    "or add only the new rows (--only-new)"))
        return report.changing > 0
    if existing == "update" and expect_changes is not None and report.changing != expect_changes:
        report.problems.append(Problem(
            report.files[0].file if report.files else "", None, DECISION,
            f"the store changed since the check: {report.changing} stored row(s) would change now, not the "
            f"{expect_changes} confirmed; nothing was written: check again"))
        return True
    return False


def _register_type_aliases(con: DuckDBPyConnection) -> None:
    aliases = type_aliases()
    con.execute("create or replace temp table type_aliases (key varchar, canonical varchar)")
    con.executemany("insert into type_aliases values (?, ?)", list(aliases.items()))


def _log_batch(con: DuckDBPyConnection, report: ImportReport, who: str) -> None:
    files = [
        {"file": f.file, "table": f.table, "sha256": f.sha256, "format": f.format, "rows_read": f.rows_read,
         "inserted": f.inserted, "updated": f.updated, "unchanged": f.unchanged, "kept": f.kept,
         "rejected": f.rejected}
        for f in report.files
    ]
    con.execute(
        "insert into import_log values ($batch_id, $at, $who, $files, $inserted, $updated)",
        {"batch_id": report.batch_id, "at": datetime.now(UTC), "who": who,
         "files": json.dumps(files), "inserted": sum(f.inserted for f in report.files),
         "updated": sum(f.updated for f in report.files)},
    )
    con.execute("insert into import_batches (batch_id, existing) values (?, ?)", [report.batch_id, report.existing])


def _drop_temp_tables(con: DuckDBPyConnection, tables: Iterable[str], slots: int) -> None:
    for table in tables:
        con.execute(f"drop view if exists typed_{table}")
        drop_write_set(con, table)
        for prefix in ("stage", "problems", "rejected", "before"):
            con.execute(f"drop table if exists {prefix}_{table}")
    for slot in range(slots):
        for name in (f"raw_{slot}", f"flat_{slot}", f"ml_{slot}", f"ml_{slot}_submissions", f"flat_{slot}_text"):
            con.execute(f"drop table if exists {name}")
    for name in ("type_aliases", "value_maps", "match_answers", "therapist_people", "client_people", facts.TOUCHED):
        con.execute(f"drop table if exists {name}")


def import_log(con: DuckDBPyConnection) -> pd.DataFrame:
    """Accepted batches, newest first: imported_at, imported_by, files (JSON), inserted, updated."""
    return con.execute(
        "select batch_id, imported_at, imported_by, files, inserted, updated "
        "from import_log order by imported_at desc"
    ).df()


@dataclass
class FileDraft:
    """What the Data page shows of one uploaded file before it is imported.

    description: how it was read (encoding, delimiter, header line); header: its column names;
    proposal: the mapping proposed for it (target "canonical" when not recognised); words: the most
    frequent values of each column, by position (for value maps); items: MindLogger item names;
    problems: what reading it said (notes, warnings, or the error that refuses it).
    """

    file: str
    readable: bool
    description: str
    header: tuple[str, ...]
    proposal: Mapping
    words: dict[int, list[str]]
    items: list[str]
    problems: list[Problem]


def inspect_file(
    con: DuckDBPyConnection,
    name: str,
    source: bytes | Path,
    *,
    max_bytes: int | None = None,
    target: str | None = None,
    sheet: str | None = None,
    seconds: float | None = None,
) -> FileDraft:
    """Read the start of one file (nothing is written) and propose a mapping for it; target forces one."""
    options = ReadOptions(max_bytes=max_bytes, max_records=SAMPLE_ROWS, sheet=sheet, header_score=header_score,
                          seconds=seconds)
    try:
        with transaction(con):
            raw = read_source(con, name, source, slot=0, options=options)
            if not raw.readable:
                draft = FileDraft(raw.file, False, raw.describe(), (), Mapping("canonical"), {}, [], raw.problems)
            else:
                proposal = propose(con, raw, target=None if target in (None, "canonical") else target)
                proposal = replace(proposal, sheet=sheet)
                words = {p: distinct_values(con, raw, p) for p in range(len(raw.header))}
                items = mindlogger_items(con, raw, proposal) if proposal.target == "mindlogger" else []
                draft = FileDraft(raw.file, True, raw.describe(), raw.header, proposal, words, items, raw.problems)
            raise ImportRefused  # roll back: an inspection leaves nothing behind
    except ImportRefused:
        pass
    return draft
