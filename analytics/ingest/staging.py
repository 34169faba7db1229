"""Applying a mapping: the staged text of `sources` becomes the temp tables `stage_<table>` (all text,
with `_line` from the source) that the importer validates. Presets with a shape of their own are in
`flat` and `mindlogger`; the column reader they share is in `columns`.
"""

from __future__ import annotations

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES
from analytics.ingest.columns import Applied, SourceColumns, StagedTable, required_missing
from analytics.ingest.flat import apply_flat
from analytics.ingest.mapping import Mapping, MappingError, field_column
from analytics.ingest.mindlogger import apply_mindlogger
from analytics.ingest.raw import Problem, RawTable


def apply(
    con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, *, slot: int, strict: bool = False
) -> Applied:
    """Build stage_<table> for each canonical table the file gives (see the module docstring)."""
    columns = SourceColumns(con, mapping, raw, strict=strict, slot=slot)
    applied = Applied(problems=list(columns.problems))
    if not columns.ok:
        applied.ok = False
        return applied
    columns.problems.clear()
    columns.report_content()
    content = Applied()
    _hint_date_order(con, mapping, raw, columns, content)
    if mapping.target in TABLES:
        _apply_table(con, mapping, raw, columns, applied)
    elif mapping.target == "flat":
        apply_flat(con, mapping, raw, columns, applied)
    elif mapping.target == "mindlogger":
        apply_mindlogger(con, mapping, raw, columns, applied)
    else:
        raise MappingError("a preset must be resolved to a target before it is applied")
    if not any(t.source for t in applied.tables):
        con.execute(f"drop table if exists {raw.table}")  # staged now: the raw text is no longer needed
    if applied.ok:
        applied.problems.extend(columns.problems)
        applied.problems.extend(content.problems)
    for table in applied.tables:
        if table.row_level:
            table.rows_read += raw.rejected
            table.rejected += raw.rejected
    return applied


def _hint_date_order(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: SourceColumns,
                     applied: Applied) -> None:
    """With ISO dates chosen, a column of dates like 03/04/2026 gets a note: choose the order, nothing is guessed."""
    if mapping.date_order != "iso" or columns.strict:
        return
    for name, position in columns.position.items():
        if field_column(mapping.target, name)[0] in ("date", "datetime"):
            count, first = con.execute(
                f"select count(*), min(_line) from {raw.table} where regexp_matches(c{position}, "
                f"'^\\s*\\d{{1,2}}[/.\\-]\\d{{1,2}}[/.\\-]\\d{{2,4}}')").fetchone()
            if count:
                applied.problems.append(Problem(
                    raw.file, first, columns.labels[name],
                    f"{count} date(s) like 03/04/2026: say whether they are day/month or month/day (the date order; "
                    "--date-order dmy or mdy on the command line); they are never guessed", "warning"))


def _apply_table(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: SourceColumns,
                 applied: Applied) -> None:
    spec = TABLES[mapping.target]
    present = tuple(c for c in spec.column_names if columns.has(c))
    if required_missing(spec.name, present, raw, applied):
        return
    select = ", ".join(f"{columns.value(c)} as {c}" for c in present)
    # A view: validate reads it once, into the trimmed table it checks (one copy of the rows fewer).
    con.execute(f"create or replace temp view stage_{spec.name} as select r._line, {select} {columns.from_clause()}")
    applied.tables.append(StagedTable(spec.name, present, {c: columns.labels[c] for c in present},
                                      rows_read=raw.records, date_order=mapping.date_order, row_level=True,
                                      source=raw.table))
