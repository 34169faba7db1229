"""Reading an .xlsx workbook's sheet into the staged table of text, with the spreadsheet row as the line.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path

from duckdb import DuckDBPyConnection

from analytics.ingest.raw import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    FileRefused,
    Problem,
    RawTable,
    ReadOptions,
    megabytes,
    open_bytes,
    printable,
    stage_records,
)

MAX_UNPACKED_BYTES = 100 << 20  # an .xlsx whose parts unpack to more is refused before it is opened


MAX_SHARED_STRINGS_BYTES = 20 << 20  # the workbook's table of texts, which a reader holds in memory whole


ROWS_BETWEEN_CHECKS = 1_000  # rows counted between two looks at the clock


def is_xlsx(source: bytes | Path) -> bool:
    try:
        with open_bytes(source) as stream, zipfile.ZipFile(stream) as archive:
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


def read_xlsx(con: DuckDBPyConnection, raw: RawTable, source: bytes | Path, *, slot: int, options: ReadOptions) -> None:
    import openpyxl  # only here: a CSV-only import does not need it

    raw.kind, raw.encoding = "xlsx", "Excel"
    with open_bytes(source) as stream, zipfile.ZipFile(stream) as archive:
        # The sizes the archive declares bound what unpacking gives: Python's zip reader stops at them.
        infos = archive.infolist()
        unpacked = sum(info.file_size for info in infos)
        if unpacked > MAX_UNPACKED_BYTES:
            raise FileRefused(f"this workbook unpacks to {megabytes(unpacked)} (from {megabytes(raw.size)}); the limit "
                              f"is {megabytes(MAX_UNPACKED_BYTES)}: save the sheet as CSV UTF-8")
        strings = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
        if strings > MAX_SHARED_STRINGS_BYTES:
            raise FileRefused(f"this workbook's shared strings (its table of texts) are {megabytes(strings)}; the limit "
                              f"is {megabytes(MAX_SHARED_STRINGS_BYTES)}: save the sheet as CSV UTF-8")
    try:
        workbook = openpyxl.load_workbook(open_bytes(source), read_only=True, data_only=True)
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
        rows = _numbered_sheet(worksheet.iter_rows(values_only=True), options)
        complete = stage_records(con, raw, rows, slot=slot, options=options)
    finally:
        workbook.close()
    if len(names) > 1:
        raw.problems.append(Problem(raw.file, None, "", f"read sheet {printable(sheet)} of {len(names)}", "note"))
    if complete:
        counted = _count_xml_rows(source, path, options)
        if counted != rows.filled:
            raise FileRefused(f"the number of rows read ({rows.filled}) differs from an independent count of the "
                              f"sheet's rows holding values ({counted})", None)


class _numbered_sheet:
    """(spreadsheet row, values as text) from openpyxl; counts the rows holding any value; refuses a cell longer
    than MAX_CELL_CHARS, a row wider than MAX_COLUMNS holds values in, and a read past the time limit."""

    def __init__(self, rows: Iterable[tuple[object, ...]], options: ReadOptions):
        self.rows = rows
        self.options = options
        self.filled = 0

    def __iter__(self) -> Iterator[tuple[int, list[str | None]]]:
        for number, values in enumerate(self.rows, start=1):
            if not number % ROWS_BETWEEN_CHECKS:
                self.options.check_time()
            cells = [_cell_text(v) for v in values]
            if any(c is not None and len(c) > MAX_CELL_CHARS for c in cells):
                raise FileRefused(f"a cell on row {number} is longer than {MAX_CELL_CHARS:,} characters, the limit "
                                  "for one cell", number)
            while cells and (cells[-1] is None or cells[-1] == ""):
                cells.pop()  # empty cells at the end of a row (a sheet's formatting reaches far to the right)
            if len(cells) > MAX_COLUMNS:
                raise FileRefused(f"row {number} has values in {len(cells):,} columns; the limit is {MAX_COLUMNS}",
                                  number)
            if cells:
                self.filled += 1
            yield number, ["" if c is None else c for c in cells]


def _count_xml_rows(source: bytes | Path, path: str, options: ReadOptions) -> int:
    """Rows of the sheet's XML that hold at least one value, counted with the standard library's parser."""
    from xml.etree.ElementTree import iterparse

    count = seen = 0
    with open_bytes(source) as stream, zipfile.ZipFile(stream) as archive, archive.open(path.lstrip("/")) as xml:
        for _event, element in iterparse(xml, events=("end",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "row":
                seen += 1
                if not seen % ROWS_BETWEEN_CHECKS:
                    options.check_time()
                if any((e.text or "") != "" for e in element.iter() if e.tag.rsplit("}", 1)[-1] in ("v", "t")):
                    count += 1
                element.clear()
    return count
