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
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from duckdb import DuckDBPyConnection

from analytics.ingest.fastcsv import NotSimple, stage_fast
from analytics.ingest.raw import (
    BLOCK,
    DELIMITERS,
    HEADER_SEARCH_RECORDS,
    MAX_CELL_CHARS,
    FileRefused,
    Problem,
    RawTable,
    ReadOptions,
    display_name,
    megabytes,
    open_bytes,
    printable,
    sha256_of,
    source_size,
    stage_records,
    take_header,
)
from analytics.ingest.xlsx import is_xlsx, read_xlsx

FAST_READER = True  # read CSV through Arrow when the file allows (fastcsv.py); False: always record by record


SNIFF_BYTES = 1 << 16  # the start of the file that the delimiter and the header are found in


# Bytes Windows-1252 leaves undefined: a file holding them is neither UTF-8 nor Windows-1252.
CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


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


KEPT_STARTS = 100_000  # records whose byte offset is kept (the header is among the first ones)


class RecordMap:
    """The records of a CSV file as the line scanner found them: the physical line each starts on, which are
    empty lines, the byte offsets of the first ones, and the delimiters for which every quote is where CSV
    allows it (see _LineScanner)."""

    def __init__(self, start: int):
        self.start = start
        self._lines: list[np.ndarray] = [np.array([1], dtype=np.int64)]
        self._empty: list[np.ndarray] = []
        self._starts: list[np.ndarray] = [np.array([start], dtype=np.int64)]
        self.kept = 1
        self.delimiters = {ord(d) for d in DELIMITERS}
        self.lines = np.empty(0, dtype=np.int64)
        self.empty = np.empty(0, dtype=bool)
        self.starts = np.empty(0, dtype=np.int64)

    @property
    def simple(self) -> bool:
        return bool(self.delimiters)

    def allows(self, delimiter: str) -> bool:
        return ord(delimiter) in self.delimiters

    def check_quotes(self, before_opening: np.ndarray, after_closing: np.ndarray) -> None:
        for d in list(self.delimiters):
            if np.any((before_opening != 10) & (before_opening != 34) & (before_opening != d)) or \
                    np.any((after_closing != d) & (after_closing != 13) & (after_closing != 10) & (after_closing != 34)):
                self.delimiters.discard(d)

    def flag_after_closing(self, byte: int) -> None:
        self.check_quotes(np.empty(0, dtype=np.uint8), np.array([byte]))

    def add(self, empty: np.ndarray, next_lines: np.ndarray, next_starts: np.ndarray) -> None:
        self._empty.append(empty)
        self._lines.append(next_lines.astype(np.int64))
        if self.kept < KEPT_STARTS:
            self._starts.append(next_starts[: KEPT_STARTS - self.kept].astype(np.int64))
            self.kept += len(self._starts[-1])

    def finish(self, records: int, trailing: bool) -> None:
        """Cut the map to the file's records (the last break opens no record unless text follows it)."""
        self.lines = np.concatenate(self._lines)[:records]
        self.empty = np.concatenate([*self._empty, np.zeros(1 if trailing else 0, dtype=bool)])[:records]
        self.starts = np.concatenate(self._starts)[:records]
        self._lines, self._empty, self._starts = [], [], []


@dataclass
class _Scan:
    sha256: str = ""
    encoding: str = "UTF-8"  # the name said in reports
    codec: str = "utf-8"  # the Python codec that decodes the file
    first_bad_utf8_line: int | None = None
    logical_lines: int = 0  # line breaks outside quotes, plus a last line without one
    open_quote_lines: list[int] = field(default_factory=list)  # first lines that end inside quotes
    line_break: str = "\n"  # "\r" for a file with old Mac line ends
    records: RecordMap | None = None  # where each record starts (for the fast reader), None when it cannot be used


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
    """Counts line breaks outside double quotes, block by block (quotes toggle; "" toggles twice).

    On the way it maps the records for the fast reader (fastcsv.py): the physical line each record starts on,
    which records are empty lines, where the first records start, and whether every quote stands where CSV
    allows one (an opening quote at the start of a field, a closing quote before a delimiter or a line end), for
    each delimiter: then every CSV reader splits the file into the same records and fields.
    """

    def __init__(self, line_break: int, start: int = 0):
        self.line_break = line_break
        self.quote_parity = 0
        self.breaks_before = 0
        self.outside = 0
        self.open_lines: list[int] = []
        self.last_byte = -1
        self.offset = start  # bytes of the file before the next block
        self.map = RecordMap(start)
        self.record_start = start  # where the record being read began
        self.quote_at_end = False  # the last block ended with a closing quote: the next byte must suit it
        self.carriage_returns = 0
        self.crlf = 0
        self.nul = False

    def feed(self, block: bytes) -> None:
        if not block:
            return
        data = np.frombuffer(block, dtype=np.uint8)
        breaks = np.flatnonzero(data == self.line_break)
        quotes = np.flatnonzero(data == 34)
        self._check_quotes(data, quotes)
        returns = block.count(b"\r")
        if returns or self.last_byte == 13:
            self.carriage_returns += returns
            self.crlf += block.count(b"\r\n") + (1 if self.last_byte == 13 and block[0] == 10 else 0)
        self.nul = self.nul or b"\x00" in block
        if len(breaks):
            quotes_before = np.searchsorted(quotes, breaks)
            inside = ((quotes_before + self.quote_parity) & 1).astype(bool)
            self.outside += int(len(breaks) - inside.sum())
            if len(self.open_lines) < 1000 and inside.any():
                # the physical line that ends at each break inside quotes
                found = self.breaks_before + np.flatnonzero(inside) + 1
                self.open_lines.extend(int(x) for x in found[: 1000 - len(self.open_lines)])
            self._map_records(data, breaks, inside)
        self.quote_parity = int((self.quote_parity + len(quotes)) & 1)
        self.breaks_before += len(breaks)
        self.last_byte = int(data[-1])
        self.offset += len(block)

    def _check_quotes(self, data: np.ndarray, quotes: np.ndarray) -> None:
        if self.quote_at_end:
            self.map.flag_after_closing(int(data[0]))
            self.quote_at_end = False
        if not len(quotes) or not self.map.simple:
            return
        opening = ((np.arange(len(quotes)) + self.quote_parity) & 1) == 0
        before = data[np.maximum(quotes - 1, 0)].astype(np.int16)
        if quotes[0] == 0:  # the start of the file counts as the start of a line
            before[0] = self.last_byte if self.offset > self.map.start else 10
        last = len(data) - 1
        after = data[np.minimum(quotes + 1, last)].astype(np.int16)
        if quotes[-1] == last:
            after[-1] = -1  # known with the next block
        self.map.check_quotes(before[opening], after[~opening & (after >= 0)])
        if not opening[-1] and quotes[-1] == last:
            self.quote_at_end = True

    def _map_records(self, data: np.ndarray, breaks: np.ndarray, inside: np.ndarray) -> None:
        ends = np.flatnonzero(~inside)
        if not len(ends):
            return
        at = breaks[ends]  # positions (in the block) of the breaks that end records
        starts = np.empty(len(at), dtype=np.int64)
        starts[0] = self.record_start - self.offset
        starts[1:] = at[:-1] + 1
        length = at - starts
        before = data[np.maximum(at - 1, 0)].astype(np.int16)
        if at[0] == 0:
            before[0] = self.last_byte
        empty = (length == 0) | ((length == 1) & (before == 13))
        # the record after each break starts on the next physical line
        self.map.add(empty, self.breaks_before + ends + 2, self.offset + at + 1)
        self.record_start = self.offset + int(at[-1]) + 1

    def logical_lines(self) -> int:
        trailing = 1 if self.last_byte not in (-1, self.line_break) and not self.quote_parity else 0
        return self.outside + trailing


class _Hasher:
    """sha256 of the file's blocks, in a thread of its own beside the scan (hashlib lets go of the GIL for blocks
    this large, so the digest costs no time of the scan's when a second core is free); blocks are hashed in order,
    at most one waiting."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self.pending: Future | None = None

    def update(self, block: bytes) -> None:
        if self.pending is not None:
            self.pending.result()
        self.pending = self.pool.submit(self.digest.update, block)

    def hexdigest(self) -> str:
        if self.pending is not None:
            self.pending.result()
            self.pending = None
        return self.digest.hexdigest()

    def __enter__(self) -> _Hasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _scan(source: bytes | Path, *, strict: bool) -> _Scan:
    """Read the whole file once: sha256, the encoding, and the count of lines outside quotes."""
    scan = _Scan()
    with open_bytes(source) as raw, _Hasher() as digest:
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
        bom = len(codecs.BOM_UTF8) if scan.codec == "utf-8-sig" else 0
        scanner = _LineScanner(ord(scan.line_break), start=bom)
        decoder = codecs.getincrementaldecoder(scan.codec if unicode_16 else "utf-8")()
        utf8_ok = not unicode_16
        breaks_before = 0
        for block in iter(lambda: raw.read(BLOCK), b""):
            digest.update(block)
            if unicode_16:
                scanner.feed(decoder.decode(block).encode("utf-8"))
                continue
            if bom:
                scanner.feed(block[bom:])  # (a block is never shorter than the mark: it is at least the head)
                bom = 0
            else:
                scanner.feed(block)
            if utf8_ok:
                held = len(decoder.getstate()[0])  # bytes of a split character kept from the last block
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    bad_at = max(0, exc.start - held)
                    scan.first_bad_utf8_line = breaks_before + block[:bad_at].count(b"\n") + 1
                    utf8_ok = False
            breaks_before = scanner.breaks_before if scan.line_break == "\n" else breaks_before + block.count(b"\n")
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
    if (not unicode_16 and scan.line_break == "\n" and not scanner.quote_parity and not scanner.nul
            and scanner.carriage_returns == scanner.crlf and scanner.map.simple):
        scanner.map.finish(scan.logical_lines, trailing=scanner.last_byte not in (-1, scanner.line_break))
        scan.records = scanner.map
    if not utf8_ok and not unicode_16:
        if strict:
            raise FileRefused("not valid UTF-8 text; save the file as CSV UTF-8", scan.first_bad_utf8_line)
        with open_bytes(source) as again:  # (only a file that is not UTF-8 is searched for these bytes)
            cp1252_ok = not any(CP1252_UNDEFINED.search(block) for block in iter(lambda: again.read(BLOCK), b""))
        if not cp1252_ok:
            raise FileRefused(
                f"neither UTF-8 nor Windows-1252 text (the first byte that is not UTF-8 is on line "
                f"{scan.first_bad_utf8_line}); save the file as CSV UTF-8", scan.first_bad_utf8_line)
        scan.codec, scan.encoding = "cp1252", "Windows-1252"
    return scan


def _text_lines(raw: io.BufferedIOBase, codec: str, line_break: str) -> Iterator[str]:
    """The decoded file as lines for the csv module (line ends kept)."""
    text = io.TextIOWrapper(raw, encoding=codec, newline="")
    if line_break == "\n":
        yield from text
        return
    for line in text:  # old Mac files: a lone carriage return ends each line
        yield line.replace("\r", "\n")


def _looks_padded(sample: str, delimiter: str) -> bool:
    """True when quoted fields are padded with spaces (`"a"   ,  "b"`), as aligned exports write them: when
    unpadding the start of the file (which knows what is inside quotes) would change it."""
    d, pad = re.escape(delimiter), _padding(delimiter)
    if not re.search(rf'"{pad}+(?:{d}|\r?\n)|(?:^|{d}){pad}+"', sample, re.MULTILINE):
        return False  # (quick: no space next to a quote at all)
    lines = sample.splitlines(keepends=True)
    if len(sample) >= SNIFF_BYTES:
        lines = lines[:-1]  # the last line may be cut off
    return any(a != b for a, b in zip(lines, _unpadded(lines, delimiter), strict=True))


def _padding(delimiter: str) -> str:
    """The characters that pad a field: spaces, and tabs unless the tab is the delimiter."""
    return "[ ]" if delimiter == "\t" else "[ \t]"


def _unpadded(lines: Iterable[str], delimiter: str) -> Iterator[str]:
    """The lines with the spaces around quoted fields removed (before an opening quote, after a closing one), so
    a strict reader reads padded, aligned CSV. Text inside quotes is kept exactly; anything else after a closing
    quote is left for the reader to refuse."""
    d, pad = re.escape(delimiter), _padding(delimiter)
    unquoted = re.compile(rf"[^{d}\r\n]*")
    opening = re.compile(rf'{pad}*"')
    quoted = re.compile(r'(?:[^"]|"")*')
    after = re.compile(rf"{pad}+(?={d}|\r|\n|$)")
    inside = False
    for line in lines:
        out: list[str] = []
        pos, end = 0, len(line)
        while pos < end:
            if inside:
                content = quoted.match(line, pos)
                out.append(content.group())
                pos = content.end()
                if pos >= end:
                    break  # the quoted field goes on on the next line
                out.append('"')  # the closing quote
                pos += 1
                inside = False
                spaces = after.match(line, pos)
                if spaces:
                    pos = spaces.end()
                continue
            if line[pos] in "\r\n":
                out.append(line[pos:])
                break
            start = opening.match(line, pos)
            if start:
                out.append('"')
                pos, inside = start.end(), True
                continue
            field_text = unquoted.match(line, pos)
            out.append(field_text.group())
            pos = field_text.end()
            if pos < end and line[pos] == delimiter:
                out.append(delimiter)
                pos += 1
                if pos >= end or line[pos] in "\r\n":
                    out.append(line[pos:])
                    break
        yield "".join(out)


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
    size = source_size(source)
    raw = RawTable(file=display_name(name), name=name, sha256="", size=size)
    if options.seconds is not None:
        options = replace(options, started=time.monotonic())
    if printable(name, 400) != display_name(name) and name.strip():
        raw.problems.append(Problem(raw.file, None, "", "the file name held a folder path or unusual characters; "
                                    f"it is shown as {raw.file}", "note"))
    try:
        if options.max_bytes is not None and size > options.max_bytes:
            raw.sha256 = sha256_of(source)
            raise FileRefused(f"the file is {megabytes(size)}, over the limit of {megabytes(options.max_bytes)} "
                              "for one upload; split it or import it on the command line", None)
        with open_bytes(source) as stream:
            head = stream.read(SNIFF_BYTES)
        if head.startswith(b"PK\x03\x04"):
            raw.sha256 = sha256_of(source)
            if options.strict or not is_xlsx(source):
                raise FileRefused("this is a zip or Excel file, not CSV text; save it as CSV UTF-8"
                                  if options.strict else "this is a zip file, not CSV text or an Excel workbook")
            read_xlsx(con, raw, source, slot=slot, options=options)
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
    with open_bytes(source) as stream:
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

    padded = not strict and _looks_padded(sample, raw.delimiter)
    if padded:
        raw.problems.append(Problem(raw.file, None, "", "fields are padded with spaces (an aligned export): read "
                                    "with the spaces around them removed", "note"))
    if options.on_rows is not None:
        options = replace(options, expected=scan.logical_lines)
    if not padded and _read_fast(con, raw, source, scan, slot=slot, options=options):
        return
    with open_bytes(source) as stream:
        lines = _text_lines(stream, scan.codec, scan.line_break)
        reader = csv.reader(_unpadded(lines, raw.delimiter) if padded else lines, delimiter=raw.delimiter, strict=True)
        records = _numbered(reader)
        try:
            complete = stage_records(con, raw, records, slot=slot, options=options)
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise FileRefused(f"a field is longer than {MAX_CELL_CHARS:,} characters, the limit for one cell",
                                  reader.line_num) from exc
            raise FileRefused(f"the CSV is malformed ({printable(str(exc), 80)})", reader.line_num) from exc
    if complete and records.count != scan.logical_lines:
        line = _first_stray_quote_line(scan.open_quote_lines, records.spans)
        where = f" (a quote character inside a field that is not in quotes, near line {line})" if line else ""
        raise FileRefused(
            f"the number of records read ({records.count}) differs from an independent count of the file's lines "
            f"({scan.logical_lines}){where}; put fields holding quotes in double quotes and double the quotes "
            "inside them", line)


def _read_fast(
    con: DuckDBPyConnection, raw: RawTable, source: bytes | Path, scan: _Scan, *, slot: int, options: ReadOptions
) -> bool:
    """Stage the file through Arrow's reader (fastcsv.py) when it can be read so; False: read it record by record.

    The header is found as the record-by-record reader finds it (the first records, read by the csv module)."""
    if not FAST_READER or scan.records is None or options.max_records is not None or \
            scan.codec not in ("utf-8", "utf-8-sig") or not scan.records.allows(raw.delimiter):
        return False
    kept = len(raw.problems)
    try:
        with open_bytes(source) as stream:
            reader = csv.reader(_text_lines(stream, scan.codec, scan.line_break), delimiter=raw.delimiter, strict=True)
            found = take_header(raw, iter(_numbered(reader)), options)
        stage_fast(con, raw, source, scan.records, found, delimiter=raw.delimiter, slot=slot, options=options)
    except (NotSimple, csv.Error):
        del raw.problems[kept:]
        raw.table, raw.records = None, 0
        con.execute(f"drop table if exists raw_{slot}")
        return False
    return True


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


