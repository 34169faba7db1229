"""What an import does to the store, table by table: the rows it adds, the rows it changes (which columns,
and a sample of before and after), the rows it leaves alone; and the write that does exactly that, keeping
what it replaced so the batch can be undone (analytics/ingest/undo.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import FREE_TEXT, TABLES
from analytics.ingest.checks import StagedFile, typed_rows
from analytics.store import facts

# What an import does with a row whose key is already stored and whose values differ:
#   refuse  - nothing is written; the report says which rows and columns would change (the default)
#   update  - the stored row takes the file's values (confirmed by the analyst)
#   skip    - the stored row is left as it is; only new rows are added ("only new")
EXISTING_MODES = ("refuse", "update", "skip")


SAMPLE_ROWS = 5  # changed rows shown per table, each with its changed columns


@dataclass(frozen=True)
class ChangeSample:
    """One changed value of one stored row: what it is and what the file would make it."""

    table: str
    line: int
    key: str
    column: str
    before: str | None
    after: str | None

    @property
    def free_text(self) -> bool:
        return (self.table, self.column) in FREE_TEXT


def key_sql(table: str, alias: str) -> str:
    """SQL for a row's key as one text, e.g. "C1 PHQ-9 2026-03-01" for a measure."""
    parts = [f"cast({alias}.{k} as varchar)" for k in TABLES[table].key]
    return parts[0] if len(parts) == 1 else f"concat_ws(' ', {', '.join(parts)})"


DIGEST_KIND = "m2:"  # marks digests made by row_digest_sql; older batches hold md5 digests of JSON (row_hash_sql)


def _digest_fields(table: str, alias: str) -> list[str]:
    """The stored row's fields for a digest; instants as epoch microseconds, so no session time zone enters it."""
    return [f"epoch_us({alias}.{c.name})" if c.kind == "datetime" else f"{alias}.{c.name}" for c in TABLES[table].columns]


def row_hash_sql(table: str, alias: str) -> str:
    """SQL for the md5 digest of a whole stored row that batches written before DIGEST_KIND kept (still checked)."""
    fields = [f"{c.name} := {v}" for c, v in zip(TABLES[table].columns, _digest_fields(table, alias), strict=True)]
    return f"md5(cast(to_json(struct_pack({', '.join(fields)})) as varchar))"


def row_digest_sql(table: str, alias: str) -> str:
    """SQL for the digest a batch keeps of each row it wrote: md5 over the fields as text, each with its length in
    front (so no two rows share a text) and NULL apart, marked DIGEST_KIND. Kept across releases (DuckDB's own
    hash() may change between releases, so it is not used), and cheaper than md5 over JSON."""
    fields = [f"coalesce(length(cast({v} as varchar)) || ':' || cast({v} as varchar), '-')"
              for v in _digest_fields(table, alias)]
    return f"'{DIGEST_KIND}' || md5(concat({', '.join(fields)}))"


def row_digest_matches_sql(table: str, alias: str, digest: str) -> str:
    """SQL true when the stored row (alias) still has the digest kept in the column `digest`, of either kind."""
    return (f"(case when starts_with({digest}, '{DIGEST_KIND}') then {row_digest_sql(table, alias)} "
            f"else {row_hash_sql(table, alias)} end) = {digest}")


ROW_KEPT = "row"  # undo_<table>.row_hash of a row the batch added, kept whole as written: compared value by value


def row_unchanged_sql(table: str, alias: str, kept: str) -> str:
    """SQL true when the stored row (alias) is still the row the batch wrote, by what the undo row (kept) holds:
    the row itself (ROW_KEPT: every column compared, exact) or a digest of it (either kind, batches before)."""
    same = " and ".join(f"{alias}.{c} is not distinct from {kept}.{c}" for c in TABLES[table].column_names)
    return (f"(case when {kept}.row_hash = '{ROW_KEPT}' then {same} "
            f"else {row_digest_matches_sql(table, alias, kept + '.row_hash')} end)")


def _shown_sql(table: str, column: str, value: str) -> str:
    """SQL for a value as text for people: instants in UTC, ISO 8601."""
    if TABLES[table].column(column).kind == "datetime":
        return f"strftime(timezone('UTC', {value}), '%Y-%m-%dT%H:%M:%SZ')"
    return f"cast({value} as varchar)"


def plan_table(con: DuckDBPyConnection, staged: StagedFile, *, existing: str) -> None:
    """Compare typed_<table> with the store and fill the file's report: rows to add, to change (with the columns
    and a sample), unchanged, and (existing="skip") left as stored. Builds write_<table> for write_table."""
    spec = staged.spec
    assert spec is not None
    table, present = spec.name, staged.present
    key_match = " and ".join(f"s.{k} = t.{k}" for k in spec.key)
    others = [c for c in present if c not in spec.key]
    differs = " or ".join(f"s.{c} is distinct from t.{c}" for c in others) or "false"
    if _stored_nothing(con, table):
        # The table's first import: every typed row is new, so write_<table> is a view of them, not a copy (at 10M
        # submissions a copy is about 2 GB, spilled to disk). Nothing else writes the table before write_table does in
        # this transaction; a row another session adds meanwhile is refused by the key when the batch writes.
        con.execute(f"create or replace temp view write_{table} as select t.*, true as is_new from typed_{table} t")
    else:
        con.execute(
            f"create or replace temp table write_{table} as "
            f"select t.*, s.{spec.key[0]} is null as is_new from typed_{table} t "
            f"left join {table} s on {key_match} "
            f"where s.{spec.key[0]} is null or {differs}"
        )
    per_column = "".join(f", count(*) filter (where not w.is_new and s.{c} is distinct from t.{c})" for c in others)
    counts = con.execute(f"select count(*) filter (where is_new), count(*) filter (where not is_new) "
                         f"from write_{table}").fetchone()
    if counts[1]:  # the columns that change, counted only when stored rows differ (never on a first import)
        counts = con.execute(
            f"select count(*) filter (where w.is_new), count(*) filter (where not w.is_new){per_column} "
            f"from write_{table} w join typed_{table} t using (_line) left join {table} s on {key_match}"
        ).fetchone()
    else:
        counts = (*counts, *(0 for _ in others))
    total = typed_rows(con, table)
    new, differing = counts[0], counts[1]
    report = staged.report
    report.inserted = new
    report.updated, report.kept = (0, differing) if existing == "skip" else (differing, 0)
    report.unchanged = total - new - differing
    report.changed_columns = {c: n for c, n in zip(others, counts[2:], strict=True) if n}
    report.samples = _samples(con, table, others, key_match) if differing else []


def _stored_nothing(con: DuckDBPyConnection, table: str) -> bool:
    """Whether the store's table has no row (as this transaction sees it)."""
    return con.execute(f"select not exists (select 1 from {table})").fetchone()[0]


def drop_write_set(con: DuckDBPyConnection, table: str) -> None:
    """Drop write_<table>, a table or (a first import's) a view."""
    kind = con.execute("select table_type from information_schema.tables where table_schema = 'main' and "
                       "table_catalog = 'temp' and table_name = ?", [f"write_{table}"]).fetchone()
    if kind is not None:
        con.execute(f"drop {'view' if kind[0] == 'VIEW' else 'table'} write_{table}")


def _samples(con: DuckDBPyConnection, table: str, others: list[str], key_match: str) -> list[ChangeSample]:
    """The first SAMPLE_ROWS changed rows (by line), each changed column with its value before and after."""
    columns = "".join(f", s.{c} is distinct from t.{c}, {_shown_sql(table, c, 's.' + c)}, {_shown_sql(table, c, 't.' + c)}"
                      for c in others)
    rows = con.execute(
        f"select t._line, {key_sql(table, 't')}{columns} from write_{table} t join {table} s on {key_match} "
        f"where not t.is_new order by t._line limit {SAMPLE_ROWS}"
    ).fetchall()
    samples = []
    for row in rows:
        line, key, values = row[0], row[1], row[2:]
        for n, column in enumerate(others):
            changed, before, after = values[3 * n: 3 * n + 3]
            if changed:
                samples.append(ChangeSample(table, line, key, column, before, after))
    return samples


def write_table(con: DuckDBPyConnection, staged: StagedFile, *, batch_id: str, existing: str,
                touched: bool = False) -> None:
    """Write write_<table> as planned (new rows; changed rows too unless existing="skip") and record in
    undo_<table> what the batch added (the whole rows as written) and what it replaced (the whole rows as they were,
    with a digest of each as the batch left it). With touched, a write of submissions or assignments adds the
    assignments whose facts it changes to the temp table facts.TOUCHED, which the caller has made."""
    spec = staged.spec
    assert spec is not None
    table, present = spec.name, staged.present
    keys = ", ".join(spec.key)
    key_match = " and ".join(f"s.{k} = w.{k}" for k in spec.key)
    others = [c for c in present if c not in spec.key]
    rows = "true" if existing == "update" else "is_new"
    con.execute(f"create or replace temp table before_{table} as select s.* from {table} s "
                f"join write_{table} w on {key_match} where not w.is_new and ({rows})")
    # A new client from a file without a label column is shown by its id; a stored label is kept.
    derived = {"label": "client_id"} if table == "clients" and "label" not in present else {}
    columns = ", ".join([*present, *derived])
    values = ", ".join([*present, *derived.values()])
    update = ", ".join(f"{c} = excluded.{c}" for c in others)
    conflict = f"do update set {update}" if update and existing == "update" else "do nothing"
    # New rows by a plain insert (no stored row has their key: a concurrent writer's is refused by the key), which
    # is cheaper than an insert with a conflict clause; the changed rows (existing="update") take the file's values.
    # New rows are stored in the order the table's spec names, whatever the file's order: submissions by time, so
    # every window of days reads only the row groups of its days (DuckDB's min/max per row group); one client's
    # queries at 1m took up to half the time against a store whose file came in random order (docs/DESIGN.md
    # "Wave 11"; a 10M import 70-72 -> 74-80 s).
    order = f" order by {spec.stored_order}" if spec.stored_order else ""
    con.execute(f"insert into {table} ({columns}) select {values} from write_{table} where is_new{order}")
    if rows == "true":
        con.execute(
            f"insert into {table} ({columns}) select {values} from write_{table} where not is_new "
            f"on conflict ({keys}) {conflict}"
        )
    all_columns = ", ".join(spec.column_names)
    now = row_digest_sql(table, "cur")
    con.execute(
        f"insert into undo_{table} (batch_id, action, row_hash, {all_columns}) "
        f"select $batch, 'update', {now}, {', '.join('b.' + c for c in spec.column_names)} "
        f"from before_{table} b join {table} cur on {' and '.join(f'cur.{k} = b.{k}' for k in spec.key)}",
        {"batch": batch_id})
    # A row the batch added is kept whole, as written (ROW_KEPT): an undo compares it value by value with the stored
    # row, which is exact and costs a copy instead of a digest of every row. When the file has every column, the
    # written row is write_<table>'s (the insert stores those values, cast alike); otherwise the stored row, which
    # holds the defaults of the columns the file lacks.
    whole = set(present) == set(spec.column_names) and not derived
    source = (f"select {all_columns} from write_{table} where is_new" if whole else
              f"select {', '.join('cur.' + c for c in spec.column_names)} from write_{table} w join {table} cur "
              f"on {' and '.join(f'cur.{k} = w.{k}' for k in spec.key)} where w.is_new")
    con.execute(f"insert into undo_{table} (batch_id, action, row_hash, {all_columns}) "
                f"select $batch, 'insert', '{ROW_KEPT}', * from ({source})", {"batch": batch_id})
    if touched and table in facts.SOURCE_TABLES:  # the assignments whose facts it changes (facts.rebuild_touched)
        con.execute(f"insert into {facts.TOUCHED} select assignment_id from write_{table} where {rows} "
                    f"union all select assignment_id from before_{table}")
    con.execute(f"drop table if exists before_{table}")
    drop_write_set(con, table)
