"""The tables of each tier for a scope and dates: identified (the five canonical tables as stored) and de-identified
(pseudonyms, days instead of dates, no free text; and aggregate counts with small counts suppressed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
from duckdb import DuckDBPyConnection

from analytics.export import deidentify
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES, COMPLETIONS

CHUNK_ROWS = 250_000  # rows read from DuckDB at a time when a table is written in chunks
ALL = "all"  # the total's row and column in the aggregate tables


@dataclass(frozen=True)
class Query:
    """One table of an export: its SQL and the parameters it binds."""

    sql: str
    params: dict[str, object]

    @classmethod
    def of(cls, sql: str, params: dict[str, object]) -> Query:
        """The query with the parameters its SQL names (DuckDB refuses any other)."""
        return cls(sql, {name: value for name, value in params.items() if f"${name}" in sql})


# Assignments due in [date_from, date_to] (either may be open) of clients in scope; their submissions come with them.
_SCOPED_ASSIGNMENTS = """
select a.*, c.therapist_id
from assignments a
join clients c using (client_id)
where ($scope_therapist is null or c.therapist_id = $scope_therapist)
  and ($date_from is null or a.due_on >= $date_from)
  and ($date_to is null or a.due_on <= $date_to)
"""

IDENTIFIED = {
    "therapists": "select therapist_id, name, email from therapists "
                  "where $scope_therapist is null or therapist_id = $scope_therapist order by therapist_id",
    "clients": "select client_id, therapist_id, label, intake_date, primary_concern, goals, preferences, status "
               "from clients where $scope_therapist is null or therapist_id = $scope_therapist order by client_id",
    "assignments": f"""
        select assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count, est_minutes,
               goal, chosen_with_client, status
        from ({_SCOPED_ASSIGNMENTS}) order by assignment_id""",
    "submissions": f"""
        select s.submission_id, s.assignment_id, s.submitted_at, s.completion, s.quality, s.mood_before, s.mood_after,
               s.minutes, s.client_note, s.therapist_feedback, s.feedback_at
        from submissions s join ({_SCOPED_ASSIGNMENTS}) a using (assignment_id) order by s.submission_id""",
    "measures": """
        select m.client_id, m.measure, m.score, m.administered_on
        from measures m join clients c using (client_id)
        where ($scope_therapist is null or c.therapist_id = $scope_therapist)
          and ($date_from is null or m.administered_on >= $date_from)
          and ($date_to is null or m.administered_on <= $date_to)
        order by m.client_id, m.measure, m.administered_on""",
}

# Day 0 of each client in scope: the intake date, else the first assignment, else the first measure (over all their
# data, whatever the dates asked for, so a client's days are the same in every export).
_DAY0 = """
select c.client_id, c.therapist_id, c.status,
       coalesce(c.intake_date, fa.first_assigned, fm.first_measured) as day0,
       case when c.intake_date is not null then 'intake' when fa.first_assigned is not null then 'first assignment'
            when fm.first_measured is not null then 'first measure' end as day0_is
from clients c
left join (select client_id, min(assigned_on) as first_assigned from assignments group by client_id) fa using (client_id)
left join (select client_id, min(administered_on) as first_measured from measures group by client_id) fm using (client_id)
where $scope_therapist is null or c.therapist_id = $scope_therapist
"""

_P = deidentify.pseudonym_sql
# The pseudonyms of the clients in scope and of their therapists, worked out once per client.
_CLIENTS = f"""
select d.*, {_P('client', 'd.client_id')} as client, {_P('therapist', 'd.therapist_id')} as therapist
from ({_DAY0}) d
"""
DEIDENTIFIED = {
    "clients": f"""
        select client, therapist, status, day0_is, isodow(day0) as day0_weekday
        from ({_CLIENTS}) order by client""",
    "assignments": f"""
        select {_P('assignment', 'a.assignment_id')} as assignment, d.client,
               a.assignment_type, ad.template_id, a.assigned_on - d.day0 as assigned_day, a.due_on - d.day0 as due_day,
               a.expected_count, a.est_minutes, ad.times_per_week, a.chosen_with_client, a.status
        from ({_SCOPED_ASSIGNMENTS}) a
        join ({_CLIENTS}) d using (client_id)
        left join assignment_details ad using (assignment_id)
        order by assignment""",
    "submissions": f"""
        with scoped as (
            select a.assignment_id, {_P('assignment', 'a.assignment_id')} as assignment, d.client, d.day0
            from ({_SCOPED_ASSIGNMENTS}) a join ({_CLIENTS}) d using (client_id)
        )
        select {_P('submission', 's.submission_id')} as submission, a.assignment, a.client,
               s.submitted_on - a.day0 as submitted_day, isodow(s.submitted_on) as submitted_weekday,
               hour(s.submitted_local) as submitted_hour, s.completion, s.quality, s.mood_before, s.mood_after,
               s.minutes, coalesce(trim(s.client_note) <> '', false) as has_note,
               holds_text(s.therapist_feedback) as has_feedback,
               cast(s.feedback_local as date) - a.day0 as feedback_day
        from submission_facts s
        join scoped a using (assignment_id)
        order by submission""",
    "measures": f"""
        select d.client, m.measure, m.score, m.administered_on - d.day0 as administered_day
        from measures m join ({_CLIENTS}) d using (client_id)
        where ($date_from is null or m.administered_on >= $date_from)
          and ($date_to is null or m.administered_on <= $date_to)
        order by d.client, m.measure, administered_day""",
}
RECORD_TABLES = tuple(DEIDENTIFIED)

# Submissions counted by completion and one more dimension, for the aggregate tables (therapists pseudonymised after
# counting: a hundred HMACs, not a million).
_COUNTS = f"""
with counts as (
    select a.assignment_type, a.therapist_id, floor((s.submitted_on - d.day0) / 7)::bigint as week, s.completion,
           count(*) as n
    from submission_facts s
    join ({_SCOPED_ASSIGNMENTS}) a using (assignment_id)
    join ({_DAY0}) d on d.client_id = a.client_id
    group by all
)
select assignment_type, {_P('therapist', 'therapist_id')} as therapist, week, completion, n from counts
"""
AGGREGATES = {"by_type": "assignment_type", "by_therapist": "therapist", "by_week": "week"}
AGGREGATE_COLUMNS = (*COMPLETIONS, ALL)


def _params(scope: Scope, date_from: date | None, date_to: date | None) -> dict[str, object]:
    return {"scope_therapist": scope.therapist_id, "date_from": date_from, "date_to": date_to}


def identified_queries(*, scope: Scope, date_from: date | None = None, date_to: date | None = None) -> dict[str, Query]:
    """The identified tier: therapists, clients, assignments, submissions, measures, column for column as stored.

    Scope: the therapist's own row and clients, or everything for the practice. Dates (either may be open):
    assignments due in the range with all their submissions, and measures taken in it; therapists and clients whole.
    """
    params = _params(scope, date_from, date_to)
    return {name: Query.of(sql, params) for name, sql in IDENTIFIED.items()}


def deidentified_queries(con: DuckDBPyConnection, *, scope: Scope, date_from: date | None = None,
                         date_to: date | None = None) -> dict[str, Query]:
    """The de-identified record tables: clients, assignments, submissions, measures (data/README.md, column by column).

    Ids become keyed pseudonyms, dates become days since the client's day 0, free text is left out (whether a note
    or feedback was written stays, as has_note and has_feedback). The same scope and dates as the identified tier.
    """
    params = {**_params(scope, date_from, date_to), **deidentify.hmac_parameters(deidentify.practice_secret(con))}
    return {name: Query.of(sql, params) for name, sql in DEIDENTIFIED.items()}


def nullable(arrow_type: pa.DataType) -> object:
    """pandas' nullable dtypes for Arrow's integers and booleans (a types_mapper), so a missing value never turns 3
    into 3.0."""
    if pa.types.is_integer(arrow_type):
        return pd.api.types.pandas_dtype(str(arrow_type).replace("uint", "UInt").replace("int", "Int"))
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def frame(con: DuckDBPyConnection, query: Query) -> pd.DataFrame:
    """The whole table as one pandas frame (nullable integers; timestamps in the practice's time zone)."""
    batches = list(chunks(con, query))
    return pa.Table.from_batches(batches, schema=batches[0].schema).to_pandas(types_mapper=nullable)


def chunks(con: DuckDBPyConnection, query: Query, *, rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """The table's rows as Arrow batches of at most `rows` rows (at least one, maybe empty, so the columns are known).

    Timestamps carry the practice's time zone.
    """
    timezone = con.execute("select timezone from practice_settings").fetchall()[0][0]
    reader = con.sql(query.sql, params=query.params).to_arrow_reader(rows)
    schema = pa.schema([
        field.with_type(pa.timestamp(field.type.unit, timezone))
        if pa.types.is_timestamp(field.type) and field.type.tz is not None else field
        for field in reader.schema
    ])
    produced = False
    for batch in reader:
        produced = True
        yield batch.cast(schema)
    if not produced:
        yield pa.RecordBatch.from_pylist([], schema=schema)


def aggregates(con: DuckDBPyConnection, *, scope: Scope, date_from: date | None = None, date_to: date | None = None,
               k: int | None = None) -> dict[str, pd.DataFrame]:
    """Submissions counted by type, by therapist (pseudonym) and by week since day 0, each by completion, with totals;
    counts from 1 to k suppressed, with complementary suppression across all three (deidentify.suppress).

    Each table, long: <dimension> (text; "all" for the total), completion (completed, partial, skipped, all),
    submissions (empty when suppressed), suppressed (true/false).
    """
    k = deidentify.suppression_k(con) if k is None else k
    params = {**_params(scope, date_from, date_to), **deidentify.hmac_parameters(deidentify.practice_secret(con))}
    query = Query.of(_COUNTS, params)
    counts = con.execute(query.sql, query.params).df()
    grids, labels = [], []
    for dimension in AGGREGATES.values():
        pivot = counts.pivot_table(index=dimension, columns="completion", values="n", aggfunc="sum", fill_value=0)
        pivot = pivot.reindex(columns=list(COMPLETIONS), fill_value=0)
        if dimension == "assignment_type":
            order = [t for t in ASSIGNMENT_TYPES if t in pivot.index] + sorted(set(pivot.index) - set(ASSIGNMENT_TYPES))
            pivot = pivot.reindex(order)
        else:
            pivot = pivot.sort_index()
        pivot[ALL] = pivot.sum(axis=1)
        pivot.loc[ALL] = pivot.sum(axis=0)
        grids.append(pivot.to_numpy(dtype=np.int64))
        labels.append([str(value) for value in pivot.index])
    masks = deidentify.suppress(grids, k)
    tables = {}
    for (name, dimension), grid, mask, rows in zip(AGGREGATES.items(), grids, masks, labels, strict=True):
        column = "therapist" if dimension == "therapist" else dimension
        records = [
            {column: row, "completion": completion,
             "submissions": None if mask[i, j] else int(grid[i, j]), "suppressed": bool(mask[i, j])}
            for i, row in enumerate(rows) for j, completion in enumerate(AGGREGATE_COLUMNS)
        ]
        table = pd.DataFrame(records, columns=[column, "completion", "submissions", "suppressed"])
        table[column] = table[column].astype("str")
        table["completion"] = table["completion"].astype("str")
        table["submissions"] = table["submissions"].astype("Int64")
        tables[name] = table
    return tables
