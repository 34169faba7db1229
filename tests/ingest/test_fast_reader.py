"""The fast CSV path (analytics/ingest/fastcsv.py: Arrow's reader, lines from the scanner's record map) gives exactly
what the record-by-record reader gives: the same staged rows with the same physical lines, the same problems, the
same counts, for every file of the corpus and for files made to trip it; and it is the path plain files take."""

from __future__ import annotations

import pytest

import analytics.ingest.sources as sources
from analytics.ingest.raw import RawTable, ReadOptions
from analytics.ingest.recognition import header_score
from analytics.ingest.sources import read_source
from analytics.store.database import open_store
from tests.ingest.corpus_files import CASES

LENIENT = ReadOptions(header_score=header_score)
STRICT = ReadOptions(strict=True)

CRAFTED = {
    "quoted_breaks": b'submission_id,assignment_id,client_note\nS1,A1,"one\ntwo\nthree"\nS2,A1,"a\r\nb"\nS3,A1,x\n',
    "crlf_and_blank_lines": b"client_id,therapist_id\r\nC1,T1\r\n\r\n\r\nC2,T1\r\n",
    "escaped_quotes": b'client_id,therapist_id,goals\nC1,T1,"say ""hi"""\nC2,T1,""""\nC3,T1,""\n',
    "spaces_only_lines": b"client_id,therapist_id\nC1,T1\n   \n , \nC2,T1\n",
    "unicode_blank": "client_id,therapist_id\nC1,T1\n\u00a0,\u2003\nC2,T1\n".encode(),
    "no_final_break": b"client_id,therapist_id\nC1,T1\nC2,T1",
    "trailing_delimiters": b"client_id,therapist_id,\nC1,T1,\nC2,T1,\n",
    "trailing_delimiter_filled": b"client_id,therapist_id,\nC1,T1,\nC2,T1,x\n",
    "trailing_delimiter_short": b"client_id,therapist_id,\nC1,T1\n",
    "repeated_header_and_total": b"client_id,therapist_id,label\nC1,T1,A\nCLIENT_ID , therapist_id,Label\nC2,T1,B\n"
                                 b"Total,3,\n",
    "repeated_header_probe_only": b"client_id,therapist_id\nC1,T1\nclient_id,T1\n",
    "empty_first_header_cell": b",client_id,therapist_id\n1,C1,T1\n,client_id,therapist_id\n2,C2,T1\n",
    "preamble": b"Export of 2026-03-01\nby the clinic system\n\nclient_id,therapist_id,label\nC1,T1,x\n",
    "stray_quote_mid_field": b'client_id,therapist_id,label\nC1,T1,5" tall\nC2,T1,y\n',
    "text_after_closing_quote": b'client_id,therapist_id,label\nC1,T1,"a"b\nC2,T1,y\n',
    "ragged": b"client_id,therapist_id,label\nC1,T1\nC2,T1,x,y\nC3,T1,z\n",
    "lone_carriage_return_in_quotes": b'client_id,therapist_id,goals\nC1,T1,"a\rb"\nC2,T1,x\n',
    "bom": b"\xef\xbb\xbfclient_id,therapist_id\nC1,T1\n",
    "bom_quoted_header": b'\xef\xbb\xbf"client_id","therapist_id"\n"C1","T1"\n',
    "semicolons": b'client_id;therapist_id;label\nC1;T1;"a;b"\nC2;T1;"c\nd"\n',
    "header_only": b"client_id,therapist_id\n",
    "header_only_blank_after": b"client_id,therapist_id\n\n\n",
    "long_cell": b"client_id,therapist_id,goals\nC1,T1," + b"x" * 131_073 + b"\n",
    "cell_at_the_limit": b"client_id,therapist_id,goals\nC1,T1," + b"x" * 131_072 + b"\n",
}


@pytest.fixture(scope="module")
def store():
    connection = open_store(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def con(store):
    """A cursor of its own per test: reading stages a file in temporary tables, which are the cursor's alone (the
    store is opened once per module, ~0.12 s a time on the 2-core VM, for 187 tests)."""
    cursor = store.cursor()
    yield cursor
    cursor.close()


def outcome(con, data: bytes, name: str, options: ReadOptions) -> tuple:
    raw: RawTable = read_source(con, name, data, slot=0, options=options)
    rows = con.execute(f"select * from {raw.table} order by _line").fetchall() if raw.readable else None
    return (raw.readable, raw.header, raw.header_line, raw.records, raw.rejected, raw.rejected_listed, raw.encoding,
            raw.delimiter, raw.problems, rows)


def both_ways(con, monkeypatch, data: bytes, name: str, options: ReadOptions) -> tuple[tuple, tuple, bool]:
    taken = []
    real = sources._read_fast

    def watched(*args, **kwargs):
        taken.append(real(*args, **kwargs))
        return taken[-1]

    monkeypatch.setattr(sources, "_read_fast", watched)
    fast = outcome(con, data, name, options)
    monkeypatch.setattr(sources, "FAST_READER", False)
    slow = outcome(con, data, name, options)
    monkeypatch.setattr(sources, "FAST_READER", True)
    return fast, slow, any(taken)


CSV_CASES = [c for c in CASES if not c.file.endswith(".xlsx") and c.data[:2] != b"PK"]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.file for c in CSV_CASES])
@pytest.mark.parametrize("options", [LENIENT, STRICT], ids=["lenient", "strict"])
def test_each_corpus_file_reads_the_same_both_ways(con, monkeypatch, case, options):
    fast, slow, _ = both_ways(con, monkeypatch, case.data, case.upload_name or case.file, options)
    assert fast == slow


@pytest.mark.parametrize("name", list(CRAFTED))
@pytest.mark.parametrize("options", [LENIENT, STRICT], ids=["lenient", "strict"])
def test_crafted_files_read_the_same_both_ways(con, monkeypatch, name, options):
    fast, slow, _ = both_ways(con, monkeypatch, CRAFTED[name], "clients.csv", options)
    assert fast == slow


@pytest.mark.parametrize("name", ["quoted_breaks", "crlf_and_blank_lines", "escaped_quotes", "unicode_blank",
                                  "no_final_break", "trailing_delimiters", "repeated_header_and_total", "preamble",
                                  "bom", "bom_quoted_header", "semicolons", "header_only_blank_after",
                                  "cell_at_the_limit"])
def test_plain_files_take_the_fast_path(con, monkeypatch, name):
    assert both_ways(con, monkeypatch, CRAFTED[name], "clients.csv", LENIENT)[2]


@pytest.mark.parametrize("name", ["stray_quote_mid_field", "text_after_closing_quote", "ragged",
                                  "lone_carriage_return_in_quotes", "long_cell", "trailing_delimiter_filled",
                                  "trailing_delimiter_short"])
def test_odd_files_are_read_record_by_record(con, monkeypatch, name):
    assert not both_ways(con, monkeypatch, CRAFTED[name], "clients.csv", LENIENT)[2]


def test_problem_lines_after_multi_line_notes_are_the_physical_lines(con):
    data = (b"submission_id,assignment_id,client_note\n"  # 1
            b'S1,A1,"first\nsecond\nthird"\n'  # 2-4
            b"\n"  # 5: blank
            b'S2,A1,"x\r\ny"\n'  # 6-7
            b"S3,A1,plain\n"  # 8
            b"submission_id,assignment_id,client_note\n"  # 9: repeated header
            b'S4,A1,"a ""b""\n\nc"\n'  # 10-12
            b"Total,,\n")  # 13
    raw = read_source(con, "submissions.csv", data, slot=0, options=LENIENT)
    rows = con.execute("select _line, c0 from raw_0 order by _line").fetchall()
    assert rows == [(2, "S1"), (6, "S2"), (8, "S3"), (10, "S4")]
    assert [(p.line, p.severity) for p in raw.problems] == [(13, "warning"), (9, "warning"), (None, "warning")]


def test_the_record_map_survives_tiny_read_blocks(con, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK", 5)  # every quote and break falls near a block edge
    data = CRAFTED["quoted_breaks"] + b'S4,A1,"""q"""\nS5,A1,"\n"\n'
    fast, slow, took = both_ways(con, monkeypatch, data, "submissions.csv", LENIENT)
    assert took and fast == slow
    assert [row[0] for row in fast[-1]] == [2, 5, 7, 8, 9]


@pytest.mark.parametrize("block", range(3, 14))
def test_quotes_and_breaks_on_every_block_edge_keep_the_fast_path(con, monkeypatch, block):
    monkeypatch.setattr(sources, "BLOCK", block)
    data = b'submission_id,assignment_id,client_note\nS1,A1,"a"\nS2,A1,"b\n""c"""\r\nS3,A1,""\n\nS4,A1,"d,e"\n'
    fast, slow, took = both_ways(con, monkeypatch, data, "submissions.csv", LENIENT)
    assert took and fast == slow
    assert [row[0] for row in fast[-1]] == [2, 3, 5, 7]


def test_many_inserts_of_small_blocks_keep_every_line(con, monkeypatch):
    import analytics.ingest.fastcsv as fastcsv

    monkeypatch.setattr(fastcsv, "ARROW_BLOCK", 64)  # Arrow's smallest useful blocks: many batches
    monkeypatch.setattr(fastcsv, "INSERT_ROWS", 3)  # and an insert every few records
    body = b"".join(b'S%d,A1,"note\n%d"\n' % (n, n) if n % 3 == 0 else b"S%d,A1,x\n" % n for n in range(40))
    data = b"submission_id,assignment_id,client_note\n" + body
    fast, slow, took = both_ways(con, monkeypatch, data, "submissions.csv", LENIENT)
    assert took and fast == slow
    lines, line = [], 2
    for n in range(40):
        lines.append(line)
        line += 2 if n % 3 == 0 else 1
    assert [row[0] for row in fast[-1]] == lines


def test_arrow_blocks_are_freed_before_the_transaction_ends(con, tmp_path, monkeypatch):
    """A batch is one transaction: Arrow's blocks must not live until its commit (a view registered and dropped
    inside a transaction kept its Arrow table alive to the end: every block of a 10M batch, about 2 GB)."""
    import pyarrow as pa

    import analytics.ingest.fastcsv as fastcsv

    monkeypatch.setattr(fastcsv, "INSERT_ROWS", 2_000)  # many inserts, each of its own Arrow table
    path = tmp_path / "submissions.csv"
    path.write_bytes(b"submission_id,assignment_id,client_note\n" +
                     b"".join(b"S%d,A%d,%s\n" % (n, n % 7, b"x" * 200) for n in range(20_000)))
    before = pa.total_allocated_bytes()
    con.execute("begin")
    raw = read_source(con, "submissions.csv", path, slot=0, options=STRICT)
    assert raw.records == 20_000
    assert pa.total_allocated_bytes() - before < 1 << 20  # the file's Arrow data is about 4.5 MB
    con.execute("rollback")
