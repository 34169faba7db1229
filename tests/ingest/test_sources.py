"""Reading files as they come (analytics/ingest/sources.py): encodings, delimiters, the header row, physical line
numbers, rows left out, the independent count, and .xlsx workbooks."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

import analytics.ingest.sources as sources
from analytics.ingest.raw import RawTable, ReadOptions
from analytics.ingest.recognition import header_score
from analytics.ingest.sources import read_source
from analytics.store.database import open_store

LENIENT = ReadOptions(header_score=header_score)


@pytest.fixture
def con():
    connection = open_store(":memory:")
    yield connection
    connection.close()


def read(con, data: bytes, name: str = "data.csv", options: ReadOptions = LENIENT) -> RawTable:
    return read_source(con, name, data, slot=0, options=options)


def staged(con, raw: RawTable) -> list[tuple]:
    return con.execute(f"select * from {raw.table} order by _line").fetchall()


def reasons(raw: RawTable, severity: str | None = None) -> list[str]:
    return [p.reason for p in raw.problems if severity is None or p.severity == severity]


def test_records_keep_the_physical_line_they_start_on(con):
    data = (b"client_id,therapist_id,goals\n"  # 1
            b'C1,T1,"walk\n'  # 2
            b'daily"\n'  # 3
            b"\n"  # 4: blank
            b'C2,T1,"a ""quoted"", note"\n')  # 5
    raw = read(con, data)
    assert staged(con, raw) == [(2, "C1", "T1", "walk\ndaily"), (5, "C2", "T1", 'a "quoted", note')]
    assert (raw.header, raw.header_line, raw.records) == (("client_id", "therapist_id", "goals"), 1, 2)
    assert "1 blank line(s) held no data and were skipped" in reasons(raw)


@pytest.mark.parametrize(("delimiter", "said"), [(";", "semicolon"), ("\t", "tab"), (",", None)])
def test_the_delimiter_is_sniffed_and_said(con, delimiter, said):
    text = delimiter.join(["client_id", "therapist_id", "label"]) + "\n" + delimiter.join(["C1", "T1", '"Kim, Jr; II"'])
    raw = read(con, (text + "\n").encode())
    assert raw.delimiter == delimiter
    assert staged(con, raw) == [(2, "C1", "T1", "Kim, Jr; II")]
    notes = reasons(raw, "note")
    assert (f"read as {said}-separated" in notes) if said else notes == []


@pytest.mark.parametrize(("encoding", "name"), [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (with byte-order mark)"), ("utf-16", "UTF-16"),
    ("utf-16-le", "UTF-16 (little-endian, no byte-order mark)"), ("utf-16-be", "UTF-16 (big-endian, no byte-order mark)"),
])
def test_unicode_encodings_are_detected(con, encoding, name):
    raw = read(con, "client_id,therapist_id,label\nC1,T1,Zoë ☂ 漢字\n".encode(encoding))
    assert raw.encoding == name
    assert staged(con, raw) == [(2, "C1", "T1", "Zoë ☂ 漢字")]


def test_windows_1252_is_read_and_said_with_the_line_of_the_first_such_byte(con):
    raw = read(con, "client_id,therapist_id,label\nC1,T1,Kim\nC2,T1,Zoë – €5\n".encode("cp1252"))
    assert raw.encoding == "Windows-1252"
    assert staged(con, raw)[-1] == (3, "C2", "T1", "Zoë – €5")
    warning = next(p for p in raw.problems if p.severity == "warning")
    assert warning.line == 3 and "Windows-1252" in warning.reason


def test_strict_mode_reads_utf8_only(con):
    raw = read(con, "client_id,therapist_id\nC1,T1\n".encode("utf-16"), options=ReadOptions(strict=True))
    assert not raw.readable
    assert "UTF-16" in raw.problems[0].reason
    raw = read(con, b"client_id;therapist_id\nC1;T1\n", options=ReadOptions(strict=True))
    assert raw.header == ("client_id;therapist_id",)  # no sniffing: commas only


def test_the_header_is_found_below_preamble_lines(con):
    data = b"Homework export\nPractice: Oak Street\n\nClient ID,Therapist,Due date\nC1,T1,2026-03-01\n"
    raw = read(con, data)
    assert (raw.header_line, raw.header) == (4, ("Client ID", "Therapist", "Due date"))
    assert staged(con, raw) == [(5, "C1", "T1", "2026-03-01")]
    note = next(p for p in raw.problems if "before the header" in p.reason)
    assert (note.line, note.severity) == (1, "note") and note.reason.startswith("2 line(s)")


def test_repeated_headers_and_a_final_totals_row_are_left_out_and_reported(con):
    data = (b"submission_id,assignment_id,minutes\nS1,A1,10\nsubmission_id,assignment_id,minutes\n"
            b"S2,A1,20\nTotal for the practice,,30\n")
    raw = read(con, data)
    assert [row[:2] for row in staged(con, raw)] == [(2, "S1"), (4, "S2")]
    assert any("repeated header row(s) left out (line 3)" in r for r in reasons(raw, "warning"))
    assert any("totals row" in p.reason and p.line == 5 for p in raw.problems)


def test_a_total_that_is_not_the_last_row_or_holds_text_is_data(con):
    raw = read(con, b"client_id,therapist_id,label\nTotal,T1,Kim\nC2,T1,Lee\nSum,T1,Kim\n")
    assert [row[1] for row in staged(con, raw)] == ["Total", "C2", "Sum"]


def test_rows_with_the_wrong_number_of_fields_are_rejected_with_their_line(con):
    raw = read(con, b"client_id,therapist_id,label\nC1,T1\nC2,T1,Kim,extra\nC3,T1,Lee,,\n")
    assert [(p.line, p.reason) for p in raw.problems if p.severity == "error"] == [
        (2, "has 2 fields, the header has 3"), (3, "has 4 fields, the header has 3")]
    assert raw.rejected == 2
    assert staged(con, raw) == [(4, "C3", "T1", "Lee")]  # empty cells after the last column are padding


def test_a_stray_quote_is_caught_by_the_independent_count_naming_its_line(con):
    raw = read(con, b'client_id,therapist_id,label\nC1,T1,"fine\nstill fine"\nC2,T1,Kim 5" tall\nC3,T1,Lee\n')
    assert not raw.readable
    problem = raw.problems[-1]
    assert "independent count" in problem.reason and problem.line == 4


def test_the_independent_count_is_right_across_read_blocks(con, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK", 7)  # quotes and line breaks fall on block boundaries
    data = b'client_id,therapist_id,goals\nC1,T1,"a\nb\nc"\nC2,T1,"x"\n\nC3,T1,""""\n'
    raw = read(con, data)
    assert raw.readable, raw.problems
    assert [row[0] for row in staged(con, raw)] == [2, 5, 7]


def test_old_mac_line_ends_are_read(con):
    raw = read(con, b"client_id,therapist_id\rC1,T1\rC2,T1\r")
    assert [row[:2] for row in staged(con, raw)] == [(2, "C1"), (3, "C2")]


def test_max_records_stops_early_for_a_preview(con):
    data = b"client_id,therapist_id\n" + b"".join(b"C%d,T1\n" % n for n in range(100))
    raw = read(con, data, options=ReadOptions(max_records=10, header_score=header_score))
    assert raw.records == 10


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(con):
    raw = read(con, b"client_id,therapist_id\n" + b"C1,T1\n" * 100, options=ReadOptions(max_bytes=100))
    assert not raw.readable
    assert "over the limit" in raw.problems[0].reason
    assert raw.sha256  # still identified


def test_path_like_names_are_shown_by_their_last_part():
    assert sources.display_name("../../etc/passwd") == "passwd"
    assert sources.display_name("C:\\Users\\me\\clients.csv") == "clients.csv"
    assert sources.display_name("bad\x00name\n.csv") == "bad?name?.csv"
    assert sources.display_name("") == "unnamed file"


def workbook(rows, *, sheets=("Sheet1",)) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = sheets[0]
    for name in sheets[1:]:
        book.create_sheet(name)
    for row in rows:
        book[sheets[-1]].append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_sheet_is_read_with_spreadsheet_rows_as_lines(con):
    data = workbook([["Export"], [], ["client_id", "therapist_id", "intake_date", "score"],
                     ["C1", "T1", datetime(2026, 1, 5), 7.0], [], ["C2", "T1", None, 3.5]])
    raw = read(con, data, name="clients.xlsx", options=ReadOptions(sheet="Sheet1", header_score=header_score))
    assert (raw.kind, raw.header_line) == ("xlsx", 3)
    assert staged(con, raw) == [(4, "C1", "T1", "2026-01-05", "7"), (6, "C2", "T1", "", "3.5")]


def test_an_xlsx_sheet_can_be_chosen_and_a_missing_one_is_refused(con):
    data = workbook([["client_id", "therapist_id"], ["C1", "T1"]], sheets=("Notes", "Clients"))
    raw = read(con, data, options=ReadOptions(sheet="Clients", header_score=header_score))
    assert staged(con, raw) == [(2, "C1", "T1")]
    raw = read(con, data, options=ReadOptions(sheet="Nope", header_score=header_score))
    assert not raw.readable and "no sheet named Nope" in raw.problems[-1].reason
