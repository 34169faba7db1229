"""The checks every staged row passes before anything is written, run in DuckDB: required fields, the
kind of each value (ids, dates, times with offsets, numbers, words), keys, and references between tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES, Column, TableSpec
from analytics.ingest.raw import Problem, printable
from analytics.ingest.report import MAX_LISTED_PROBLEMS, FileReport, ImportReport
from analytics.store.vocabulary import FALSE_WORDS, MEASURES, TRUE_WORDS

DATE_RE = r"^\d{4}-\d{2}-\d{2}$"


# UTC offsets run from -12:00 to +14:00 with whole minutes; anything else is not a time.
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?$"


OFFSET_RE = r"(Z|[+-]\d{2}(:?\d{2})?)$"

# A submission cannot have been made after the import: beyond this allowance for clocks that differ, it is refused.
FUTURE_SKEW_MINUTES = 10


@dataclass
class StagedFile:
    report: FileReport
    spec: TableSpec | None
    present: tuple[str, ...] = ()  # canonical columns the file has
    labels: dict[str, str] = field(default_factory=dict)  # column -> the name shown in problems
    date_order: str = "iso"
    source: str | None = None  # stage_<table> is a view over this raw table


def _trimmed(column: str) -> str:
    """SQL for a staged field with surrounding spaces removed and empty read as missing."""
    return f"nullif(trim({column}), '')"


def _value(column: str) -> str:
    """SQL for a field in the checks: validate trims every staged field once (_trimmed) before they run."""
    return column


def _word_list(words: Iterable[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)  # fixed words from canonical.py, never user text


DATE_EXPECTED = {
    "iso": "expected YYYY-MM-DD",
    "dmy": "expected day/month/year (e.g. 31/01/2026) or YYYY-MM-DD",
    "mdy": "expected month/day/year (e.g. 01/31/2026) or YYYY-MM-DD",
}


def _instant(column: str) -> str:
    """The column of the staged table that holds a date-time field read as an instant (see validate)."""
    return f"_at_{column}"


def _row_checks(spec: TableSpec, present: Sequence[str], date_order: str = "iso") -> list[tuple[str, str, str]]:
    """(column, reason, SQL that is true for a bad row) for every per-row rule of the table.

    Date-time fields are read as instants once, into the columns _instant(name) (see validate)."""
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
    if spec.name == "submissions" and "submitted_at" in present:
        checks.append(("submitted_at", f"submitted_at is later than the time of this import (by more than "
                       f"{FUTURE_SKEW_MINUTES} minutes): check the clock of the system that exported it",
                       f"{_instant('submitted_at')} > now() + interval {FUTURE_SKEW_MINUTES} minute"))
    if spec.name == "submissions" and "feedback_at" in present:
        checks.append(("feedback_at", "feedback_at is before submitted_at",
                       f"{_instant('feedback_at')} < {_instant('submitted_at')}"))
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
                 f"or {_instant(col.name)} is null)")]
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


def _datetime_sql(v: str, zone: str = "(select timezone from practice_settings)") -> str:
    """SQL turning ISO text into an instant: with an offset as written, else in the practice's zone (zone: SQL
    giving its name, e.g. a bound parameter)."""
    return (f"case when regexp_matches({v}, '{OFFSET_RE}') then try_cast({v} as timestamptz) "
            f"else timezone({zone}, try_cast({v} as timestamp)) end")


def _measure_sql(v: str) -> str:
    keys = " ".join(
        f"when '{m.replace('-', '').lower()}' then '{m}'" for m in MEASURES
    )
    return f"case regexp_replace(lower({v}), '[^a-z0-9]', '', 'g') {keys} else null end"


def _typed_sql(col: Column) -> str:
    """SQL giving the column's stored value from a staged row: exact for a row that passes the checks, NULL or a
    default where a value is not valid (that row is rejected; validate types every row in the same pass)."""
    v = _value(col.name)
    if col.kind == "date":
        return f"try_cast({v} as date)"
    if col.kind == "datetime":
        return _instant(col.name)
    if col.kind == "int":
        typed = f"try_cast({v} as integer)"
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


PROBLEM = "struct(col varchar, reason varchar)"


def validate(
    con: DuckDBPyConnection, staged: StagedFile, report: ImportReport
) -> None:
    """Check each staged row, record problems, and make typed_<table> (a view) of the rows that pass.

    One pass over the staged rows reads each field once (trimmed, each date-time read as an instant in the
    practice's zone unless it has an offset), runs every per-row rule on it and keeps the row typed as it will be
    stored, with the problems of a row that breaks a rule: stage_<table> then holds typed values only (at 10M
    submissions, less than half the memory of their text, which is spilled to disk when it does not fit)."""
    spec, present = staged.spec, staged.present
    assert spec is not None
    table = spec.name
    instants = [c for c in present if spec.column(c).kind == "datetime"]
    zone = con.execute("select timezone from practice_settings").fetchone() if instants else None
    read = [f"{_trimmed(c)} as {c}" for c in present]
    read += [f"{_datetime_sql(_trimmed(c), '$zone')} as {_instant(c)}" for c in instants]
    checks = _row_checks(spec, present, staged.date_order)
    found = ", ".join(f"case when {pred} then {{'col': '{c}', 'reason': '{r}'}} end" for c, r, pred in checks)
    bad = " or ".join(f"({pred})" for _, _, pred in checks) or "false"
    join_types = ""
    if "assignment_type" in present:
        join_types = (f" left join type_aliases on type_aliases.key = "
                      f"regexp_replace(lower(replace({_value('assignment_type')}, '&', 'and')), '[^a-z0-9]', '', 'g')")
    typed = ", ".join(f"{_typed_sql(spec.column(c))} as {c}" for c in present)
    # (the rules are looked at twice only for a row that breaks one: nearly always none)
    con.execute(
        f"create or replace temp table checked_{table} as select _line, {typed}, case when {bad} then "
        f"cast(list_filter([{found}], lambda p: p is not null) as {PROBLEM}[]) end as _problems "
        f"from (select _line, {', '.join(read)} from stage_{table}){join_types}",
        {"zone": zone[0] if zone else None} if instants else None)
    if staged.source:
        con.execute(f"drop view stage_{table}")
        con.execute(f"drop table if exists {staged.source}")
        staged.source = None
    else:
        con.execute(f"drop table stage_{table}")
    con.execute(f"alter table checked_{table} rename to stage_{table}")
    # Keys are compared as they will be stored (typed), so "PHQ-9" and "phq9" on one day are one measure.
    key = ", ".join(spec.key)
    # (the keys that repeat are found first, by grouping: nearly always none, and the lines of those only)
    keyed = f"select _line, {key if len(spec.key) == 1 else f'row({key})'} as k from stage_{table} where " + \
        " and ".join(f"{k} is not null" for k in spec.key)
    duplicate = (
        f"select _line, '{spec.key[0]}' as col, "
        f"'the same {'/'.join(spec.key)} as line ' || first_line as reason from ("
        f"select _line, min(_line) over (partition by k) as first_line from ({keyed}) "
        f"where k in (select k from ({keyed}) group by k having count(*) > 1)) where _line > first_line"
    )
    broken = f"select _line, unnest(_problems, recursive := true) from stage_{table} where _problems is not null"
    con.execute(f"create or replace temp table problems_{table} as {broken} union all {duplicate}")
    _collect_problems(con, table, staged, report)
    # typed_<table> is a view of the rows not rejected (rejected_<table>: the lines refused so far, here and by
    # check_references): the typed values are already in stage_<table>.
    con.execute(f"create or replace temp table rejected_{table} as select distinct _line from problems_{table}")
    con.execute(
        f"create or replace temp view typed_{table} as select _line, {', '.join(present)} "
        f"from stage_{table} where _line not in (select _line from rejected_{table})"
    )


def typed_rows(con: DuckDBPyConnection, table: str) -> int:
    """How many rows typed_<table> holds."""
    return con.execute(f"select count(*) from stage_{table} where _line not in (select _line from rejected_{table})"
                       ).fetchone()[0]


def warn_unknown_types(con: DuckDBPyConnection, staged: StagedFile, report: ImportReport) -> None:
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


def check_references(
    con: DuckDBPyConnection, staged: StagedFile, report: ImportReport, batch_tables: set[str]
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
    con.execute(f"insert into rejected_{table} select distinct _line from problems_{table}")  # out of typed_<table>


def _collect_problems(
    con: DuckDBPyConnection, table: str, staged: StagedFile, report: ImportReport
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
