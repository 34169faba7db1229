"""The content warnings of a mapped file (invisible characters in ids and coded values, formulas, markup) test each
row as a whole first (columns.SourceColumns.report_content); the counts and first lines are those of the plain
per-column checks, on random cells full of the characters that matter (Hypothesis)."""

from __future__ import annotations

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analytics.ingest.columns import FORMULA_START, INVISIBLE, MARKUP, SourceColumns
from analytics.ingest.mapping import Mapping
from analytics.ingest.raw import RawTable

HEADER = ("Therapist ID", "Client name", "Homework", "Type", "Due date", "Times", "Notes", "Submitted")
KINDS = ("id", "text", "text", "type", "date", "int", "note", "datetime")  # the flat fields these headers map to
CODED = ("id", "date", "datetime", "int", "bool", "enum", "type", "measure")

special = st.text(alphabet=st.sampled_from(list("a1 =@+-|!<>:/b(") + ["\u200b", "\u00a0", "\u00e9", "\ufeff"]),
                  max_size=8)
plain = st.sampled_from(["", "T1", "Task 3", "2026-03-01", "3", "felt better"])
# a row of plain cells with, now and then, one or two cells of the characters that matter (so that a row's own
# test decides, not another cell's)
row = st.tuples(st.tuples(*[plain] * len(HEADER)), st.lists(st.tuples(st.integers(0, len(HEADER) - 1), special),
                                                             max_size=2))


def cells(drawn) -> tuple[str, ...]:
    values, specials = drawn
    values = list(values)
    for at, text in specials:
        values[at] = text
    return tuple(values)


def plain_counts(con, raw: str) -> list[tuple[int, int | None]]:
    """Each check per column, evaluated on its own, in the order report_content lists them."""
    predicates = []
    for n, kind in enumerate(KINDS):
        c = f"c{n}"
        if kind in CODED:
            predicates.append(f"regexp_matches({c}, '{INVISIBLE}')")
        if kind in ("id", "text", "note", "type"):
            predicates.append(f"regexp_matches(trim({c}), '{FORMULA_START}')")
        if kind in ("text", "note"):
            predicates.append(f"regexp_matches({c}, '{MARKUP}')")
    return [con.execute(f"select count(*), min(_line) from {raw} where {p}").fetchone() for p in predicates]


@settings(max_examples=50, deadline=None)
@given(st.lists(row, min_size=1, max_size=20))
@example([(("",) * len(HEADER), [(0, "1|")]), (("",) * len(HEADER), [(6, "\u00a0")]),  # | alone; a space
          (("",) * len(HEADER), [(1, "javascript:x")])])  # markup with : alone
def test_the_row_tests_find_what_the_checks_per_column_find(rows):
    con = duckdb.connect()
    con.execute(f"create temp table raw_0 (_line bigint, {', '.join(f'c{n} varchar' for n in range(len(HEADER)))})")
    con.executemany(f"insert into raw_0 values (?, {', '.join('?' * len(HEADER))})",
                    [(line, *cells(drawn)) for line, drawn in enumerate(rows, start=2)])
    raw = RawTable(file="export.csv", name="export.csv", sha256="", size=0, table="raw_0", header=HEADER, header_line=1)
    columns = SourceColumns(con, Mapping("flat", columns=tuple(zip(HEADER, (
        "therapist_id", "client_label", "title", "assignment_type", "due_on", "expected_count", "client_note",
        "submitted_at"), strict=True))), raw, strict=False, slot=0)
    assert [n for n, kind in enumerate(KINDS)] == sorted(columns.position.values())
    columns.problems.clear()
    columns.report_content()
    found = [(int(p.reason.split()[0]), p.line) for p in columns.problems]
    assert found == [(count, line) for count, line in plain_counts(con, "raw_0") if count]
