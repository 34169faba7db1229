"""Import a batch of canonical CSV files: read, validate in DuckDB, report, and write all or nothing."""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import IMPORT_ORDER, TABLES, Column, TableSpec
from analytics.ingest.mapping import (
    CANONICAL,
    SAMPLE_ROWS,
    Mapping,
    distinct_values,
    header_score,
    mindlogger_items,
    propose,
    recognise,
    resolve,
    strict_mapping,
    tables_of,
)
from analytics.ingest.mapping import apply as apply_mapping
from analytics.ingest.sources import Problem, ReadOptions, display_name, printable, read_source
from analytics.store.database import transaction
from analytics.store.scope import Scope, ScopeError
from analytics.store.vocabulary import FALSE_WORDS, MEASURES, TRUE_WORDS, type_aliases

__all__ = ["CANONICAL", "FileDraft", "FileReport", "ImportReport", "Mapping", "Problem", "display_name",
           "import_batch", "import_log", "inspect_file", "preview", "printable", "upload_limit_bytes"]
DEFAULT_UPLOAD_MB = 50

CHUNK_ROWS = 50_000  # rows staged per round trip: bounds the memory an import holds in Python
MAX_LISTED_PROBLEMS = 1_000  # per file; the counts stay exact beyond it

DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
# UTC offsets run from -12:00 to +14:00 with whole minutes; anything else is not a time.
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?$"
OFFSET_RE = r"(Z|[+-]\d{2}(:?\d{2})?)$"


@dataclass
class FileReport:
    """What happened to one file of the batch."""

    file: str
    table: str | None
    sha256: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    format: str = "canonical"  # canonical, flat or mindlogger: how the file was read


@dataclass
class ImportReport:
    """The outcome of one batch: per file counts, every problem, and whether it was written."""

    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    accepted: bool = False
    batch_id: str | None = None
    unlisted_problems: int = 0  # problems beyond MAX_LISTED_PROBLEMS per file, counted not listed

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def files_frame(self) -> pd.DataFrame:
        """One row per file: file, table, rows_read, inserted, updated, unchanged, rejected."""
        columns = ["file", "table", "rows_read", "inserted", "updated", "unchanged", "rejected"]
        return pd.DataFrame([[getattr(f, c) for c in columns] for f in self.files], columns=columns)

    def problems_frame(self) -> pd.DataFrame:
        """One row per problem: severity, file, line, column, reason."""
        columns = ["severity", "file", "line", "column", "reason"]
        return pd.DataFrame(
            [[p.severity, p.file, p.line, p.column, p.reason] for p in self.problems], columns=columns
        ).astype({"line": "Int64"})

    def to_text(self, *, max_problems: int = 50) -> str:
        """The report as plain text for the command line."""
        lines = ["Imported." if self.accepted else "Refused: nothing was written to the store."]
        for f in self.files:
            lines.append(
                f"  {f.file} -> {f.table or '?'}: {f.rows_read} read, {f.inserted} inserted, "
                f"{f.updated} updated, {f.unchanged} unchanged, {f.rejected} rejected"
            )
        shown = self.problems[:max_problems]
        if shown:
            lines.append("Problems:")
        for p in shown:
            where = f"line {p.line}" if p.line is not None else "file"
            column = f", column {p.column}" if p.column else ""
            lines.append(f"  {p.severity}: {p.file}, {where}{column}: {p.reason}")
        hidden = len(self.problems) - len(shown) + self.unlisted_problems
        if hidden:
            lines.append(f"  ... and {hidden} more")
        return "\n".join(lines)


class ImportRefused(Exception):
    """Raised inside the write transaction to roll it back; carries nothing the report lacks."""


# ---------------------------------------------------------------------------------------------
# Reading files: sources (bytes -> raw_<slot>) and a mapping (raw_<slot> -> stage_<table>)
# ---------------------------------------------------------------------------------------------


@dataclass
class _StagedFile:
    report: FileReport
    spec: TableSpec | None
    present: tuple[str, ...] = ()  # canonical columns the file has
    labels: dict[str, str] = field(default_factory=dict)  # column -> the name shown in problems
    date_order: str = "iso"


def upload_limit_bytes(con: DuckDBPyConnection) -> int:
    """The size limit of one uploaded file: the practice setting `import.max_upload_mb` (50 MB by default)."""
    row = con.execute("select value from settings where key = 'import.max_upload_mb'").fetchone()
    try:
        megabytes = float(row[0]) if row else DEFAULT_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_UPLOAD_MB
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
) -> list[_StagedFile]:
    """Read one file and stage the canonical tables it gives; file-level problems go to the report.

    given None reads the canonical format strictly (UTF-8, commas, exact column names); a Mapping
    reads the file as it comes and maps it (the "canonical" preset recognises the table). Returns one
    _StagedFile per table; one with spec None when nothing could be staged.
    """
    strict = given is None
    options = ReadOptions(strict=strict, max_bytes=max_bytes, max_records=max_records,
                          sheet=given.sheet if given else None, header_score=None if strict else header_score)
    raw = read_source(con, name, source, slot=slot, options=options)
    report.problems.extend(raw.problems[:MAX_LISTED_PROBLEMS])
    report.unlisted_problems += raw.rejected - raw.rejected_listed
    unreadable = _StagedFile(FileReport(file=raw.file, table=None, sha256=raw.sha256), None)
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
    if not applied.ok or not applied.tables:
        return [unreadable]
    staged = []
    for table in applied.tables:
        taken[table.table] = raw.file
        file_report = FileReport(file=raw.file, table=table.table, sha256=raw.sha256, rows_read=table.rows_read,
                                 rejected=table.rejected)
        file_report.format = "canonical" if resolved.target in TABLES else resolved.target
        staged.append(_StagedFile(file_report, TABLES[table.table], table.present, table.labels, table.date_order))
    return staged


# ---------------------------------------------------------------------------------------------
# Validation in SQL
# ---------------------------------------------------------------------------------------------


def _value(column: str) -> str:
    """SQL for a staged field with surrounding spaces removed and empty read as missing."""
    return f"nullif(trim({column}), '')"


def _word_list(words: Iterable[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)  # fixed words from canonical.py, never user text


DATE_EXPECTED = {
    "iso": "expected YYYY-MM-DD",
    "dmy": "expected day/month/year (e.g. 31/01/2026) or YYYY-MM-DD",
    "mdy": "expected month/day/year (e.g. 01/31/2026) or YYYY-MM-DD",
}


def _row_checks(spec: TableSpec, present: Sequence[str], date_order: str = "iso") -> list[tuple[str, str, str]]:
    """(column, reason, SQL that is true for a bad row) for every per-row rule of the table."""
    checks: list[tuple[str, str, str]] = []
    for col in spec.columns:
        if col.name not in present:
            continue
        v = _value(col.name)
        if col.required:
            checks.append((col.name, "required value is missing", f"{v} is null"))
        checks.extend(_kind_checks(col, v, date_order))
    if spec.name == "assignments":
        checks.append(("due_on", "due_on is before assigned_on",
                       f"try_strptime({_value('due_on')}, '%Y-%m-%d') < try_strptime({_value('assigned_on')}, '%Y-%m-%d')"))
    if spec.name == "submissions" and "feedback_at" in present:
        checks.append(("feedback_at", "feedback_at is before submitted_at",
                       f"{_datetime_sql(_value('feedback_at'))} < {_datetime_sql(_value('submitted_at'))}"))
    if spec.name == "measures":
        for measure, top in MEASURES.items():
            checks.append(("score", f"a {measure} score must be between 0 and {top}",
                           f"{_measure_sql(_value('measure'))} = '{measure}' "
                           f"and try_cast({_value('score')} as integer) > {top}"))
    return checks


def _kind_checks(col: Column, v: str, date_order: str = "iso") -> list[tuple[str, str, str]]:
    if col.kind == "date":
        return [(col.name, f"not a date: {DATE_EXPECTED[date_order]}",
                 f"{v} is not null and (not regexp_matches({v}, '{DATE_RE}') "
                 f"or try_strptime({v}, '%Y-%m-%d') is null)")]
    if col.kind == "datetime":
        return [(col.name, "not a date-time: expected ISO 8601, e.g. 2026-03-01T18:30:00",
                 f"{v} is not null and (not regexp_matches({v}, '{DATETIME_RE}') "
                 f"or {_datetime_sql(v)} is null)")]
    if col.kind == "int":
        return [(col.name, f"not a whole number between {col.low} and {col.high}",
                 f"{v} is not null and (not regexp_matches({v}, '^[+-]?[0-9]{{1,9}}$') "
                 f"or cast({v} as bigint) not between {col.low} and {col.high})")]
    if col.kind == "bool":
        return [(col.name, "not true or false",
                 f"{v} is not null and lower({v}) not in ({_word_list(TRUE_WORDS + FALSE_WORDS)})")]
    if col.kind == "enum":
        return [(col.name, f"must be one of {', '.join(col.allowed)}",
                 f"{v} is not null and lower({v}) not in ({_word_list(col.allowed)})")]
    if col.kind == "measure":
        return [(col.name, "must be PHQ-9 or GAD-7", f"{v} is not null and {_measure_sql(v)} is null")]
    return []


def _datetime_sql(v: str) -> str:
    """SQL turning ISO text into an instant: with an offset as written, else in the practice's zone."""
    return (f"case when regexp_matches({v}, '{OFFSET_RE}') then try_cast({v} as timestamptz) "
            f"else timezone((select timezone from practice_settings), try_cast({v} as timestamp)) end")


def _measure_sql(v: str) -> str:
    keys = " ".join(
        f"when '{m.replace('-', '').lower()}' then '{m}'" for m in MEASURES
    )
    return f"case regexp_replace(lower({v}), '[^a-z0-9]', '', 'g') {keys} else null end"


def _typed_sql(col: Column) -> str:
    """SQL giving the column's stored value from a staged row that passed the checks."""
    v = _value(col.name)
    if col.kind == "date":
        return f"cast({v} as date)"
    if col.kind == "datetime":
        return _datetime_sql(v)
    if col.kind == "int":
        typed = f"cast({v} as integer)"
        return f"coalesce({typed}, {col.default})" if col.default else typed
    if col.kind == "bool":
        return f"case when {v} is null then null else lower({v}) in ({_word_list(TRUE_WORDS)}) end"
    if col.kind == "enum":
        return f"coalesce(lower({v}), '{col.default}')" if col.default else f"lower({v})"
    if col.kind == "measure":
        return _measure_sql(v)
    if col.kind == "type":
        return f"coalesce(type_aliases.canonical, {v})"
    if col.name == "label":
        return f"coalesce({v}, {_value('client_id')})"
    return v


def _validate(
    con: DuckDBPyConnection, staged: _StagedFile, report: ImportReport
) -> None:
    """Check each staged row, record problems, and build typed_<table> from the rows that pass."""
    spec, present = staged.spec, staged.present
    assert spec is not None
    table = spec.name
    checks = _row_checks(spec, present, staged.date_order)
    # Keys are compared as they will be stored, so "PHQ-9" and "phq9" on one day are one measure.
    key = ", ".join(_key_sql(spec.column(k)) for k in spec.key)
    duplicate = (
        f"select _line, '{spec.key[0]}' as col, "
        f"'the same {'/'.join(spec.key)} as line ' || first_line as reason from ("
        f"select _line, min(_line) over (partition by {key}) as first_line, "
        f"count(*) over (partition by {key}) as n from stage_{table} "
        f"where {' and '.join(f'{_key_sql(spec.column(k))} is not null' for k in spec.key)}) where _line > first_line"
    )
    unions = [f"select _line, '{c}' as col, '{r}' as reason from stage_{table} where {pred}"
              for c, r, pred in checks]
    unions.append(duplicate)
    con.execute(f"create or replace temp table problems_{table} as {' union all '.join(unions)}")
    _collect_problems(con, table, staged, report)

    join_types = ""
    if "assignment_type" in present:
        join_types = (f" left join type_aliases on type_aliases.key = "
                      f"regexp_replace(lower(replace({_value('assignment_type')}, '&', 'and')), '[^a-z0-9]', '', 'g')")
    select = ", ".join(f"{_typed_sql(spec.column(c))} as {c}" for c in present)
    con.execute(
        f"create or replace temp table typed_{table} as select _line, {select} "
        f"from stage_{table}{join_types} "
        f"where _line not in (select _line from problems_{table})"
    )
    con.execute(f"drop table if exists stage_{table}")  # typed_<table> holds what is left to check and write


def _key_sql(col: Column) -> str:
    """SQL for a key field as it will be stored (a value that is not valid gives NULL)."""
    v = _value(col.name)
    if col.kind == "measure":
        return _measure_sql(v)
    if col.kind == "date":
        return f"try_cast({v} as date)"
    return v


def _warn_unknown_types(con: DuckDBPyConnection, staged: _StagedFile, report: ImportReport) -> None:
    """List each assignment type that is not one of ours (kept as written) among the accepted rows."""
    if "assignment_type" in staged.present:
        unknown = con.execute(
            "select t.assignment_type, count(*), min(t._line) from typed_assignments t "
            "left join type_aliases on type_aliases.canonical = t.assignment_type "
            "where type_aliases.canonical is null group by 1 order by 3"
        ).fetchall()
        for value, count, first_line in unknown:
            report.problems.append(Problem(
                staged.report.file, first_line, "assignment_type",
                f"unknown type '{printable(value)}' kept as written ({count} row(s)); "
                "known types: journaling, behavioural, mindfulness, creative, narrative, other",
                "warning"))


def _check_references(
    con: DuckDBPyConnection, staged: _StagedFile, report: ImportReport, batch_tables: set[str]
) -> None:
    """Reject typed rows whose referenced id is neither in the store nor accepted in this batch.

    Tables are checked parents first, so a row whose parent was rejected is rejected too.
    """
    spec = staged.spec
    assert spec is not None
    table = spec.name
    unions = []
    for col in spec.columns:
        if not col.references or col.name not in staged.present:
            continue
        parent = TABLES[col.references]
        parent_key = parent.key[0]
        sources = [f"select {parent_key} from {parent.name}"]
        if parent.name in batch_tables:
            sources.append(f"select {parent_key} from typed_{parent.name}")
        unions.append(
            f"select t._line, '{col.name}' as col, "
            f"'{parent_key} ' || t.{col.name} || ' is not in {parent.file_name} or the store' as reason "
            f"from typed_{table} t where t.{col.name} not in ({' union all '.join(sources)})"
        )
    if not unions:
        return
    con.execute(f"create or replace temp table problems_{table} as {' union all '.join(unions)}")
    _collect_problems(con, table, staged, report)
    con.execute(f"delete from typed_{table} where _line in (select _line from problems_{table})")


def _collect_problems(
    con: DuckDBPyConnection, table: str, staged: _StagedFile, report: ImportReport
) -> None:
    """Copy problems_<table> into the report (capped per file) and count the rows it rejects."""
    file_report = staged.report
    listed = sum(1 for p in report.problems if p.file == file_report.file)
    room = max(0, MAX_LISTED_PROBLEMS - listed)
    rows = con.execute(
        f"select _line, col, reason from problems_{table} order by _line, col limit {room}"
    ).fetchall()
    total, lines = con.execute(
        f"select count(*), count(distinct _line) from problems_{table}"
    ).fetchone()
    for line, column, reason in rows:
        report.problems.append(Problem(file_report.file, line, staged.labels.get(column, column), printable(reason, 160)))
    report.unlisted_problems += total - len(rows)
    file_report.rejected += lines


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _write_table(con: DuckDBPyConnection, staged: _StagedFile) -> None:
    """Insert new rows and update changed ones from typed_<table>; count inserted/updated/unchanged."""
    spec = staged.spec
    assert spec is not None
    table, present = spec.name, staged.present
    key_match = " and ".join(f"s.{k} = t.{k}" for k in spec.key)
    others = [c for c in present if c not in spec.key]
    differs = " or ".join(f"s.{c} is distinct from t.{c}" for c in others) or "false"
    con.execute(
        f"create or replace temp table write_{table} as "
        f"select t.*, s.{spec.key[0]} is null as is_new from typed_{table} t "
        f"left join {table} s on {key_match} "
        f"where s.{spec.key[0]} is null or {differs}"
    )
    inserted, changed = con.execute(
        f"select count(*) filter (where is_new), count(*) filter (where not is_new) from write_{table}"
    ).fetchone()
    total = con.execute(f"select count(*) from typed_{table}").fetchone()[0]
    staged.report.inserted, staged.report.updated = inserted, changed
    staged.report.unchanged = total - inserted - changed
    # A new client from a file without a label column is shown by its id; a stored label is kept.
    derived = {"label": "client_id"} if table == "clients" and "label" not in present else {}
    columns = ", ".join([*present, *derived])
    values = ", ".join([*present, *derived.values()])
    update = ", ".join(f"{c} = excluded.{c}" for c in others)
    conflict = f"do update set {update}" if update else "do nothing"
    con.execute(
        f"insert into {table} ({columns}) select {values} from write_{table} "
        f"on conflict ({', '.join(spec.key)}) {conflict}"
    )
    con.execute(f"drop table if exists write_{table}")


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
) -> ImportReport:
    """Validate and import a batch of files as one transaction.

    files: (file name, content as bytes or a Path to read). mapping None: canonical CSV files (any
    subset of the five), read strictly (UTF-8, commas, the column names as documented). A Mapping
    (for every file) or a list of them (one per file, None for the canonical preset): files as they
    come, mapped (see analytics/ingest/mapping.py); the preset mapping.CANONICAL recognises each file's
    table by its name or headers, synonyms included. max_bytes refuses larger files.

    By default a batch with any rejected row is refused whole and the store is left exactly as it
    was; with skip_invalid the valid rows are written and the rejected ones listed. dry_run
    validates and reports without writing. Importing the same files again changes nothing. Only
    the practice imports: a therapist scope raises ScopeError.
    """
    report, _ = _run_batch(con, files, scope=scope, imported_by=imported_by, skip_invalid=skip_invalid,
                           mapping=mapping, max_bytes=max_bytes, dry_run=dry_run)
    return report


def preview(
    con: DuckDBPyConnection,
    files: Sequence[tuple[str, bytes | Path]],
    mapping: Mapping | Sequence[Mapping | None] | None,
    rows: int = 20,
    *,
    max_bytes: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The first rows of each table as they would be imported (typed, after every check), without writing.

    Keys are "<table>" (or "<table> from <file>" when two files give one table); each frame has the
    source line (`line`) and the table's columns the files fill. Reads only the first rows of each
    file: run import_batch(dry_run=True) to validate the whole batch.
    """
    _, frames = _run_batch(con, files, scope=Scope.practice(), imported_by=None, skip_invalid=True,
                           mapping=mapping, max_bytes=max_bytes, dry_run=True, preview_rows=rows)
    return frames


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
) -> tuple[ImportReport, dict[str, pd.DataFrame]]:
    if not scope.is_practice:
        raise ScopeError("importing data is done by the practice, not from a therapist's view")
    report = ImportReport()
    frames: dict[str, pd.DataFrame] = {}
    if not files:
        report.problems.append(Problem("", None, "", "no files were given"))
        return report, frames
    preset_for_none = mapping is not None and not isinstance(mapping, Mapping)
    try:
        with transaction(con):
            _register_type_aliases(con)
            staged_by_table: dict[str, _StagedFile] = {}
            taken: dict[str, str] = {}
            unreadable = 0  # files refused as a whole: the batch cannot be written
            for slot, (name, source) in enumerate(files):
                given = _mapping_for(mapping, slot)
                if given is None and preset_for_none:
                    given = CANONICAL
                staged_files = _stage_source(
                    con, name, source, given, report, slot=slot, max_bytes=max_bytes, taken=taken,
                    max_records=None if preview_rows is None else max(preview_rows * 50, 1000))
                for staged in staged_files:
                    report.files.append(staged.report)
                    if staged.spec is None:
                        unreadable += 1
                    else:
                        staged_by_table[staged.spec.name] = staged
            batch_tables = set(staged_by_table)
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    _validate(con, staged_by_table[table], report)
                    _check_references(con, staged_by_table[table], report, batch_tables)
                    _warn_unknown_types(con, staged_by_table[table], report)
            if preview_rows is not None:
                for table in IMPORT_ORDER:
                    if table in staged_by_table:
                        frames[table] = con.execute(
                            f"select _line as line, * exclude (_line) from typed_{table} order by _line limit ?",
                            [preview_rows]).df()
                raise ImportRefused
            rejected = any(f.rejected for f in report.files)
            if unreadable or (rejected and not skip_invalid) or dry_run:
                raise ImportRefused
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    _write_table(con, staged_by_table[table])
            report.batch_id = uuid.uuid4().hex
            _log_batch(con, report, imported_by or getpass.getuser())
            _drop_temp_tables(con, batch_tables, len(files))
            report.accepted = True
    except ImportRefused:
        report.accepted = False
    return report, frames


def _register_type_aliases(con: DuckDBPyConnection) -> None:
    aliases = type_aliases()
    con.execute("create or replace temp table type_aliases (key varchar, canonical varchar)")
    con.executemany("insert into type_aliases values (?, ?)", list(aliases.items()))


def _log_batch(con: DuckDBPyConnection, report: ImportReport, who: str) -> None:
    files = [
        {"file": f.file, "table": f.table, "sha256": f.sha256, "format": f.format, "rows_read": f.rows_read,
         "inserted": f.inserted, "updated": f.updated, "unchanged": f.unchanged, "rejected": f.rejected}
        for f in report.files
    ]
    con.execute(
        "insert into import_log values ($batch_id, $at, $who, $files, $inserted, $updated)",
        {"batch_id": report.batch_id, "at": datetime.now(UTC), "who": who,
         "files": json.dumps(files), "inserted": sum(f.inserted for f in report.files),
         "updated": sum(f.updated for f in report.files)},
    )


def _drop_temp_tables(con: DuckDBPyConnection, tables: Iterable[str], slots: int) -> None:
    for table in tables:
        for prefix in ("stage", "problems", "typed", "write"):
            con.execute(f"drop table if exists {prefix}_{table}")
    for slot in range(slots):
        for name in (f"raw_{slot}", f"flat_{slot}", f"ml_{slot}", f"ml_{slot}_submissions"):
            con.execute(f"drop table if exists {name}")
    con.execute("drop table if exists type_aliases")
    con.execute("drop table if exists value_maps")


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
) -> FileDraft:
    """Read the start of one file (nothing is written) and propose a mapping for it; target forces one."""
    options = ReadOptions(max_bytes=max_bytes, max_records=SAMPLE_ROWS, sheet=sheet, header_score=header_score)
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
