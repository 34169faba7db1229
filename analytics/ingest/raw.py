"""What reading a file gives: the staged table of text (`RawTable`), its problems, the read options,
and what CSV and .xlsx reading share (finding the header row, leaving out totals, staging rows in chunks).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import pyarrow as pa
from duckdb import DuckDBPyConnection

BLOCK = 1 << 20  # bytes per read of the file
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
CHUNK_ROWS = 50_000  # records staged per round trip: bounds the memory a read holds in Python


HEADER_SEARCH_RECORDS = 30  # non-blank records looked at for the header row


# Hard limits on what one file may hold (every file, on the Data page and the command line): a file past one is
# refused with a message naming the limit, before the work it would cost. The time limit is set per read.
MAX_COLUMNS = 500
MAX_CELL_CHARS = 131_072  # characters in one field (the csv module's own limit)
DEADLINE_CHECK_RECORDS = 1_000  # records read between two looks at the clock


TOTALS_WORDS = re.compile(r"^(grand\s+)?(total|totals|sum|summe|gesamt|totaal|totalt|totale)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file or a row. line is the file's line number (1 = the first line).

    severity: error (the row or file is rejected), warning (imported, but look), note (how the file
    was read, for the record).
    """

    file: str
    line: int | None
    column: str
    reason: str
    severity: str = "error"


@dataclass(frozen=True)
class ReadOptions:
    """How to read: strict = the canonical format as first defined; max_bytes = size limit (None: none);
    max_records = stop after this many data records (a preview; the count check is then skipped);
    sheet = the .xlsx sheet (None: the first); header_score = how many cells of a row are known
    column names (finds the header row below lines of preamble)."""

    strict: bool = False
    max_bytes: int | None = None
    max_records: int | None = None
    sheet: str | None = None
    header_score: Callable[[Sequence[str]], int] | None = None
    seconds: float | None = None  # time limit for reading the file (None: none)
    started: float = 0.0  # time.monotonic() when the read began (set by read_source)
    on_rows: Callable[[int, int | None], None] | None = None  # told (rows staged, rows expected or None) per chunk
    expected: int | None = None  # records the file holds, when known before reading (for on_rows)

    def check_time(self) -> None:
        """Refuse the file when reading it has taken longer than the time limit."""
        if self.seconds is not None and time.monotonic() - self.started > self.seconds:
            raise FileRefused(f"reading the file took longer than {self.seconds:g} seconds, the limit for an upload; "
                              "split it, or import it on the command line", None)


@dataclass
class RawTable:
    """A file staged as text: temp table `table` with `_line` and c0..c{n-1}, one per header cell."""

    file: str  # the name shown in reports (no folders, printable)
    name: str  # the name as given, for recognising the table by it
    sha256: str
    size: int
    table: str | None = None  # None: the file could not be read (the problems say why)
    header: tuple[str, ...] = ()
    header_line: int = 0
    records: int = 0  # data records staged
    rejected: int = 0  # records refused while reading (wrong number of fields)
    rejected_listed: int = 0  # of which listed among the problems (the list is capped)
    encoding: str = ""
    delimiter: str = ""
    kind: str = "csv"  # csv | xlsx
    sheet: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.table is not None

    @property
    def columns(self) -> tuple[str, ...]:
        """The SQL names of the staged columns, in header order."""
        return tuple(f"c{i}" for i in range(len(self.header)))

    def describe(self) -> str:
        """How the file was read, in a sentence for people."""
        if not self.readable:
            return "could not be read"
        if self.kind == "xlsx":
            where = f"sheet {printable(self.sheet or '', 60)}, " if self.sheet else ""
            return f"Excel workbook, {where}header on row {self.header_line}, {self.records} data rows"
        return (f"{self.encoding} text, {DELIMITERS.get(self.delimiter, 'comma')}-separated, "
                f"header on line {self.header_line}, {self.records} records")


class FileRefused(Exception):
    """The file as a whole cannot be read; the message says why (and `line`, when known, where)."""

    def __init__(self, reason: str, line: int | None = 1):
        super().__init__(reason)
        self.reason = reason
        self.line = line


def printable(text: str, limit: int = 40) -> str:
    """A value made safe to quote in a message: control characters shown as '?', length capped."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def display_name(name: str) -> str:
    """The file's own name without any folder a browser or user put in front of it."""
    return printable(PurePath(name.replace("\\", "/")).name or "unnamed file", 80)


def open_bytes(source: bytes | Path) -> io.BufferedIOBase:
    return open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)


def source_size(source: bytes | Path) -> int:
    return source.stat().st_size if isinstance(source, Path) else len(source)


def sha256_of(source: bytes | Path) -> str:
    digest = hashlib.sha256()
    with open_bytes(source) as stream:
        for block in iter(lambda: stream.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def _is_blank(row: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _header_key(row: Sequence[str]) -> tuple[str, ...]:
    return tuple(cell.strip().lower() for cell in row)


class _Stager:
    """Collects records and writes them to raw_<slot> in chunks through Arrow."""

    def __init__(self, con: DuckDBPyConnection, table: str, width: int,
                 on_rows: Callable[[int], None] | None = None):
        self.con, self.table, self.width, self.on_rows = con, table, width, on_rows
        self.lines: list[int] = []
        self.rows: list[Sequence[str | None]] = []
        self.written = 0
        columns = ", ".join(["_line bigint", *(f"c{i} varchar" for i in range(width))])
        con.execute(f"create or replace temp table {table} ({columns})")

    def add(self, line: int, row: Sequence[str | None]) -> None:
        self.lines.append(line)
        self.rows.append(row)
        if len(self.rows) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        columns = list(zip(*self.rows, strict=True)) if self.width else []
        arrays = [pa.array(self.lines, type=pa.int64())]
        arrays += [pa.array(column, type=pa.string()) for column in columns]
        names = ["_line", *(f"c{i}" for i in range(self.width))]
        self.con.register("incoming_chunk", pa.Table.from_arrays(arrays, names=names))
        try:
            self.con.execute(f"insert into {self.table} select * from incoming_chunk")
        finally:
            self.con.unregister("incoming_chunk")
        self.written += len(self.rows)
        self.lines, self.rows = [], []
        if self.on_rows:
            self.on_rows(self.written)


def _is_blank_cells(row: Sequence[str | None]) -> bool:
    return not any(cell and not cell.isspace() for cell in row)


def _first_filled(row: Sequence[str | None]) -> str:
    return next((str(c).strip() for c in row if c is not None and str(c).strip()), "")


def _is_totals(row: Sequence[str | None]) -> bool:
    """A last row that starts with Total (Sum, Gesamt, ...) and otherwise holds only numbers or nothing."""
    cells = [("" if c is None else str(c)).strip() for c in row]
    first = next((i for i, c in enumerate(cells) if c), None)
    if first is None or not TOTALS_WORDS.match(cells[first]):
        return False
    return all(not c or re.fullmatch(r"[+-]?[\d.,\s%]+", c) for c in cells[first + 1:])


def _find_header(candidates: list[tuple[int, Sequence[str | None]]], score: Callable[[Sequence[str]], int] | None) -> int:
    """The index of the header among the first non-blank records: the one naming the most known
    columns (at least two); else the first as wide as most of the records."""
    texts = [(i, ["" if c is None else str(c) for c in row]) for i, row in candidates]
    if score:
        scored = [(score(cells), -n, i) for n, (i, cells) in enumerate(texts)]
        best = max(scored)
        if best[0] >= 2:
            return best[2]
    widths = Counter(sum(1 for c in cells if c.strip()) for _, cells in texts)
    common = widths.most_common(1)[0][0]
    return next(i for i, cells in texts if sum(1 for c in cells if c.strip()) >= common)


@dataclass
class HeaderFound:
    """What the first records said: the records looked at (from the first non-blank one), which is the header,
    and the header's cells as the table's columns (trailing empty cells removed unless strict)."""

    lookahead: list[tuple[int, Sequence[str | None]]]
    header_at: int
    header: list[str]

    @property
    def header_line(self) -> int:
        return self.lookahead[self.header_at][0]


def take_header(
    raw: RawTable, iterator: Iterator[tuple[int, Sequence[str | None]]], options: ReadOptions
) -> HeaderFound:
    """Read the first records (up to HEADER_SEARCH_RECORDS non-blank ones), find the header among them, check the
    column limit and note the lines skipped above it. Sets raw.header and raw.header_line."""
    strict = options.strict
    lookahead: list[tuple[int, Sequence[str | None]]] = []
    for line, row in iterator:
        if _is_blank_cells(row):
            if lookahead:
                lookahead.append((line, row))
            continue
        lookahead.append((line, row))
        if strict or sum(1 for _, r in lookahead if not _is_blank_cells(r)) >= HEADER_SEARCH_RECORDS:
            break
    candidates = [(i, row) for i, (_, row) in enumerate(lookahead) if not _is_blank_cells(row)]
    if not candidates:
        raise FileRefused("the file is empty: expected a header row and data rows")
    header_at = candidates[0][0] if strict else _find_header(candidates, options.header_score)
    header_line, header_row = lookahead[header_at]
    header = [("" if cell is None else str(cell)).strip() for cell in header_row]
    while not strict and header and not header[-1]:  # trailing empty header cells (a trailing delimiter)
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise FileRefused(f"the header has {len(header):,} columns; the limit is {MAX_COLUMNS} (an export of the "
                          "homework data has far fewer: check the file)", header_line)
    raw.header, raw.header_line = tuple(header), header_line
    skipped = [line for line, row in lookahead[:header_at] if not _is_blank_cells(row)]
    if skipped:
        raw.problems.append(Problem(raw.file, skipped[0], "", f"{len(skipped)} line(s) before the header row "
                                    f"(line {header_line}) were skipped", "note"))
    return HeaderFound(lookahead, header_at, header)


def stage_records(
    con: DuckDBPyConnection,
    raw: RawTable,
    records: Iterable[tuple[int, Sequence[str | None]]],
    *,
    slot: int,
    options: ReadOptions,
) -> bool:
    """Find the header, then stage the data records. Returns False when stopped early (max_records)."""
    strict = options.strict
    iterator = iter(records)
    found = take_header(raw, iterator, options)
    lookahead, header_at, header = found.lookahead, found.header_at, found.header
    blank_lines = 0
    width = len(header)
    table = f"raw_{slot}"
    told = None if options.on_rows is None else (lambda rows: options.on_rows(rows, options.expected))
    stager = _Stager(con, table, width, told)
    header_key = _header_key(header)
    repeated: list[int] = []
    pending: tuple[int, list[str | None]] | None = None
    data_records = 0
    complete = True

    def rest() -> Iterator[tuple[int, Sequence[str | None]]]:
        yield from lookahead[header_at + 1:]
        yield from iterator

    first_header_cell = header_key[0] if header_key else ""
    timed, since_check = options.seconds is not None, 0
    for line, cells in rest():
        if timed:
            since_check += 1
            if since_check >= DEADLINE_CHECK_RECORDS:
                since_check = 0
                options.check_time()
        # (fast paths first: this loop runs once per record of files of millions of rows)
        if not (cells and cells[0] and not cells[0].isspace()) and _is_blank_cells(cells):
            blank_lines += 1
            continue
        if not strict and len(cells) != width:
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]  # empty cells beyond the header (a trailing delimiter, or spreadsheet padding)
            elif raw.kind == "xlsx" and len(cells) < width:
                cells = [*cells, *([""] * (width - len(cells)))]
        if not strict and cells[0].strip().lower() == first_header_cell and _header_key(cells) == header_key:
            repeated.append(line)
            continue
        if len(cells) != width:
            raw.rejected += 1
            if len(raw.problems) < 1000:
                raw.rejected_listed += 1
                raw.problems.append(Problem(raw.file, line, "", f"has {len(cells)} fields, the header has {width}"))
            continue
        if pending is not None:
            stager.add(*pending)
        pending = (line, cells)
        data_records += 1
        if options.max_records is not None and data_records >= options.max_records:
            complete = False
            break
    if pending is not None:
        if not strict and complete and _is_totals(pending[1]):
            raw.problems.append(Problem(raw.file, pending[0], "", "the last row looks like a totals row "
                                        f"(“{printable(_first_filled(pending[1]), 20)}”); left out", "warning"))
        else:
            stager.add(*pending)
    stager.flush()
    raw.table, raw.records = table, stager.written
    if repeated:
        shown = ", ".join(str(n) for n in repeated[:10]) + (" …" if len(repeated) > 10 else "")
        raw.problems.append(Problem(raw.file, repeated[0], "", f"{len(repeated)} repeated header row(s) left out "
                                    f"(line {shown})", "warning"))
    if blank_lines:
        raw.problems.append(Problem(raw.file, None, "", f"{blank_lines} blank line(s) held no data and were skipped",
                                    "warning"))
    return complete
