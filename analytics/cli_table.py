"""The command line's tables printed from plain rows, without pandas: byte for byte what `cli.format_frame` prints.

`format_frame` prints a DataFrame with pandas (`to_string`, or `safe_files.to_csv_bytes` for CSV); importing pandas and
formatting through it costs about a third of a second, more than the query of `summary --by client` at a million
submissions. `format_rows` writes the same text from the rows DuckDB returns, for the column types those tables have
(text, whole numbers, floats, timestamps) and for text that needs no formula guard; for anything else it returns
None and the caller uses `format_frame` (tests/test_cli_table.py compares the two).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from analytics.cli_admin import safe_text

# DuckDB type -> how DataFrame.df() holds it: text (str), int (int64), float (float64), time (datetime64).
KINDS = {"VARCHAR": "text", "BIGINT": "int", "INTEGER": "int", "SMALLINT": "int", "DOUBLE": "float",
         "TIMESTAMP": "time"}
NUMBERS = ("int", "float")
# Text that safe_files.neutralise leaves as it is: it starts with an ASCII letter or digit and holds no line or field
# break (safe_files._PLAIN_TEXT). Other text goes through pandas and the export module's formula guard.
PLAIN_TEXT = re.compile("[A-Za-z0-9][^\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]*")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # format_frame's for timestamps (a column named week is a date: not printed here)


def format_rows(columns: list[tuple[str, str]], rows: list[tuple], fmt: str) -> str | None:
    """`rows` (tuples, as DuckDB's fetchall gives them) with `columns` (name, DuckDB type) as format_frame prints
    the same table as a DataFrame: "table" or "csv"; None when only format_frame can (another format or type, a
    whole number missing, text a spreadsheet could read as a formula, a float that is not finite in CSV)."""
    kinds = [KINDS.get(kind) for _, kind in columns]
    names = [name for name, _ in columns]
    if fmt not in ("table", "csv") or None in kinds or "week" in names or "reasons" in names:
        return None
    cells = [_cells([row[i] for row in rows], kind, fmt) for i, kind in enumerate(kinds)]
    if any(column is None for column in cells):
        return None
    if fmt == "csv":
        if not all(PLAIN_TEXT.fullmatch(name) for name in names):
            return None
        lines = [",".join(f'"{name}"' for name in names)]
        lines.extend(",".join(row) for row in zip(*cells, strict=True))
        return "\r\n".join(lines)
    if not rows:
        return "(no rows)"
    headers = [" " + name if kind in NUMBERS else name for name, kind in zip(names, kinds, strict=True)]
    widths = [max(len(header), *map(len, column)) for header, column in zip(headers, cells, strict=True)]
    lines = [" ".join(header.rjust(width) for header, width in zip(headers, widths, strict=True))]
    lines.extend(" ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
                 for row in zip(*cells, strict=True))
    return "\n".join(lines)


def _cells(values: list, kind: str, fmt: str) -> list[str] | None:
    """One column's printed cells, or None when format_frame must print the table."""
    csv = fmt == "csv"
    if kind == "int":
        if any(v is None for v in values):
            return None  # pandas would hold the column as floats
        return [str(v) for v in values]
    if kind == "float":
        out = []
        for v in values:
            if v is None or math.isnan(v):
                out.append('""' if csv else "")
            elif not csv:
                out.append(f"{v:.3f}")
            elif not math.isfinite(v * 10000.0):
                return None  # written as text (inf) by the export module
            else:
                out.append(repr(_round4(v)))
        return out
    if kind == "time":
        if any(v is not None and (not isinstance(v, datetime) or v.year < 1000) for v in values):
            return None
        texts = [None if v is None else v.strftime(TIME_FORMAT) for v in values]
    else:
        if values and all(v is None for v in values):
            return None  # pandas holds an all-empty text column as objects and prints None
        texts = [None if v is None else safe_text(v) for v in values]
        if csv and any(t is not None and not PLAIN_TEXT.fullmatch(t) for t in texts):
            return None
    if csv:
        return ['""' if t is None else '"' + t.replace('"', '""') + '"' for t in texts]
    return ["" if t is None else t for t in texts]


def _round4(value: float) -> float:
    """DataFrame.round(4) of one float (NumPy's rint(value * 10**4) / 10**4, keeping the sign of a zero)."""
    scaled = value * 10000.0
    whole = round(scaled)  # half to even, as rint
    return math.copysign(0.0, scaled) if whole == 0 else whole / 10000.0
