"""Formula-safe CSV and Excel bytes: text cells a spreadsheet could run as a formula get a leading apostrophe."""

from __future__ import annotations

import codecs
import datetime as dt
import decimal
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # typing only; the write-only worksheet class lives in a private module
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# OWASP CSV Injection (https://owasp.org/www-community/attacks/CSV_Injection): a cell starting with = + - @, tab or CR
# may run as a formula/DDE call in Excel, LibreOffice or Google Sheets. Also covered, as an IME or Unicode-normalising
# app can produce them: full-width ＝＋－＠, small ﹦﹢﹣﹫, super/subscript ⁺⁼₊₌⁻₋, U+2212 minus, U+FB29 alt plus.
SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u207a\u207c\u208a\u208c\u207b\u208b\u2212\ufb29")
LEADING_CONTROLS = frozenset("\t\r\n\x00")  # triggers as the first character (LF by analogy, NUL per OWASP ASVS 1.2.10)
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})  # spaces (NBSP, U+2007, U+202F...), controls, zero-width
_LINE_OR_FIELD_BREAK = re.compile("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XLSX_ESCAPE_OPENER = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
# Text that can never need the apostrophe: it starts with an ASCII letter or digit and holds no line or field break
# (RE2 syntax, for pyarrow). Every other text goes through needs_prefix.
_PLAIN_TEXT = "^[A-Za-z0-9][^\\t\\n\\v\\f\\r\\x1c-\\x1e\\x{85}\\x{2028}\\x{2029}]*$"
_DATE_FORMAT, _DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"

Kind = Literal["blank", "bool", "number", "date", "datetime", "text"]


def _is_blank(char: str) -> bool:
    """Whitespace, control or invisible format character, which an app may skip before reading a formula sign."""
    return char.isspace() or unicodedata.category(char) in _BLANK_CATEGORIES


def _starts_with_sign(segment: str) -> bool:
    for char in segment:
        if char in SIGNS:
            return True
        if not _is_blank(char):
            return False
    return False


def needs_prefix(text: str) -> bool:
    """True when `text` could be read as a formula (OWASP CSV Injection; OWASP ASVS 1.2.10).

    Triggers: a first character of tab, CR, LF or NUL; or a sign from SIGNS at the start of the cell once leading
    whitespace and invisible characters (space, NBSP, U+2007, U+202F, zero-width, BOM...) are skipped.
    Second-line rule, beyond OWASP (which only looks at the cell start): a sign at the start of any later line or
    tab-separated part counts too, because a cell pasted as plain text is split into one cell per line/tab. The
    apostrophe then only marks the whole cell as suspect -- it cannot protect a line pasted on its own -- but it
    costs nothing. Text that already starts with an apostrophe is text already (this keeps neutralise idempotent).
    """
    if text[:1] in LEADING_CONTROLS:
        return True
    if text.startswith("'"):
        return False  # already forced to text at the cell start; keeps neutralise idempotent
    return any(_starts_with_sign(part) for part in _LINE_OR_FIELD_BREAK.split(text))


def neutralise(text: str) -> str:
    """Return `text` with a leading apostrophe when `needs_prefix(text)`, else unchanged (OWASP CSV Injection).

    Only the apostrophe is added; the rest of the text is kept byte for byte, so stripping one leading "'" from a
    neutralised cell gives back the original.
    """
    return "'" + text if needs_prefix(text) else text


def _classify(value: object) -> tuple[Kind, Any]:
    """Sort one value into a cell kind; numbers, booleans and dates are never neutralised, everything else is text."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "blank", None
    if pd.api.types.is_bool(value):
        return "bool", bool(value)
    if pd.api.types.is_integer(value):
        return "number", int(value)
    if pd.api.types.is_float(value) or isinstance(value, decimal.Decimal):
        number: float | decimal.Decimal = value if isinstance(value, decimal.Decimal) else float(value)  # type: ignore[arg-type]
        return ("number", number) if math.isfinite(number) else ("text", str(number))  # "-inf" is text, so neutralised
    if isinstance(value, pd.Timestamp):
        return "datetime", value.to_pydatetime(warn=False)
    if isinstance(value, dt.datetime):
        return "datetime", value
    if isinstance(value, dt.date):
        return "date", value
    return "text", value.isoformat() if isinstance(value, dt.time) else str(value)


def _column_values(column: pd.Series) -> list[object]:
    """Values of one column as Python objects; a tz-naive datetime column whose times are all midnight becomes dates."""
    if pd.api.types.is_datetime64_dtype(column.dtype):
        present = column.dropna()
        if (present == present.dt.normalize()).all():
            return [None if pd.isna(value) else value.date() for value in column]
    return column.astype(object).tolist()


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    columns = [_column_values(frame.iloc[:, position]) for position in range(frame.shape[1])]
    return list(zip(*columns, strict=True))


def _csv_field(value: object) -> object:
    """One value as csv.writer (QUOTE_NONNUMERIC) should get it: numbers and booleans bare, the rest as safe text."""
    kind, clean = _classify(value)
    if kind == "date":
        return clean.isoformat()
    if kind == "datetime":
        return clean.isoformat(sep=" ")  # tz-aware keeps its offset: +01:00
    if kind == "text":
        return neutralise(clean)
    return clean  # None, bool, int, float, Decimal: written bare by csv.QUOTE_NONNUMERIC


# --- CSV, a column at a time -------------------------------------------------------------------------------------
# Each column becomes an Arrow array of finished CSV fields (quoted text, bare numbers), and the rows are joined in
# Arrow too: a million rows in a few seconds. The bytes are exactly what csv.writer(QUOTE_NONNUMERIC) writes for
# `_csv_field` of every value (tests/export/test_safe_files.py compares the two); types with no bulk form (floats,
# naive datetimes, mixed object columns) go value by value through `_csv_field`.


def _quoted(texts: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', pc.replace_substring(texts, '"', '""'), '"', "")


def _neutralised(texts: pa.Array) -> pa.Array:
    """`neutralise` of every text: the plain ones (_PLAIN_TEXT) in bulk, the rest one by one."""
    plain = pc.fill_null(pc.match_substring_regex(texts, _PLAIN_TEXT), True).to_numpy(zero_copy_only=False)
    if plain.all():
        return texts
    fixed = [neutralise(text) for text in texts.take(pa.array(np.flatnonzero(~plain))).to_pylist()]
    return pc.replace_with_mask(texts, pa.array(~plain), pa.array(fixed, type=texts.type))


def _iso_timestamps(stamps: pa.Array) -> pa.Array:
    """Time-zone-aware instants as datetime.isoformat(sep=" ") writes them: 2026-03-29 02:30:05.000123+01:00."""
    stamps = pc.cast(stamps, pa.timestamp("us", stamps.type.tz), safe=False)  # nanoseconds dropped, as to_pydatetime
    text = pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S%z")  # Arrow's %S carries .ffffff
    text = pc.replace_substring_regex(text, pattern=r"\.000000([+-])", replacement=r"\1")
    return pc.replace_substring_regex(text, pattern="([+-][0-9]{2})([0-9]{2})$", replacement=r"\1:\2")


def _within_tz_rules(stamps: pa.Array) -> bool:
    """Whether every instant is in 1971-2036, where Arrow's time-zone rules agree with Python's (Arrow stops applying
    daylight saving time in 2038)."""
    years = pc.min_max(pc.year(pc.cast(stamps, pa.timestamp("us", "UTC"), safe=False)))
    low, high = years["min"].as_py(), years["max"].as_py()
    return low is None or (1971 <= low and high <= 2036)


def _arrow_fields(values: pa.Array) -> pa.Array | None:
    """The CSV fields of one Arrow column in bulk, or None when its type is written value by value."""
    kind = values.type
    if pa.types.is_integer(kind):
        fields = pc.cast(values, pa.string())
    elif pa.types.is_boolean(kind):
        fields = pc.if_else(values, "True", "False")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        fields = _quoted(_neutralised(values.cast(pa.string())))
    elif pa.types.is_date32(kind):
        fields = _quoted(pc.cast(values, pa.string()))
    elif pa.types.is_timestamp(kind) and kind.tz is not None and _within_tz_rules(values):
        fields = _quoted(_iso_timestamps(values))
    else:
        return None
    return pc.fill_null(fields, '""')


def _python_field(value: object) -> str:
    """What csv.writer(QUOTE_NONNUMERIC) writes for one `_csv_field` value."""
    field = _csv_field(value)
    if field is None:
        return '""'
    if isinstance(field, str):
        if not field.isascii():
            field = field.encode("utf-8", errors="replace").decode("utf-8")  # lone surrogates become "?"
        return '"' + field.replace('"', '""') + '"'
    return str(field)


def _series_fields(column: pd.Series) -> pa.Array:
    dtype = column.dtype
    bulk = (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
            or (pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype)))
    fields = _arrow_fields(pa.array(column)) if bulk else None
    if fields is None:
        fields = pa.array([_python_field(value) for value in _column_values(column)], pa.string())
    return fields


def _arrow_column_fields(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    fields = _arrow_fields(column)
    if fields is None:
        fields = pa.array([_python_field(value) for value in _column_values(column.to_pandas())], pa.string())
    return fields


def _header(names: Iterable[object]) -> bytes:
    return (",".join(_python_field(neutralise(str(name))) for name in names) + "\r\n").encode("utf-8")


def _write_lines(target: IO[bytes], fields: list[pa.Array], rows: int) -> None:
    """Write the rows whose fields are given column by column: comma-separated, each ended by CRLF."""
    if not fields or rows == 0:
        return  # (a frame without columns has nothing to write in its rows, as with csv.writer)
    lines = pc.binary_join_element_wise(*fields, ",") if len(fields) > 1 else fields[0]
    lines = pc.binary_join_element_wise(lines, "\r\n", "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
    target.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Write `frame` (header row, no index) as formula-safe CSV.

    UTF-8 with a BOM (Excel otherwise guesses a legacy code page), CRLF line ends (RFC 4180), comma separated.
    Text cells -- including column names -- are neutralised and always quoted (embedded quotes doubled), so a
    separator, quote or newline inside text can never start a new field or row; numbers and booleans are bare
    (-2 stays -2), dates are ISO 8601, missing values are empty. Lone surrogates become "?".
    """
    target = io.BytesIO()
    write_csv(target, [frame])
    return target.getvalue()


def write_csv(target: IO[bytes], chunks: Iterable[pd.DataFrame | pa.RecordBatch | pa.Table]) -> int:
    """Write chunks of one table (pandas frames or Arrow batches of the same columns), one after the other, as one
    formula-safe CSV, byte for byte as `to_csv_bytes` of the whole table.

    For tables too big to hold at once: each chunk is converted and written before the next is read. The header
    comes from the first chunk (an empty one still gives it). Returns the rows written. (A naive datetime column
    whose times are all midnight is written as dates: a chunk decides this for itself.)
    """
    rows, first = 0, True
    target.write(codecs.BOM_UTF8)
    for chunk in chunks:
        if isinstance(chunk, pd.DataFrame):
            names = list(chunk.columns)
            fields = [_series_fields(chunk.iloc[:, position]) for position in range(chunk.shape[1])]
        else:
            names = list(chunk.schema.names)
            fields = [_arrow_column_fields(column) for column in chunk.columns]
        if first:
            target.write(_header(names))
            first = False
        _write_lines(target, fields, len(chunk))
        rows += len(chunk)
    if first:
        raise ValueError("a CSV file needs at least one chunk, for its header")
    return rows


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    """A string cell that can never be a formula: control characters XML forbids are stripped, then neutralised.

    Excel decodes _xHHHH_ in cell text (ECMA-376 22.4.2.4), so "_x003D_1+1" would display as "=1+1" and come back
    to life on a CSV re-save: a literal opener is escaped as _x005F_, and CR is stored as _x000D_ (XML would turn
    it into LF). Excel then shows exactly the neutralised text.
    """
    safe = _XLSX_ESCAPE_OPENER.sub("_x005F_", neutralise(_XML_ILLEGAL.sub("", text)))
    from openpyxl.cell import WriteOnlyCell  # openpyxl only when a workbook is written (CSV writers start faster)

    cell = WriteOnlyCell(sheet, value=safe.replace("\r", "_x000D_"))
    cell.data_type = "s"
    return cell


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    kind, clean = _classify(value)
    if kind == "text":
        return _text_cell(sheet, clean)
    if kind == "datetime" and clean.tzinfo is not None:
        return _text_cell(sheet, clean.isoformat(sep=" "))  # Excel has no time zones
    if kind in ("date", "datetime"):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=clean)
        cell.number_format = _DATE_FORMAT if kind == "date" else _DATETIME_FORMAT
        return cell
    return clean  # None, bool or a number: openpyxl writes the native cell type


def sheet_title(name: str, used: set[str]) -> str:
    """Excel-legal, unique sheet title: <= 31 chars, none of []:*?/\\, not blank, no edge apostrophe, not History."""
    base = _SHEET_ILLEGAL.sub("_", name)[:31].strip("'") or "Sheet"
    if base.casefold() == "history":
        base += "_"
    title, number = base, 1
    while title.casefold() in used:
        number += 1
        suffix = f" ({number})"
        title = base[: 31 - len(suffix)] + suffix
    used.add(title.casefold())
    return title


EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet, the header included


class TooManyRowsError(ValueError):
    """A table does not fit on one Excel sheet."""


def to_xlsx_bytes(frames: Mapping[str, pd.DataFrame]) -> bytes:
    """Write each frame to its own sheet (bold header row, no index) as a typed, formula-free .xlsx workbook.

    Numbers and booleans are native cells, dates/datetimes are date cells with an ISO number format (tz-aware
    values become ISO text with their offset), and text is an explicit string cell that is ALSO neutralised:
    defence in depth, since re-saving the sheet as CSV would otherwise revive "=..." as a formula.
    """
    buffer = io.BytesIO()
    write_xlsx(buffer, {name: [frame] for name, frame in frames.items()})
    return buffer.getvalue()


def write_xlsx(target: IO[bytes], sheets: Mapping[str, Iterable[pd.DataFrame]]) -> dict[str, int]:
    """`to_xlsx_bytes` for tables given in chunks (frames of the same columns): each sheet's header comes from its
    first chunk. Returns the rows written per sheet; raises TooManyRowsError (before saving) past Excel's limit."""
    if not sheets:
        raise ValueError("an .xlsx workbook needs at least one sheet")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook, bold = Workbook(write_only=True), Font(bold=True)
    used: set[str] = set()
    written: dict[str, int] = {}
    for name, chunks in sheets.items():
        sheet = workbook.create_sheet(sheet_title(str(name), used))
        rows = 0
        for number, frame in enumerate(chunks):
            if number == 0:
                header = [_text_cell(sheet, str(column)) for column in frame.columns]
                for cell in header:
                    cell.font = bold
                sheet.append(header)
            rows += len(frame)
            if rows >= EXCEL_MAX_ROWS:
                for opened in workbook.worksheets:
                    opened.close()  # its temporary file, before the workbook is dropped
                raise TooManyRowsError(f"{name} has more than {EXCEL_MAX_ROWS - 1:,} rows, more than an Excel sheet holds")
            for row in _rows(frame):
                sheet.append([_xlsx_cell(sheet, value) for value in row])
        written[str(name)] = rows
    workbook.save(target)
    return written
