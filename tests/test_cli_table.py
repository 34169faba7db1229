"""The plain printer (analytics/cli_table.py) prints exactly what format_frame prints through pandas."""

from __future__ import annotations

import math
from datetime import date, datetime

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import cli_table
from analytics.cli import format_frame
from analytics.metrics import caseload
from analytics.store.scope import Scope
from tests.test_cli_startup import DEMO_END, demo_store  # noqa: F401  (the module's fixture: the demo practice)

TYPES = {"text": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "time": "TIMESTAMP"}

ordinary_text = st.text(st.sampled_from("ACTcz019_-. "), min_size=1, max_size=8).map(lambda t: "C" + t)
any_text = st.one_of(ordinary_text, st.text(max_size=12), st.sampled_from(
    ["=1+1", "@SUM(1)", " -3", "a\tb", "line\nbreak", "\x1b[31mred", "\u202eevil", 'say "hi"', "", "Zoë", "日本"]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=64), st.floats(-1e6, 1e6),
                   st.sampled_from([0.0, -0.0, 0.5, 2.5e-05, -2.5e-05, 0.00005, 1 / 3, -1 / 3, 1e-300, 123456.78955]))
times = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(2999, 12, 31)).map(
    lambda t: t.replace(microsecond=t.microsecond // 7 * 7))
# A float the plain printer prints itself: one whose rounding to 4 places (x * 10**4) stays finite; past about
# 1.8e304 pandas rounds it to inf, which the export module writes as text, so it is left to format_frame.
plain_floats = st.one_of(st.none(), floats.filter(lambda v: math.isnan(v) or math.isfinite(v * 10000.0)))
VALUES = {"text": st.one_of(st.none(), any_text), "int": st.one_of(st.none(), st.integers(-2**62, 2**62)),
          "float": st.one_of(st.none(), floats), "time": st.one_of(st.none(), times)}


@st.composite
def tables(draw, plain: bool = False):
    kinds = draw(st.lists(st.sampled_from(list(TYPES)), min_size=1, max_size=5))
    names = [f"{kind}_{i}" for i, kind in enumerate(kinds)]
    strategies = dict(VALUES, text=ordinary_text, int=st.integers(-10**6, 10**6), float=plain_floats) if plain \
        else VALUES
    rows = draw(st.lists(st.tuples(*(strategies[kind] for kind in kinds)), max_size=6))
    return list(zip(names, kinds, strict=True)), rows


def both(columns, rows, fmt):
    """(format_rows of the rows DuckDB returns, format_frame of the DataFrame it returns) for one table."""
    con = duckdb.connect()
    con.execute("create table t (" + ", ".join(f"{name} {TYPES[kind]}" for name, kind in columns) + ")")
    if rows:
        con.executemany("insert into t values (" + ", ".join("?" * len(columns)) + ")", rows)
    select = "select * from t order by rowid"
    cursor = con.execute(select)
    plain = cli_table.format_rows([(d[0], str(d[1])) for d in cursor.description], cursor.fetchall(), fmt)
    return plain, format_frame(con.execute(select).df(), fmt)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), fmt=st.sampled_from(["table", "csv"]))
def test_any_table_prints_as_format_frame_prints_it_or_is_left_to_it(table, fmt):
    plain, reference = both(*table, fmt)
    assert plain is None or plain == reference


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(plain=True), fmt=st.sampled_from(["table", "csv"]))
def test_tables_like_the_summarys_are_printed_without_pandas(table, fmt):
    plain, reference = both(*table, fmt)
    assert plain is not None
    assert plain == reference


@pytest.mark.parametrize(("columns", "rows", "fmt"), [
    ([("client_id", "text")], [("=HYPERLINK(1)",)], "csv"),  # the formula guard is the export module's
    ([("n", "int")], [(None,)], "table"),  # a missing whole number makes pandas hold floats
    ([("x", "float")], [(math.inf,)], "csv"),
    ([("x", "float")], [(1.797693134862316e+304,)], "csv"),  # finite, but rounded to 4 places by pandas it is inf
])
def test_what_only_format_frame_prints_is_left_to_it(columns, rows, fmt):
    plain, reference = both(columns, rows, fmt)
    assert plain is None and reference


def test_other_formats_and_types_are_left_to_format_frame():
    assert cli_table.format_rows([("a", "VARCHAR")], [("x",)], "json") is None
    assert cli_table.format_rows([("d", "DATE")], [(date(2026, 1, 1),)], "table") is None
    assert cli_table.format_rows([("n", "HUGEINT")], [(1,)], "csv") is None


def test_a_hand_worked_table_and_csv():
    columns = [("client_id", "VARCHAR"), ("expected", "BIGINT"), ("rate", "DOUBLE"), ("last", "TIMESTAMP")]
    rows = [("C1", 12, 0.66666, datetime(2026, 3, 4, 5, 6, 7)), ("C22", 0, None, None)]
    assert cli_table.format_rows(columns, rows, "table") == (
        "client_id  expected  rate                last\n"
        "       C1        12 0.667 2026-03-04T05:06:07\n"
        "      C22         0                          ")
    assert cli_table.format_rows(columns, rows, "csv") == (
        '"client_id","expected","rate","last"\r\n"C1",12,0.6667,"2026-03-04T05:06:07"\r\n"C22",0,"",""')
    assert cli_table.format_rows(columns, [], "table") == "(no rows)"
    assert cli_table.format_rows(columns, [], "csv") == '"client_id","expected","rate","last"'


@given(st.floats(-1e300, 1e300))
def test_rounding_to_four_places_is_pandas_rounding(value):
    expected = pd.Series([value]).round(4).iloc[0]
    assert repr(cli_table._round4(value)) == repr(float(expected))


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_the_client_summary_prints_as_format_frame_prints_it(demo_store, fmt):  # noqa: F811
    con = duckdb.connect(str(demo_store), read_only=True)
    therapist = con.execute("select min(therapist_id) from clients").fetchone()[0]
    for as_of in (DEMO_END, DEMO_END.replace(day=1), date(2020, 1, 1)):
        for scope in (Scope.practice(), Scope.therapist(therapist), Scope.therapist("nobody")):
            columns, rows = caseload.client_summary_rows(con, scope=scope, as_of=as_of)
            plain = cli_table.format_rows(columns, rows, fmt)
            assert plain is not None
            assert plain == format_frame(caseload.client_summary(con, scope=scope, as_of=as_of), fmt)
    con.close()
