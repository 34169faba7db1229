"""Import a batch of canonical CSV files: read, validate in DuckDB, report, and write all or nothing."""

from __future__ import annotations

import codecs
import csv
import getpass
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.canonical import (
    FALSE_WORDS,
    IMPORT_ORDER,
    MEASURES,
    TABLES,
    TRUE_WORDS,
    Column,
    TableSpec,
    type_aliases,
)
from analytics.scope import Scope, ScopeError
from analytics.store import transaction

CHUNK_ROWS = 50_000  # rows staged per round trip: bounds the memory an import holds in Python
MAX_LISTED_PROBLEMS = 1_000  # per file; the counts stay exact beyond it

DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
# UTC offsets run from -12:00 to +14:00 with whole minutes; anything else is not a time.
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?$"
OFFSET_RE = r"(Z|[+-]\d{2}(:?\d{2})?)$"


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file or a row. line is the file's line number (1 = header)."""

    file: str
    line: int | None
    column: str
    reason: str
    severity: str = "error"  # error: the row (or file) is rejected; warning: imported, but look


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
# Reading files
# ---------------------------------------------------------------------------------------------


def printable(text: str, limit: int = 40) -> str:
    """A value made safe to quote in a message: control characters shown as '?', length capped."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _display_name(name: str) -> str:
    """The file's own name without any folder a browser or user put in front of it."""
    return printable(PurePath(name.replace("\\", "/")).name or "unnamed file", 80)


def _open_bytes(source: bytes | Path) -> io.BufferedIOBase:
    return open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)


def _sha256(source: bytes | Path) -> str:
    digest = hashlib.sha256()
    with _open_bytes(source) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _LineCountingText(io.TextIOBase):
    """UTF-8 text lines from a byte stream; a byte that is not UTF-8 raises _NotUtf8 with its line.

    Lines are counted on the raw bytes (a newline byte is never part of a multi-byte character), so
    the line of a bad byte is exact even when a character is split across two reads.
    """

    def __init__(self, raw: io.BufferedIOBase):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def __iter__(self) -> Iterator[str]:
        pending = ""
        newlines_before = 0  # newline bytes in the blocks already decoded
        first = True
        for block in iter(lambda: self._raw.read(1 << 16), b""):
            held = len(self._decoder.getstate()[0])  # bytes of a split character kept from the last block
            try:
                text = self._decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad_at = max(0, exc.start - held)
                raise _NotUtf8(newlines_before + block[:bad_at].count(b"\n") + 1) from exc
            newlines_before += block.count(b"\n")
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            pending += text
            *complete, pending = pending.split("\n")
            for piece in complete:
                yield piece + "\n"
        try:
            tail = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _NotUtf8(newlines_before + 1) from exc
        if pending + tail:
            yield pending + tail


class _NotUtf8(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _guess_table(file_name: str, header: Sequence[str]) -> str | None:
    """The table a file holds: by its name (clients.csv), else the one whose required columns it has."""
    stem = PurePath(file_name).stem.strip().lower()
    if stem in TABLES:
        return stem
    columns = set(header)
    fits = [t for t in TABLES.values() if set(t.required) <= columns]
    if len(fits) == 1:
        return fits[0].name
    best = max(fits, key=lambda t: len(columns & set(t.column_names)), default=None)
    ties = [t for t in fits if best and len(columns & set(t.column_names)) == len(columns & set(best.column_names))]
    return best.name if best and len(ties) == 1 else None


@dataclass
class _StagedFile:
    report: FileReport
    spec: TableSpec | None
    present: tuple[str, ...] = ()  # canonical columns the file has


def _stage_file(
    con: DuckDBPyConnection, name: str, source: bytes | Path, report: ImportReport
) -> _StagedFile:
    """Read one CSV into the temp table stage_<table> (all text, with its line number).

    File-level problems (not UTF-8, no header, missing required columns) are added to the report
    and leave nothing staged. Rows with the wrong number of fields are rejected here.
    """
    display = _display_name(name)
    file_report = FileReport(file=display, table=None, sha256=_sha256(source))
    staged = _StagedFile(file_report, None)

    def problem(line: int | None, column: str, reason: str, severity: str = "error") -> None:
        report.problems.append(Problem(display, line, column, reason, severity))

    with _open_bytes(source) as raw:
        head = raw.read(4)
        raw.seek(0)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
            problem(1, "", "not a UTF-8 text file (looks like UTF-16 or binary); save it as CSV UTF-8")
            return staged
        if head[:2] == b"PK":
            problem(1, "", "this is a zip or Excel file, not CSV text; save it as CSV UTF-8")
            return staged
        reader = csv.reader(_LineCountingText(raw), strict=True)
        try:
            header_row = next(reader, None)
            while header_row is not None and not any(cell.strip() for cell in header_row):
                header_row = next(reader, None)
            if header_row is None:
                problem(1, "", "the file is empty: expected a header row and data rows")
                return staged
            header_line = reader.line_num
            header = [_normalise_header(h) for h in header_row]
            table = _guess_table(name, header)
            if table is None:
                problem(header_line, "", "cannot tell which table this is: name the file after it "
                        "(therapists.csv, clients.csv, assignments.csv, submissions.csv, measures.csv)")
                return staged
            spec = TABLES[table]
            file_report.table = table
            seen: set[str] = set()
            for position, column in enumerate(header, start=1):
                if column in seen:
                    problem(header_line, column, f"column appears twice in the header (position {position})")
                seen.add(column)
            missing = [c for c in spec.required if c not in seen]
            for column in missing:
                problem(header_line, column, f"required column is missing from the header of {table}")
            if missing or len(seen) < len(header):
                return staged
            for column in header:
                if column not in spec.column_names:
                    problem(header_line, column, "not a column of the canonical format; ignored", "warning")
            staged.spec = spec
            staged.present = tuple(c for c in spec.column_names if c in seen)
            positions = [header.index(c) for c in staged.present]
            con.execute(f"create or replace temp table stage_{table} "
                        f"(_line bigint, {', '.join(f'{c} varchar' for c in staged.present)})")
            chunk: list[list[object]] = [[] for _ in range(len(staged.present) + 1)]
            blank_lines = 0
            for row in reader:
                line = reader.line_num - row_span(row) + 1
                if not any(cell.strip() for cell in row):
                    blank_lines += 1
                    continue
                file_report.rows_read += 1
                if len(row) != len(header):
                    file_report.rejected += 1
                    problem(line, "", f"has {len(row)} fields, the header has {len(header)}")
                    continue
                chunk[0].append(line)
                for slot, index in enumerate(positions, start=1):
                    chunk[slot].append(row[index])
                if len(chunk[0]) >= CHUNK_ROWS:
                    _flush(con, table, staged.present, chunk)
            _flush(con, table, staged.present, chunk)
            if blank_lines:
                problem(None, "", f"{blank_lines} blank line(s) held no data and were skipped", "warning")
        except _NotUtf8 as exc:
            problem(exc.line, "", "not valid UTF-8 text; save the file as CSV UTF-8")
            staged.spec = None
        except csv.Error as exc:
            problem(reader.line_num, "", f"the CSV is malformed ({printable(str(exc), 80)})")
            staged.spec = None
    return staged


def row_span(row: list[str]) -> int:
    """How many physical lines a parsed record took (quoted fields may hold line breaks)."""
    return 1 + sum(cell.count("\n") for cell in row)


def _flush(con: DuckDBPyConnection, table: str, present: Sequence[str], chunk: list[list[object]]) -> None:
    if not chunk[0]:
        return
    frame = pd.DataFrame({"_line": pd.array(chunk[0], dtype="int64"),
                          **{c: pd.array(chunk[i + 1], dtype="object") for i, c in enumerate(present)}})
    con.register("incoming_chunk", frame)
    try:
        con.execute(f"insert into stage_{table} select * from incoming_chunk")
    finally:
        con.unregister("incoming_chunk")
    for column in chunk:
        column.clear()


# ---------------------------------------------------------------------------------------------
# Validation in SQL
# ---------------------------------------------------------------------------------------------


def _value(column: str) -> str:
    """SQL for a staged field with surrounding spaces removed and empty read as missing."""
    return f"nullif(trim({column}), '')"


def _word_list(words: Iterable[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)  # fixed words from canonical.py, never user text


def _row_checks(spec: TableSpec, present: Sequence[str]) -> list[tuple[str, str, str]]:
    """(column, reason, SQL that is true for a bad row) for every per-row rule of the table."""
    checks: list[tuple[str, str, str]] = []
    for col in spec.columns:
        if col.name not in present:
            continue
        v = _value(col.name)
        if col.required:
            checks.append((col.name, "required value is missing", f"{v} is null"))
        checks.extend(_kind_checks(col, v))
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


def _kind_checks(col: Column, v: str) -> list[tuple[str, str, str]]:
    if col.kind == "date":
        return [(col.name, "not a date: expected YYYY-MM-DD",
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
    spec, present, file_report = staged.spec, staged.present, staged.report
    assert spec is not None
    table = spec.name
    checks = _row_checks(spec, present)
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
    _collect_problems(con, table, file_report, report)

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
    _collect_problems(con, table, staged.report, report)
    con.execute(f"delete from typed_{table} where _line in (select _line from problems_{table})")


def _collect_problems(
    con: DuckDBPyConnection, table: str, file_report: FileReport, report: ImportReport
) -> None:
    """Copy problems_<table> into the report (capped per file) and count the rows it rejects."""
    listed = sum(1 for p in report.problems if p.file == file_report.file)
    room = max(0, MAX_LISTED_PROBLEMS - listed)
    rows = con.execute(
        f"select _line, col, reason from problems_{table} order by _line, col limit {room}"
    ).fetchall()
    total, lines = con.execute(
        f"select count(*), count(distinct _line) from problems_{table}"
    ).fetchone()
    for line, column, reason in rows:
        report.problems.append(Problem(file_report.file, line, column, printable(reason, 160)))
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


def import_batch(
    con: DuckDBPyConnection,
    files: Sequence[tuple[str, bytes | Path]],
    *,
    scope: Scope,
    imported_by: str | None = None,
    skip_invalid: bool = False,
) -> ImportReport:
    """Validate and import canonical CSV files (any subset of the five) as one batch.

    files: (file name, content as bytes or a Path to read). By default a batch with any rejected
    row is refused whole and the store is left exactly as it was; with skip_invalid the valid rows
    are written and the rejected ones listed. Importing the same files again changes nothing.
    Only the practice imports: a therapist scope raises ScopeError.
    """
    if not scope.is_practice:
        raise ScopeError("importing data is done by the practice, not from a therapist's view")
    report = ImportReport()
    if not files:
        report.problems.append(Problem("", None, "", "no files were given"))
        return report
    try:
        with transaction(con):
            _register_type_aliases(con)
            staged_by_table: dict[str, _StagedFile] = {}
            unreadable = 0  # files refused as a whole: the batch cannot be written
            for name, source in files:
                staged = _stage_file(con, name, source, report)
                report.files.append(staged.report)
                if staged.spec is None:
                    unreadable += 1
                elif staged.spec.name in staged_by_table:
                    unreadable += 1
                    report.problems.append(Problem(
                        staged.report.file, None, "",
                        f"a second file for {staged.spec.name} in one batch "
                        f"(the first is {staged_by_table[staged.spec.name].report.file}); send one"))
                else:
                    staged_by_table[staged.spec.name] = staged
            batch_tables = set(staged_by_table)
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    _validate(con, staged_by_table[table], report)
                    _check_references(con, staged_by_table[table], report, batch_tables)
                    _warn_unknown_types(con, staged_by_table[table], report)
            rejected = any(f.rejected for f in report.files)
            if unreadable or (rejected and not skip_invalid):
                raise ImportRefused
            for table in IMPORT_ORDER:
                if table in staged_by_table:
                    _write_table(con, staged_by_table[table])
            report.batch_id = uuid.uuid4().hex
            _log_batch(con, report, imported_by or getpass.getuser())
            _drop_temp_tables(con, batch_tables)
            report.accepted = True
    except ImportRefused:
        report.accepted = False
    return report


def _register_type_aliases(con: DuckDBPyConnection) -> None:
    aliases = type_aliases()
    con.execute("create or replace temp table type_aliases (key varchar, canonical varchar)")
    con.executemany("insert into type_aliases values (?, ?)", list(aliases.items()))


def _log_batch(con: DuckDBPyConnection, report: ImportReport, who: str) -> None:
    files = [
        {"file": f.file, "table": f.table, "sha256": f.sha256, "rows_read": f.rows_read,
         "inserted": f.inserted, "updated": f.updated, "unchanged": f.unchanged, "rejected": f.rejected}
        for f in report.files
    ]
    con.execute(
        "insert into import_log values ($batch_id, $at, $who, $files, $inserted, $updated)",
        {"batch_id": report.batch_id, "at": datetime.now(UTC), "who": who,
         "files": json.dumps(files), "inserted": sum(f.inserted for f in report.files),
         "updated": sum(f.updated for f in report.files)},
    )


def _drop_temp_tables(con: DuckDBPyConnection, tables: Iterable[str]) -> None:
    for table in tables:
        for prefix in ("stage", "problems", "typed", "write"):
            con.execute(f"drop table if exists {prefix}_{table}")
    con.execute("drop table if exists type_aliases")


def import_log(con: DuckDBPyConnection) -> pd.DataFrame:
    """Accepted batches, newest first: imported_at, imported_by, files (JSON), inserted, updated."""
    return con.execute(
        "select batch_id, imported_at, imported_by, files, inserted, updated "
        "from import_log order by imported_at desc"
    ).df()
