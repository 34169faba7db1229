"""Formula-safe CSV and Excel bytes: text cells a spreadsheet could run as a formula get a leading apostrophe."""

from __future__ import annotations

import codecs
import csv
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
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

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


def _csv_column(column: pd.Series) -> list[object]:
    """The CSV fields of one column, decided once by its dtype (the same values `_csv_field` gives cell by cell).

    A column of one known kind (numbers, booleans, text) is converted in bulk, which is what makes a million rows
    quick; dates and object columns of mixed values go cell by cell.
    """
    dtype = column.dtype
    missing = column.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        if not missing.any():
            return column.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype)).tolist()
        return [None if gone else (bool(v) if pd.api.types.is_bool(v) else int(v))
                for v, gone in zip(column.astype(object).tolist(), missing, strict=True)]
    if pd.api.types.is_float_dtype(dtype):
        numbers = column.to_numpy(dtype=float, na_value=np.nan)
        values = numbers.tolist()
        if np.isfinite(numbers).all():
            return values
        return [None if gone else (v if math.isfinite(v) else neutralise(str(v)))
                for v, gone in zip(values, missing, strict=True)]
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        values = column.tolist()
        plain = pc.fill_null(pc.match_substring_regex(pa.array(column, type=pa.large_string()), _PLAIN_TEXT), False)
        for position in np.flatnonzero(~plain.to_numpy(zero_copy_only=False)):
            values[position] = None if missing[position] else neutralise(values[position])
        return values
    return [_csv_field(value) for value in _column_values(column)]


def _csv_rows(frame: pd.DataFrame) -> Iterable[tuple[object, ...]]:
    columns = [_csv_column(frame.iloc[:, position]) for position in range(frame.shape[1])]
    return zip(*columns, strict=True)


def _csv_writer(out: IO[str]):
    return csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Write `frame` (header row, no index) as formula-safe CSV.

    UTF-8 with a BOM (Excel otherwise guesses a legacy code page), CRLF line ends (RFC 4180), comma separated.
    Text cells -- including column names -- are neutralised and always quoted (embedded quotes doubled), so a
    separator, quote or newline inside text can never start a new field or row; numbers and booleans are bare
    (-2 stays -2), dates are ISO 8601, missing values are empty. Lone surrogates become "?".
    """
    buffer = io.StringIO(newline="")
    writer = _csv_writer(buffer)
    writer.writerow([neutralise(str(name)) for name in frame.columns])
    writer.writerows(_csv_rows(frame))
    return buffer.getvalue().encode("utf-8-sig", errors="replace")


def write_csv(target: IO[bytes], chunks: Iterable[pd.DataFrame]) -> int:
    """Write frames of the same columns, one after the other, as one formula-safe CSV (as `to_csv_bytes`).

    For tables too big to hold as one frame: each chunk is converted and written before the next is read.
    The header comes from the first chunk (an empty frame still gives it). Returns the rows written.
    """
    rows, first = 0, True
    target.write(codecs.BOM_UTF8)
    for chunk in chunks:
        buffer = io.StringIO(newline="")
        writer = _csv_writer(buffer)
        if first:
            writer.writerow([neutralise(str(name)) for name in chunk.columns])
            first = False
        writer.writerows(_csv_rows(chunk))
        target.write(buffer.getvalue().encode("utf-8", errors="replace"))
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


def to_xlsx_bytes(frames: Mapping[str, pd.DataFrame]) -> bytes:
    """Write each frame to its own sheet (bold header row, no index) as a typed, formula-free .xlsx workbook.

    Numbers and booleans are native cells, dates/datetimes are date cells with an ISO number format (tz-aware
    values become ISO text with their offset), and text is an explicit string cell that is ALSO neutralised:
    defence in depth, since re-saving the sheet as CSV would otherwise revive "=..." as a formula.
    """
    if not frames:
        raise ValueError("an .xlsx workbook needs at least one sheet")
    workbook, bold = Workbook(write_only=True), Font(bold=True)
    used: set[str] = set()
    for name, frame in frames.items():
        sheet = workbook.create_sheet(sheet_title(str(name), used))
        header = [_text_cell(sheet, str(column)) for column in frame.columns]
        for cell in header:
            cell.font = bold
        sheet.append(header)
        for row in _rows(frame):
            sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
