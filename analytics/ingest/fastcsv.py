"""The fast way to stage a CSV file: Arrow's CSV reader reads every record after the header in blocks, and each
record's physical line comes from the line scanner's record map (sources.RecordMap), not from a loop per record.

What the record-by-record reader (raw.stage_records) does to records, the fast path does in SQL on the staged
table, with the same outcome: blank lines are counted and left out, empty cells after the header's last column
are dropped, repeated header rows and a last totals row are left out. A file this path cannot read exactly as
the record-by-record reader would (a record with another number of fields, a cell over the limit, the header
not found in the map) raises NotSimple, and sources.py reads it record by record instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from duckdb import DuckDBPyConnection

from analytics.ingest.raw import (
    CHUNK_ROWS,
    DEADLINE_CHECK_RECORDS,
    MAX_CELL_CHARS,
    HeaderFound,
    Problem,
    RawTable,
    ReadOptions,
    _first_filled,
    _header_key,
    _is_totals,
    printable,
)

if TYPE_CHECKING:
    from analytics.ingest.sources import RecordMap

ARROW_BLOCK = 4 << 20  # bytes Arrow parses at a time (about 30,000 to 60,000 records)


# Records inserted into DuckDB at a time: each insert has a cost of its own, so not per block, and the raw table that
# fewer, larger inserts fill is read faster by the passes after it (a 1M import in one process: 250,000 at a time
# 6.05-6.43 s, 500,000 5.74-5.92 s, 1,000,000 5.49-5.97 s). The Arrow blocks waiting for an insert are held in
# memory: at 10M submissions, 1,000,000 at a time took peak RSS from 2.56 to 2.70 GB for 1.6 s of 70.
INSERT_ROWS = 500_000


# The characters Python's str.isspace() is true for, as an RE2 class: a cell of only these is blank.
BLANK = r"^[\t\n\x{0B}\x{0C}\r\x{1C}-\x{1F} \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]*$"


class NotSimple(Exception):
    """The file needs the record-by-record reader (its outcome must be exactly that reader's)."""


def stage_fast(
    con: DuckDBPyConnection,
    raw: RawTable,
    source: bytes | Path,
    records: RecordMap,
    found: HeaderFound,
    *,
    delimiter: str,
    slot: int,
    options: ReadOptions,
) -> None:
    """Stage the records after the header as temp table raw_<slot> (see the module docstring)."""
    strict = options.strict
    header_row = found.lookahead[found.header_at][1]
    fields = len(header_row)
    width = len(found.header)
    at = int(np.searchsorted(records.lines, found.header_line))
    if at >= len(records.lines) or records.lines[at] != found.header_line:
        raise NotSimple("the header is not where the scanner saw a record start")
    first = at + 1
    empty = records.empty[first:]
    lines = records.lines[first:][~empty]
    table = f"raw_{slot}"
    names = [f"c{i}" for i in range(fields)]
    con.execute(f"create or replace temp table {table} ({', '.join(['_line bigint', *(f'{n} varchar' for n in names)])})")
    if len(lines):
        if first >= len(records.starts):
            raise NotSimple("the header is further down than the byte offsets kept")
        read, held = 0, []
        for batch in _batches(source, int(records.starts[first]), names, delimiter):
            _check_lengths(batch)
            held.append(batch)
            waiting = sum(b.num_rows for b in held)
            if options.seconds is not None and read + waiting >= DEADLINE_CHECK_RECORDS:
                options.check_time()
            if waiting >= INSERT_ROWS:
                read = _insert(con, table, held, lines, read, options)
                held = []
        read = _insert(con, table, held, lines, read, options)
        if read != len(lines):
            raise NotSimple("Arrow read fewer records than the scanner counted")
        if options.on_rows is not None and read % CHUNK_ROWS:
            options.on_rows(read, options.expected)
    blank = _leave_out_blank(con, table, names)
    if not strict and fields > width:
        _drop_padding(con, table, names[width:])
    raw.table = table
    if not strict:
        repeated = _leave_out_repeated_headers(con, table, found.header)
        _leave_out_totals(con, raw, table, width)
    raw.records = con.execute(f"select count(*) from {table}").fetchone()[0]
    if not strict and repeated:
        shown = ", ".join(str(n) for n in repeated[:10]) + (" …" if len(repeated) > 10 else "")
        raw.problems.append(Problem(raw.file, repeated[0], "", f"{len(repeated)} repeated header row(s) left out "
                                    f"(line {shown})", "warning"))
    blank_lines = blank + int(empty.sum())
    if blank_lines:
        raw.problems.append(Problem(raw.file, None, "", f"{blank_lines} blank line(s) held no data and were skipped",
                                    "warning"))


def _insert(con: DuckDBPyConnection, table: str, batches: list[pa.RecordBatch], lines: np.ndarray, read: int,
            options: ReadOptions) -> int:
    """Insert Arrow's batches with their lines (the records read so far: read); returns the records read now."""
    rows = sum(b.num_rows for b in batches)
    if not rows:
        return read
    if read + rows > len(lines):
        raise NotSimple("Arrow read more records than the scanner counted")
    # (the lines as an Arrow array over numpy's buffer: pa.array(ndarray) would import pandas, 0.3 s of a CLI import)
    held = np.ascontiguousarray(lines[read: read + rows], dtype=np.int64)
    line_array = pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(held)])
    chunk = pa.Table.from_batches(batches).add_column(0, "_line", line_array)
    # Through a relation, not con.register: a registered view dropped inside the transaction stays in DuckDB's
    # catalog (and keeps its Arrow table alive) until the transaction ends, so every block of every file of the
    # batch was held in memory to the commit (about 2 GB of Arrow buffers at 10M submissions).
    con.from_arrow(chunk).insert_into(table)
    if options.on_rows is not None:  # told every CHUNK_ROWS rows, as the record-by-record reader tells
        for told in range((read // CHUNK_ROWS + 1) * CHUNK_ROWS, read + rows + 1, CHUNK_ROWS):
            options.on_rows(told, options.expected)
    read += rows
    if options.seconds is not None and read >= DEADLINE_CHECK_RECORDS:
        options.check_time()
    return read


def _batches(source: bytes | Path, offset: int, names: list[str], delimiter: str) -> Iterator[pa.RecordBatch]:
    if isinstance(source, Path):
        # read, not memory-mapped: the pages of a mapped file count in the process's resident memory as they are
        # read (1.3 GB for a 10M-submission file), though nothing needs them after their block is parsed
        stream = pa.OSFile(str(source))
        stream.seek(offset)
    else:
        stream = pa.BufferReader(pa.py_buffer(source).slice(offset))
    with stream:
        try:
            yield from pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=names, block_size=ARROW_BLOCK, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                                 escape_char=False, newlines_in_values=True, ignore_empty_lines=True),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, check_utf8=True,
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except pa.ArrowInvalid as exc:  # a record with another number of fields than the header
            raise NotSimple(str(exc)) from exc


def _check_lengths(batch: pa.RecordBatch) -> None:
    """A cell over the limit: the record-by-record reader refuses the file naming its line."""
    for column in batch.columns:
        longest = pc.max(pc.binary_length(column)).as_py() or 0
        if longest > MAX_CELL_CHARS and (pc.max(pc.utf8_length(column)).as_py() or 0) > MAX_CELL_CHARS:
            raise NotSimple("a cell is over the limit")


def _all_blank(columns: list[str]) -> str:
    return " and ".join(f"regexp_matches({c}, '{BLANK}')" for c in columns)


def _leave_out_blank(con: DuckDBPyConnection, table: str, names: list[str]) -> int:
    """Delete the records whose cells are all blank; how many there were."""
    # (the first cell first: it is filled in nearly every record, so the rest is rarely looked at)
    return con.execute(f"delete from {table} where {_all_blank(names)}").fetchone()[0]


def _drop_padding(con: DuckDBPyConnection, table: str, extra: list[str]) -> None:
    """Cells after the header's last (trailing empty header cells) must be empty; then they are dropped."""
    filled = con.execute(f"select count(*) from {table} where not ({_all_blank(extra)})").fetchone()[0]
    if filled:
        raise NotSimple("records with more fields than the header")
    for column in extra:
        con.execute(f"alter table {table} drop column {column}")


def _leave_out_repeated_headers(con: DuckDBPyConnection, table: str, header: list[str]) -> list[int]:
    """Delete records that repeat the header (compared as the record-by-record reader does); their lines."""
    key = _header_key(header)
    probe = next((i for i, cell in enumerate(key) if cell and cell.isascii()), None)
    if probe is None:
        raise NotSimple("no header cell to look for repeated headers by")
    columns = ", ".join(f"c{i}" for i in range(len(header)))
    candidates = con.execute(f"select _line, {columns} from {table} where contains(lower(c{probe}), ?) "
                             "order by _line", [key[probe]]).fetchall()
    lines = [row[0] for row in candidates if row[1].strip().lower() == key[0] and _header_key(row[1:]) == key]
    if lines:
        con.execute(f"delete from {table} where list_contains(?, _line)", [lines])
    return lines


def _leave_out_totals(con: DuckDBPyConnection, raw: RawTable, table: str, width: int) -> None:
    columns = ", ".join(f"c{i}" for i in range(width))
    last = con.execute(f"select _line, {columns} from {table} order by _line desc limit 1").fetchone()
    if last is not None and _is_totals(last[1:]):
        con.execute(f"delete from {table} where _line = ?", [last[0]])
        raw.problems.append(Problem(raw.file, last[0], "", "the last row looks like a totals row "
                                    f"(“{printable(_first_filled(last[1:]), 20)}”); left out", "warning"))
