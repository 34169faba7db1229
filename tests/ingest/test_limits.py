"""Hard limits on reading a file: an .xlsx's unpacked size and its shared strings, the number of columns, the
length of a cell, and a time limit; each refused at once with a message naming the limit, the store untouched.
The upload size is one number everywhere (the server's limit, the importer's default)."""

from __future__ import annotations

import io
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from analytics.ingest import importer
from analytics.ingest.importer import import_batch, inspect_file
from analytics.ingest.mapping import CANONICAL
from analytics.store.database import open_store
from analytics.store.scope import Scope

PROJECT = Path(__file__).resolve().parents[2]
PRACTICE = Scope.practice()


def workbook(parts: dict[str, bytes | tuple[bytes, int]]) -> bytes:
    """A zip with the parts of a minimal .xlsx; a part given as (chunk, times) is streamed, so a test can write a
    part of hundreds of megabytes into a few hundred kilobytes without holding it."""
    minimal = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               b'content-types"/>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                           b'2006/main"><sheets><sheet name="Sheet1" sheetId="1"/></sheets></workbook>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in {**minimal, **parts}.items():
            if isinstance(data, tuple):
                chunk, times = data
                with archive.open(name, "w", force_zip64=True) as part:
                    for _ in range(times):
                        part.write(chunk)
            else:
                archive.writestr(name, data)
    return out.getvalue()


def bomb() -> bytes:
    """0.2 MB that unpacks to 199 MB: one sheet of the same row over and over."""
    row = b"<row><c><v>1</v></c></row>" * 40  # about 1 kB
    return workbook({"xl/worksheets/sheet1.xml": (row, 199 * 1024 * 1024 // len(row))})


def shared_strings_bomb() -> bytes:
    """Shared strings of 25 MB (the rest small): a reader would hold them all in memory."""
    strings = b"<si><t>abcdefghij</t></si>" * 1000
    return workbook({"xl/sharedStrings.xml": (strings, 25 * 1024 * 1024 // len(strings))})


def wide_csv(columns: int = 20_002) -> bytes:
    return (",".join(f"c{n}" for n in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


@pytest.fixture
def con():
    connection = open_store(":memory:")
    connection.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    yield connection
    connection.close()


def refused_quickly(con, name: str, data: bytes, *, seconds: float = 2.0, **kwargs) -> str:
    """Import the file as the Data page does; it must be refused within `seconds`; returns the error text."""
    started = time.monotonic()
    report = import_batch(con, [(name, data)], scope=PRACTICE, mapping=CANONICAL, seconds=importer.UPLOAD_SECONDS,
                          **kwargs)
    took = time.monotonic() - started
    assert not report.accepted
    assert took < seconds, f"{name} took {took:.1f} s"
    assert con.execute("select count(*) from clients").fetchone() == (0,)
    return " | ".join(p.reason for p in report.errors)


def test_a_workbook_unpacking_past_100_mb_is_refused_before_it_is_opened(con):
    data = bomb()
    assert len(data) < 1 << 20  # a small upload
    reason = refused_quickly(con, "clients.xlsx", data)
    assert "unpacks to 199.0 MB" in reason and "the limit is 100.0 MB" in reason


def test_a_workbook_with_shared_strings_past_20_mb_is_refused(con):
    reason = refused_quickly(con, "clients.xlsx", shared_strings_bomb())
    assert "shared strings (its table of texts) are 25.0 MB; the limit is 20.0 MB" in reason


def test_a_file_with_twenty_thousand_columns_is_refused_naming_the_limit(con):
    data = wide_csv()
    assert len(data) < 200_000
    reason = refused_quickly(con, "clients.csv", data)
    assert reason == "the header has 20,002 columns; the limit is 500 (an export of the homework data has far " \
                     "fewer: check the file)"
    draft = inspect_file(con, "clients.csv", data, seconds=importer.UPLOAD_SECONDS)  # the Data page's first look
    assert not draft.readable and draft.header == ()


def test_500_columns_are_still_read(con):
    header = "client_id,therapist_id," + ",".join(f"extra{n}" for n in range(498))
    report = import_batch(con, [("clients.csv", (header + "\nC9,T1," + ",".join("x" * 498) + "\n").encode())],
                          scope=PRACTICE, mapping=CANONICAL)
    assert report.accepted, report.to_text()


def long_cell_workbook(length: int) -> bytes:
    """A workbook whose cell C2 holds `length` characters (written into its XML: openpyxl itself stops at 32,767
    when writing, but a workbook from elsewhere may hold more, and reading does not stop)."""
    from tests.ingest.corpus_files import xlsx

    source = zipfile.ZipFile(io.BytesIO(xlsx([["client_id", "therapist_id", "label"], ["C9", "T1", "LONGVALUE"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name).replace(b"LONGVALUE", b"x" * length))
    return out.getvalue()


def test_a_cell_longer_than_the_limit_is_refused_in_a_workbook_too(con):
    reason = refused_quickly(con, "clients.xlsx", long_cell_workbook(131_073))
    assert reason == "a cell on row 2 is longer than 131,072 characters, the limit for one cell"
    assert import_batch(con, [("clients.xlsx", long_cell_workbook(131_072))], scope=PRACTICE, mapping=CANONICAL).accepted
    assert len(con.execute("select label from clients").fetchone()[0]) == 131_072  # read whole, never cut


def test_reading_past_the_time_limit_is_refused_naming_it(con):
    rows = "\n".join(f"C{n},T1,Client {n}" for n in range(5_000))
    data = f"client_id,therapist_id,label\n{rows}\n".encode()
    report = import_batch(con, [("clients.csv", data)], scope=PRACTICE, mapping=CANONICAL, seconds=0.0)
    assert not report.accepted
    assert [p.reason for p in report.errors] == [
        "reading the file took longer than 0 seconds, the limit for an upload; split it, or import it on the "
        "command line"]
    assert import_batch(con, [("clients.csv", data)], scope=PRACTICE, mapping=CANONICAL).accepted  # no limit: read


def test_one_upload_size_everywhere():
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == importer.DEFAULT_UPLOAD_MB == 50
    con = open_store(":memory:")
    assert importer.upload_limit_bytes(con, server_mb=50) == 50 << 20
    con.execute("insert into settings values ('import.max_upload_mb', '500')")  # more than the server takes
    assert importer.upload_limit_bytes(con, server_mb=50) == 50 << 20
    con.execute("update settings set value = '10' where key = 'import.max_upload_mb'")
    assert importer.upload_limit_bytes(con, server_mb=50) == 10 << 20


def test_the_progress_of_a_batch_goes_from_reading_to_writing_with_row_counts(con):
    rows = "\n".join(f"C{n},T1,Client {n}" for n in range(120_000))
    seen = []
    report = import_batch(con, [("clients.csv", f"client_id,therapist_id,label\n{rows}\n".encode())], scope=PRACTICE,
                          progress=seen.append)
    assert report.accepted
    assert [p.step for p in seen] == ["reading", "reading", "reading", "reading", "checking", "writing"]
    assert [p.rows for p in seen if p.step == "reading"] == [0, 50_000, 100_000, 120_000]
    assert [p.rows for p in seen if p.step != "reading"] == [120_000, 120_000]
    # the file has 120,001 lines (the header and the rows); clients is the second of the five tables
    expected = [0.0, 0.6 * 50_000 / 120_001, 0.6 * 100_000 / 120_001, 0.6 * 120_000 / 120_001, 0.6 + 0.3 / 5,
                0.9 + 0.1 / 5]
    assert [round(p.done, 3) for p in seen] == [round(x, 3) for x in expected]
    assert all(p.file == "clients.csv" for p in seen) and seen[-1].table == "clients"
