"""Read a data file as it comes (CSV in the usual dialects and encodings, or .xlsx) into a DuckDB table of text.

`read_source` stages one file as the temp table `raw_<slot>`: a column `_line` (the physical line of
the record's first line, header = its own line; for .xlsx the spreadsheet row) and one text column
per header cell (`c0`, `c1`, ...: header text never reaches SQL). It says what it did: the encoding
(UTF-8 with or without a byte-order mark, UTF-16, else Windows-1252 with a warning), the delimiter
(comma, semicolon or tab, sniffed from the first lines), the lines skipped before the header,
repeated header rows and a trailing totals row that were left out, blank lines, and rows whose
number of fields differs from the header's. The number of records read is checked against an
independent count of the file's lines outside quotes; any difference refuses the file.

`ReadOptions(strict=True)` reads the canonical format exactly as it was first defined (UTF-8,
commas, the header on the first non-blank line) for `importer.import_batch` without a mapping.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path, PurePath

import numpy as np
import pyarrow as pa
from duckdb import DuckDBPyConnection

CHUNK_ROWS = 50_000  # records staged per round trip: bounds the memory a read holds in Python
BLOCK = 1 << 20  # bytes per read of the file
SNIFF_BYTES = 1 << 16  # the start of the file that the delimiter and the header are found in
HEADER_SEARCH_RECORDS = 30  # non-blank records looked at for the header row
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
# Bytes Windows-1252 leaves undefined: a file holding them is neither UTF-8 nor Windows-1252.
CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
TOTALS_WORDS = re.compile(r"^(grand\s+)?(total|totals|sum|summe|gesamt|totaal|totalt|totale)\b", re.IGNORECASE)
BINARY_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Word file",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"SQLite format 3": "an SQLite database",
    b"\x7fELF": "a program",
}
ZIP_BOMB_RATIO = 100  # an .xlsx that unpacks to more than 100 times its size and 200 MB is refused
ZIP_BOMB_BYTES = 200 << 20


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


# ---------------------------------------------------------------------------------------------
# Names and values shown in messages
# ---------------------------------------------------------------------------------------------


def printable(text: str, limit: int = 40) -> str:
    """A value made safe to quote in a message: control characters shown as '?', length capped."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def display_name(name: str) -> str:
    """The file's own name without any folder a browser or user put in front of it."""
    return printable(PurePath(name.replace("\\", "/")).name or "unnamed file", 80)


def _open_bytes(source: bytes | Path) -> io.BufferedIOBase:
    return open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)


def _size(source: bytes | Path) -> int:
    return source.stat().st_size if isinstance(source, Path) else len(source)


def sha256_of(source: bytes | Path) -> str:
    digest = hashlib.sha256()
    with _open_bytes(source) as stream:
        for block in iter(lambda: stream.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


# ---------------------------------------------------------------------------------------------
# Pass 1: what the bytes are, and an independent count of the lines outside quotes
# ---------------------------------------------------------------------------------------------


@dataclass
class _Scan:
    sha256: str = ""
    encoding: str = "UTF-8"  # the name said in reports
    codec: str = "utf-8"  # the Python codec that decodes the file
    first_bad_utf8_line: int | None = None
    logical_lines: int = 0  # line breaks outside quotes, plus a last line without one
    open_quote_lines: list[int] = field(default_factory=list)  # first lines that end inside quotes
    line_break: str = "\n"  # "\r" for a file with old Mac line ends


def _detect_encoding(head: bytes) -> tuple[str, str] | None:
    """(codec, name) from a byte-order mark or the pattern of zero bytes of UTF-16; None: try UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 (with byte-order mark)"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16"
    sample = head[:4096]
    if len(sample) >= 4 and b"\x00" in sample:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le", "UTF-16 (little-endian, no byte-order mark)"
        if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be", "UTF-16 (big-endian, no byte-order mark)"
    return None


class _LineScanner:
    """Counts line breaks outside double quotes, block by block (quotes toggle; "" toggles twice)."""

    def __init__(self, line_break: int):
        self.line_break = line_break
        self.quote_parity = 0
        self.breaks_before = 0
        self.outside = 0
        self.open_lines: list[int] = []
        self.last_byte = -1

    def feed(self, block: bytes) -> None:
        if not block:
            return
        data = np.frombuffer(block, dtype=np.uint8)
        breaks = np.flatnonzero(data == self.line_break)
        if len(breaks):
            quotes_before = np.cumsum(data == 34, dtype=np.int64)[breaks]
            inside = ((quotes_before + self.quote_parity) & 1).astype(bool)
            self.outside += int(len(breaks) - inside.sum())
            if len(self.open_lines) < 1000 and inside.any():
                # the physical line that ends at each break inside quotes
                found = self.breaks_before + np.flatnonzero(inside) + 1
                self.open_lines.extend(int(x) for x in found[: 1000 - len(self.open_lines)])
            self.quote_parity = int((self.quote_parity + np.count_nonzero(data == 34)) & 1)
        else:
            self.quote_parity = int((self.quote_parity + np.count_nonzero(data == 34)) & 1)
        self.breaks_before += len(breaks)
        self.last_byte = int(data[-1])

    def logical_lines(self) -> int:
        trailing = 1 if self.last_byte not in (-1, self.line_break) and not self.quote_parity else 0
        return self.outside + trailing


def _scan(source: bytes | Path, *, strict: bool) -> _Scan:
    """Read the whole file once: sha256, the encoding, and the count of lines outside quotes."""
    scan = _Scan()
    digest = hashlib.sha256()
    with _open_bytes(source) as raw:
        head = raw.read(SNIFF_BYTES)
        raw.seek(0)
        detected = None if strict else _detect_encoding(head)
        if detected:
            scan.codec, scan.encoding = detected
        elif head.startswith(codecs.BOM_UTF8):
            scan.codec, scan.encoding = "utf-8-sig", "UTF-8 (with byte-order mark)"
        unicode_16 = scan.codec.startswith("utf-16")
        text_head = head.decode(scan.codec, errors="replace") if unicode_16 else ""
        probe = text_head if unicode_16 else head.decode("latin-1")
        if "\n" not in probe and "\r" in probe:
            scan.line_break = "\r"
        scanner = _LineScanner(ord(scan.line_break))
        decoder = codecs.getincrementaldecoder(scan.codec if unicode_16 else "utf-8")()
        utf8_ok = not unicode_16
        cp1252_ok = True
        breaks_before = 0
        for block in iter(lambda: raw.read(BLOCK), b""):
            digest.update(block)
            if unicode_16:
                scanner.feed(decoder.decode(block).encode("utf-8"))
                continue
            scanner.feed(block)
            if utf8_ok:
                held = len(decoder.getstate()[0])  # bytes of a split character kept from the last block
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    bad_at = max(0, exc.start - held)
                    scan.first_bad_utf8_line = breaks_before + block[:bad_at].count(b"\n") + 1
                    utf8_ok = False
            if cp1252_ok and CP1252_UNDEFINED.search(block):
                cp1252_ok = False
            breaks_before += block.count(b"\n")
        if unicode_16:
            scanner.feed(decoder.decode(b"", final=True).encode("utf-8"))
        elif utf8_ok:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                scan.first_bad_utf8_line = breaks_before + 1
                utf8_ok = False
    scan.sha256 = digest.hexdigest()
    scan.logical_lines = scanner.logical_lines()
    scan.open_quote_lines = scanner.open_lines
    if not utf8_ok and not unicode_16:
        if strict:
            raise FileRefused("not valid UTF-8 text; save the file as CSV UTF-8", scan.first_bad_utf8_line)
        if not cp1252_ok:
            raise FileRefused(
                f"neither UTF-8 nor Windows-1252 text (the first byte that is not UTF-8 is on line "
                f"{scan.first_bad_utf8_line}); save the file as CSV UTF-8", scan.first_bad_utf8_line)
        scan.codec, scan.encoding = "cp1252", "Windows-1252"
    return scan


# ---------------------------------------------------------------------------------------------
# Pass 2: records with their physical lines
# ---------------------------------------------------------------------------------------------


def _text_lines(raw: io.BufferedIOBase, codec: str, line_break: str) -> Iterator[str]:
    """The decoded file as lines for the csv module (line ends kept)."""
    text = io.TextIOWrapper(raw, encoding=codec, newline="")
    if line_break == "\n":
        yield from text
        return
    for line in text:  # old Mac files: a lone carriage return ends each line
        yield line.replace("\r", "\n")


def _sniff_delimiter(sample: str, score: Callable[[Sequence[str]], int] | None) -> str:
    """The delimiter (comma, semicolon or tab) that splits the first lines most consistently.

    A candidate whose header candidate holds more known column names wins; then the one whose
    records most often have the same number of fields (more than one); ties go to the comma.
    """
    lines = sample.splitlines()[:-1] if len(sample) >= SNIFF_BYTES else sample.splitlines()
    best, best_key = ",", (-1, -1.0, -1)
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(lines[:200], delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        records = records[:HEADER_SEARCH_RECORDS]
        if not records:
            continue
        widths = Counter(len(r) for r in records)
        width, times = widths.most_common(1)[0]
        consistency = times / len(records) if width > 1 else 0.0
        known = max((score(r) for r in records), default=0) if score else 0
        key = (known, consistency, width)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _is_blank(row: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _header_key(row: Sequence[str]) -> tuple[str, ...]:
    return tuple(cell.strip().lower() for cell in row)


class _Stager:
    """Collects records and writes them to raw_<slot> in chunks through Arrow."""

    def __init__(self, con: DuckDBPyConnection, table: str, width: int):
        self.con, self.table, self.width = con, table, width
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


def _refuse_binary(head: bytes) -> None:
    for signature, what in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raise FileRefused(f"this is {what}, not CSV text")
    if b"\x00" in head[:SNIFF_BYTES]:
        raise FileRefused("this is a binary file, not CSV text (it holds zero bytes)")


def _check_text(sample: str) -> None:
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\x0c\x1a")
    if controls > max(8, len(sample) // 100):
        raise FileRefused("this looks like a binary file, not CSV text (it is full of control characters)")


def read_source(
    con: DuckDBPyConnection, name: str, source: bytes | Path, *, slot: int, options: ReadOptions = ReadOptions()
) -> RawTable:
    """Stage one file (CSV or .xlsx, bytes or a path) as temp table raw_<slot>; see the module docstring.

    Never raises for a bad file: a file that cannot be read comes back with table None and an
    error among its problems.
    """
    size = _size(source)
    raw = RawTable(file=display_name(name), name=name, sha256="", size=size)
    if printable(name, 400) != display_name(name) and name.strip():
        raw.problems.append(Problem(raw.file, None, "", "the file name held a folder path or unusual characters; "
                                    f"it is shown as {raw.file}", "note"))
    try:
        if options.max_bytes is not None and size > options.max_bytes:
            raw.sha256 = sha256_of(source)
            raise FileRefused(f"the file is {megabytes(size)}, over the limit of {megabytes(options.max_bytes)} "
                              "for one upload; split it or import it on the command line", None)
        with _open_bytes(source) as stream:
            head = stream.read(SNIFF_BYTES)
        if head.startswith(b"PK\x03\x04"):
            raw.sha256 = sha256_of(source)
            if options.strict or not _is_xlsx(source):
                raise FileRefused("this is a zip or Excel file, not CSV text; save it as CSV UTF-8"
                                  if options.strict else "this is a zip file, not CSV text or an Excel workbook")
            _read_xlsx(con, raw, source, slot=slot, options=options)
            return raw
        if options.strict:
            if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
                raw.sha256 = sha256_of(source)
                raise FileRefused("not a UTF-8 text file (looks like UTF-16 or binary); save it as CSV UTF-8")
        elif _detect_encoding(head) is None:
            _refuse_binary(head)
        scan = _scan(source, strict=options.strict)
        raw.sha256 = scan.sha256
        _read_csv(con, raw, source, scan, slot=slot, options=options)
    except FileRefused as refused:
        raw.table = None
        raw.sha256 = raw.sha256 or sha256_of(source)
        raw.problems.append(Problem(raw.file, refused.line, "", refused.reason))
    return raw


def _read_csv(
    con: DuckDBPyConnection, raw: RawTable, source: bytes | Path, scan: _Scan, *, slot: int, options: ReadOptions
) -> None:
    raw.encoding = scan.encoding
    strict = options.strict
    with _open_bytes(source) as stream:
        sample = stream.read(SNIFF_BYTES).decode(scan.codec, errors="replace").removeprefix("\ufeff")
    if not strict:
        _check_text(sample)
    if not sample.strip():
        raise FileRefused("the file is empty: expected a header row and data rows")
    raw.delimiter = "," if strict else _sniff_delimiter(sample, options.header_score)
    if scan.encoding == "Windows-1252":
        raw.problems.append(Problem(raw.file, scan.first_bad_utf8_line, "",
                                    "not UTF-8: read as Windows-1252 (the first such byte is on this line); "
                                    "check accented letters and symbols in the preview", "warning"))
    elif scan.codec.startswith("utf-16"):
        raw.problems.append(Problem(raw.file, None, "", f"read as {scan.encoding} text", "note"))
    if raw.delimiter != ",":
        raw.problems.append(Problem(raw.file, None, "", f"read as {DELIMITERS[raw.delimiter]}-separated", "note"))
    if scan.line_break == "\r":
        raw.problems.append(Problem(raw.file, None, "", "lines end in a lone carriage return (old Mac files)", "note"))

    with _open_bytes(source) as stream:
        reader = csv.reader(_text_lines(stream, scan.codec, scan.line_break), delimiter=raw.delimiter, strict=True)
        records = _numbered(reader)
        try:
            complete = _stage_records(con, raw, records, slot=slot, options=options)
        except csv.Error as exc:
            raise FileRefused(f"the CSV is malformed ({printable(str(exc), 80)})", reader.line_num) from exc
    if complete and records.count != scan.logical_lines:
        line = _first_stray_quote_line(scan.open_quote_lines, records.spans)
        where = f" (a quote character inside a field that is not in quotes, near line {line})" if line else ""
        raise FileRefused(
            f"the number of records read ({records.count}) differs from an independent count of the file's lines "
            f"({scan.logical_lines}){where}; put fields holding quotes in double quotes and double the quotes "
            "inside them", line)


class _numbered:
    """(first physical line, record) from a csv reader; counts every record, blank ones included."""

    def __init__(self, reader: Iterable[list[str]]):
        self.reader = reader
        self.count = 0
        self.spans: list[tuple[int, int]] = []  # first records that span several lines (for diagnosis)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        previous = 0
        for row in self.reader:
            end = self.reader.line_num
            self.count += 1
            if end - previous > 1 and len(self.spans) < 1000:
                self.spans.append((previous + 1, end))
            yield previous + 1, row
            previous = end


def _first_stray_quote_line(open_lines: Sequence[int], spans: Sequence[tuple[int, int]]) -> int | None:
    """The first line the independent count saw ending inside quotes that ends no quoted line break of a record."""
    inside = {line for start, end in spans for line in range(start, end)}
    return next((line for line in open_lines if line not in inside), None)


def _stage_records(
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
    lookahead: list[tuple[int, Sequence[str | None]]] = []
    blank_lines = 0
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
    raw.header, raw.header_line = tuple(header), header_line
    skipped = [line for line, row in lookahead[:header_at] if not _is_blank_cells(row)]
    if skipped:
        raw.problems.append(Problem(raw.file, skipped[0], "", f"{len(skipped)} line(s) before the header row "
                                    f"(line {header_line}) were skipped", "note"))
    width = len(header)
    table = f"raw_{slot}"
    stager = _Stager(con, table, width)
    header_key = _header_key(header)
    repeated: list[int] = []
    pending: tuple[int, list[str | None]] | None = None
    data_records = 0
    complete = True

    def rest() -> Iterator[tuple[int, Sequence[str | None]]]:
        yield from lookahead[header_at + 1:]
        yield from iterator

    first_header_cell = header_key[0] if header_key else ""
    for line, cells in rest():
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


# ---------------------------------------------------------------------------------------------
# .xlsx
# ---------------------------------------------------------------------------------------------


def _is_xlsx(source: bytes | Path) -> bool:
    try:
        with _open_bytes(source) as stream, zipfile.ZipFile(stream) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _cell_text(value: object) -> str | None:
    """A spreadsheet value as the text a CSV export would hold (dates ISO, whole numbers without .0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) and value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _read_xlsx(con: DuckDBPyConnection, raw: RawTable, source: bytes | Path, *, slot: int, options: ReadOptions) -> None:
    import openpyxl  # only here: a CSV-only import does not need it

    raw.kind, raw.encoding = "xlsx", "Excel"
    with _open_bytes(source) as stream, zipfile.ZipFile(stream) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > ZIP_BOMB_BYTES and unpacked > ZIP_BOMB_RATIO * max(raw.size, 1):
            raise FileRefused(f"this workbook unpacks to {megabytes(unpacked)} from {megabytes(raw.size)}; "
                              "refused as a possible zip bomb")
    try:
        workbook = openpyxl.load_workbook(_open_bytes(source), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise FileRefused(f"this Excel workbook cannot be read ({printable(type(exc).__name__, 40)})") from exc
    try:
        names = workbook.sheetnames
        if not names:
            raise FileRefused("the workbook has no sheets")
        sheet = options.sheet if options.sheet is not None else names[0]
        if sheet not in names:
            raise FileRefused(f"the workbook has no sheet named {printable(sheet)}; its sheets: "
                              f"{', '.join(printable(n) for n in names[:10])}")
        raw.sheet = sheet
        worksheet = workbook[sheet]
        worksheet.reset_dimensions()  # a wrong <dimension> must not cut rows off
        path = worksheet._worksheet_path  # the sheet's XML, for the independent count
        rows = _numbered_sheet(worksheet.iter_rows(values_only=True))
        complete = _stage_records(con, raw, rows, slot=slot, options=options)
    finally:
        workbook.close()
    if len(names) > 1:
        raw.problems.append(Problem(raw.file, None, "", f"read sheet {printable(sheet)} of {len(names)}", "note"))
    if complete:
        counted = _count_xml_rows(source, path)
        if counted != rows.filled:
            raise FileRefused(f"the number of rows read ({rows.filled}) differs from an independent count of the "
                              f"sheet's rows holding values ({counted})", None)


class _numbered_sheet:
    """(spreadsheet row, values as text) from openpyxl; counts the rows holding any value."""

    def __init__(self, rows: Iterable[tuple[object, ...]]):
        self.rows = rows
        self.filled = 0

    def __iter__(self) -> Iterator[tuple[int, list[str | None]]]:
        for number, values in enumerate(self.rows, start=1):
            cells = [_cell_text(v) for v in values]
            if any(c is not None and c != "" for c in cells):
                self.filled += 1
            yield number, ["" if c is None else c for c in cells]


def _count_xml_rows(source: bytes | Path, path: str) -> int:
    """Rows of the sheet's XML that hold at least one value, counted with the standard library's parser."""
    from xml.etree.ElementTree import iterparse

    count = 0
    with _open_bytes(source) as stream, zipfile.ZipFile(stream) as archive, archive.open(path.lstrip("/")) as xml:
        for _event, element in iterparse(xml, events=("end",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "row":
                if any((e.text or "") != "" for e in element.iter() if e.tag.rsplit("}", 1)[-1] in ("v", "t")):
                    count += 1
                element.clear()
    return count
