"""The flat preset: an export with one row per submission (or assignment) split into the canonical
tables, its repeated facts checked to agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES
from analytics.ingest.columns import Applied, SourceColumns, StagedTable, flat_table_staged, required_missing
from analytics.ingest.mapping import FLAT_FIELDS, FLAT_TABLE_FIELDS, OWN_FIELDS, Mapping
from analytics.ingest.people import match_clients, match_therapists
from analytics.ingest.raw import Problem, RawTable, printable


def _derived_id(prefix: str, parts: Sequence[str], fields: set[str]) -> str:
    """SQL for an id derived from the parts; a part the file has no column for counts as empty (the table it
    belongs to is then refused for the missing column, so no such id is ever stored)."""
    joined = " || '|' || ".join(f"coalesce({p if p in fields else 'null'}, '')" for p in parts)
    return f"'{prefix}' || left(sha256({joined}), 12)"


def apply_flat(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: SourceColumns,
               applied: Applied) -> None:
    fields = set(columns.position)
    if "client_id" not in fields:
        required_missing("clients", [], raw, applied)
        return
    flat = f"flat_{columns.slot}"
    values = {name: f"nullif(trim({columns.value(name)}), '')" for name in FLAT_FIELDS if name in fields}
    # The rows' cleaned text is the one copy of the rows: people's ids and the derived ids are set in it by updates
    # of their columns (a second copy with the derived ids cost more than the updates), and the row-level table is
    # read from it by validate (see _stage_entities).
    con.execute(f"create or replace temp table {flat} as select r._line, "
                f"{', '.join(f'{v} as {n}' for n, v in values.items())} {columns.from_clause()}")
    con.execute(f"drop table if exists {raw.table}")  # flat_<slot> holds the rows now
    _set_missed_rows_aside(con, flat, fields, raw, columns, applied)
    if not _match_people(con, flat, fields, mapping, raw, columns, applied):
        applied.ok = False
        con.execute(f"drop table if exists {flat}")
        return
    derived = []
    if OWN_FIELDS["assignments"] & fields or OWN_FIELDS["submissions"] & fields:
        derived.append("assignment_id")
    if OWN_FIELDS["assignments"] & fields and "assignment_type" not in fields:
        derived.append("assignment_type")
        applied.problems.append(Problem(raw.file, None, "assignment_type", "no assignment_type column: every "
                                        "assignment is of type other (map a column to it to say which)", "warning"))
    has_submissions = bool(OWN_FIELDS["submissions"] & fields)
    if "assignment_id" in derived and "assignment_id" in fields:  # counted before the derived ids fill them in
        _count_derived(con, flat, "assignment_id", "true", raw, columns, applied)
    if "assignment_id" in derived:
        generated = _derived_id("A-", ["client_id", "title", "assigned_on"], fields)  # (the client's matched id)
        if "assignment_id" in fields:
            con.execute(f"update {flat} set assignment_id = {generated} where assignment_id is null")
        else:
            con.execute(f"alter table {flat} add column assignment_id varchar")
            con.execute(f"update {flat} set assignment_id = {generated}")
    if "assignment_type" in derived:
        con.execute(f"alter table {flat} add column assignment_type varchar default 'other'")
    if has_submissions:
        generated = _derived_id("S-", ["assignment_id", "submitted_at"], fields | {"assignment_id"})
        con.execute(f"alter table {flat} add column submission_key varchar")
        if "submission_id" in fields:
            con.execute(f"update {flat} set submission_key = coalesce(submission_id, {generated})")
        else:
            con.execute(f"update {flat} set submission_key = {generated}")
    available = fields | set(derived) | ({"submission_id"} if has_submissions else set())
    submission_rows = " or ".join(f"{f} is not null" for f in OWN_FIELDS["submissions"] if f in fields) or "false"
    for name, parts, prefix in (  # (a therapist's id, when derived from the name, is in the matches)
            ("assignment_id", "client, title and date assigned", "A-"),
            ("submission_id", "assignment and time submitted", "S-")):
        if name == "submission_id" and not has_submissions:
            continue
        if name != "submission_id" and name not in derived:
            continue
        if name not in fields:
            applied.problems.append(Problem(raw.file, None, name, f"no {name} column: ids were derived from {parts} "
                                            f"({prefix} and 12 hex digits); the same rows give the same ids on every "
                                            "import", "warning"))
        elif name == "submission_id":  # (flat_<slot> keeps the file's submission_id beside submission_key)
            _count_derived(con, flat, name, submission_rows, raw, columns, applied)
    row_level = "submissions" if has_submissions else "assignments" if OWN_FIELDS["assignments"] & fields else "clients"
    staged_view = False
    for table in ("therapists", "clients", "assignments", "submissions"):
        if not flat_table_staged(table, available):
            continue
        staged_view |= _stage_entities(con, flat, table, mapping, columns, applied, raw, available,
                                       row_level=table == row_level)
    if not staged_view:
        con.execute(f"drop table if exists {flat}")


def _count_derived(con: DuckDBPyConnection, table: str, name: str, rows: str, raw: RawTable, columns: SourceColumns,
                   applied: Applied) -> None:
    """A warning counting the rows without name (of those rows give one), whose ids were derived."""
    parts, prefix = {"assignment_id": ("client, title and date assigned", "A-"),
                     "submission_id": ("assignment and time submitted", "S-")}[name]
    count, first = con.execute(f"select count(*), min(_line) from {table} where {name} is null and ({rows})"
                               ).fetchone()
    if count:
        applied.problems.append(Problem(raw.file, first, columns.labels[name], f"{count} row(s) without {name}: "
                                        f"their ids were derived from {parts} ({prefix} and 12 hex digits)",
                                        "warning"))


def _match_people(con: DuckDBPyConnection, flat: str, fields: set[str], mapping: Mapping, raw: RawTable,
                  columns: SourceColumns, applied: Applied) -> bool:
    """Therapists and clients named in the export matched to the store (people.py); False when a name is a question.
    Afterwards every row carries its therapist's id (stored, or new) in therapist_id."""
    ok = True
    named = [f for f in ("therapist_name", "therapist_email", "therapist_id") if f in fields]
    if named:
        ok = match_therapists(con, flat, mapping, raw, columns.labels[named[0]], applied.matches, applied.problems)
        fields.add("therapist_id")
    label = "client_label" if "client_label" in fields else None
    return match_clients(con, flat, mapping, raw, columns.labels[label or "client_id"], applied.matches,
                         applied.problems, label_column=label) and ok


def _set_missed_rows_aside(con: DuckDBPyConnection, flat: str, fields: set[str], raw: RawTable, columns: SourceColumns,
                           applied: Applied) -> None:
    """A row saying an assignment was missed (completion skipped, no time submitted) records no submission: its
    submission fields are cleared, so the row gives the assignment only, which stays due and uncredited; counted."""
    if "completion" not in fields or "submitted_at" not in fields:
        return
    missed = "submitted_at is null and lower(completion) = 'skipped'"
    count, first = con.execute(f"select count(*), min(_line) from {flat} where {missed}").fetchone()
    if not count:
        return
    cleared = ", ".join(f"{f} = null" for f in sorted(OWN_FIELDS["submissions"] | {"submission_id"}) if f in fields)
    con.execute(f"update {flat} set {cleared} where {missed}")
    applied.problems.append(Problem(raw.file, first, columns.labels["completion"],
                                    f"{count} missed row(s) (skipped, no time submitted) are not submissions: "
                                    "the assignment stays due and uncredited", "note"))


def _stage_entities(
    con: DuckDBPyConnection, flat: str, table: str, mapping: Mapping, columns: SourceColumns, applied: Applied,
    raw: RawTable, available: set[str], *, row_level: bool,
) -> bool:
    """stage_<table> with one row per id from the flat rows; conflicting facts reported and left out.

    The row-level table (nearly every id on one row) groups only the ids on several rows, and is a view over
    flat_<slot> when there are none (validate reads it once and drops flat_<slot>: returns True). The other tables
    group every id in one pass that also tells, per column, whether its values differ (min <> max): only the ids
    that do are looked at line by line for the problems."""
    spec = TABLES[table]
    key_column = spec.key[0]
    source_of = {c: ("submission_key" if f == "submission_id" else f) for c, f in FLAT_TABLE_FIELDS[table].items()
                 if f in available}
    present = tuple(c for c in spec.column_names if c in source_of)
    if required_missing(table, present, raw, applied):
        return False
    key = source_of[key_column]
    row_filter = {  # a therapist or client matched to a stored one by email or name is used, not changed
        "therapists": "(therapist_id is not null or therapist_name is not null) and not _therapist_known",
        "clients": "not _client_known",
        "submissions": " or ".join(f"{f} is not null" for f in OWN_FIELDS["submissions"] if f in available),
    }.get(table, "true")
    others = [c for c in present if c != key_column]
    kinds = [spec.column(c).kind for c in others]
    own = "".join(f", {source_of[c]} as {c}" for c in others)
    labels = {c: columns.labels.get(source_of[c], c) if source_of[c] in columns.labels else c for c in present}
    view = False
    if row_level:
        con.execute(f"create or replace temp table flat_repeats as select {key} as k from {flat} "
                    f"where ({row_filter}) and {key} is not null group by {key} having count(*) > 1")
        repeats = con.execute("select count(*) from flat_repeats").fetchone()[0]
    else:
        differs = "".join(f", min({_comparable(kind, source_of[c])}) <> max({_comparable(kind, source_of[c])}) "
                          f"as _differs{n}" for n, (c, kind) in enumerate(zip(others, kinds, strict=True)))
        # (the first line's value; where values are compared exactly, the least is it whenever they agree, and an id
        # whose values differ is left out)
        aggregates = "".join(
            f", min({source_of[c]}) as {c}" if _comparable(kind, "v") == "v" else
            f", arg_min({source_of[c]}, _line) filter (where {source_of[c]} is not null) as {c}"
            for c, kind in zip(others, kinds, strict=True))
        con.execute(
            f"create or replace temp table stage_{table} as "
            f"select min(_line) as _line, {key} as {key_column}{aggregates}{differs} from {flat} "
            f"where ({row_filter}) and {key} is not null group by {key} "
            f"union all by name select _line, cast(null as varchar) as {key_column}{own} "
            f"from {flat} where ({row_filter}) and {key} is null")
        any_differ = " or ".join(f"_differs{n}" for n in range(len(others))) or "false"
        con.execute(f"create or replace temp table flat_repeats as select {key_column} as k from stage_{table} "
                    f"where {any_differ}")
        repeats = con.execute("select count(*) from flat_repeats").fetchone()[0]
        con.execute(f"create or replace temp table stage_{table} as select _line, {', '.join(present)} "
                    f"from stage_{table} order by _line")
    if row_level and not repeats:
        # (no id on two rows: every row is its own, read by validate straight from flat_<slot>)
        con.execute(f"create or replace temp view stage_{table} as select _line, {key} as {key_column}{own} "
                    f"from {flat} where ({row_filter})")
        view = True
    elif row_level:
        aggregates = ", ".join(f"arg_min({source_of[c]}, _line) filter (where {source_of[c]} is not null) as {c}"
                               for c in others)
        con.execute(
            f"create or replace temp table stage_{table} as "
            f"select min(_line) as _line, {key} as {key_column}{', ' + aggregates if aggregates else ''} "
            f"from {flat} where ({row_filter}) and {key} in (select k from flat_repeats) group by {key} "
            f"union all by name select _line, {key} as {key_column}{own} from {flat} "
            f"where ({row_filter}) and {key} is not null and {key} not in (select k from flat_repeats) "
            f"union all by name select _line, cast(null as varchar) as {key_column}{own} "
            f"from {flat} where ({row_filter}) and {key} is null")
        con.execute(f"create or replace temp table stage_{table} as select _line, {', '.join(present)} "
                    f"from stage_{table} order by _line")
    rejected = _report_conflicts(con, flat, table, key, source_of, others, row_filter, applied, raw, columns) \
        if repeats else 0
    con.execute("drop table flat_repeats")
    if view:
        rows = con.execute(f"select count(*) from {flat} where ({row_filter})").fetchone()[0]
    else:
        rows = con.execute(f"select count(*) from stage_{table}").fetchone()[0]
    applied.tables.append(StagedTable(table, present, labels, rows_read=rows + rejected, rejected=rejected,
                                      date_order=mapping.date_order, row_level=row_level,
                                      source=flat if view else None))
    return view


def _comparable(kind: str, sql: str) -> str:
    return f"lower({sql})" if kind in ("enum", "bool", "type", "measure") else sql


def _report_conflicts(
    con: DuckDBPyConnection, flat: str, table: str, key: str, source_of: dict[str, str], others: list[str],
    row_filter: str, applied: Applied, raw: RawTable, columns: SourceColumns,
) -> int:
    """Facts that differ between rows of one id (of those in flat_repeats: the ids on several rows, or only those
    whose values differ): an error at the first differing line naming the first line.

    The id is removed from stage_<table>; returns how many ids were.
    """
    spec = TABLES[table]
    conflicting: set[str] = set()
    noun = {"therapists": "therapist", "clients": "client", "assignments": "assignment", "submissions": "submission"}
    if not others:
        return 0
    # Every column's first value per id in one grouping, and the first line differing from it in one more.
    kinds = [spec.column(c).kind for c in others]
    firsts = ", ".join(f"arg_min({source_of[c]}, _line) filter (where {source_of[c]} is not null) as _v{n}, "
                       f"min(_line) filter (where {source_of[c]} is not null) as _l{n}" for n, c in enumerate(others))
    differs = ", ".join(
        f"min(f._line) filter (where f.{source_of[c]} is not null and {_comparable(kind, 'f.' + source_of[c])} <> "
        f"{_comparable(kind, f'firsts._v{n}')}) as _d{n}" for n, (c, kind) in enumerate(zip(others, kinds, strict=True)))
    con.execute(
        f"create or replace temp table flat_conflicts as "
        f"with firsts as (select {key} as _k, {firsts} from {flat} where ({row_filter}) "
        f"and {key} in (select k from flat_repeats) group by {key}), "
        f"differ as (select f.{key} as _k, {differs} from {flat} f join firsts on f.{key} = firsts._k "
        f"where ({row_filter}) group by f.{key}) "
        f"select * from differ join firsts using (_k) where {' or '.join(f'_d{n} is not null' for n in range(len(others)))}")
    for n, (column, kind) in enumerate(zip(others, kinds, strict=True)):
        source = source_of[column]
        rows = con.execute(
            f"select c._k, c._d{n}, c._l{n}, c._v{n}, (select {source} from {flat} where _line = c._d{n}) "
            f"from flat_conflicts c where c._d{n} is not null order by c._d{n}"
        ).fetchall()
        for k, line, first_line, first_value, value in rows:
            conflicting.add(k)
            label = columns.labels.get(source, column)
            if kind in ("text", "note"):
                detail = f"differs from line {first_line}"
            else:
                detail = f"is {printable(str(value))} here but {printable(str(first_value))} on line {first_line}"
            if len(applied.problems) < 2000:
                applied.problems.append(Problem(raw.file, line, label, f"conflicting facts: {noun[table]} "
                                                f"{printable(str(k))}: {column} {detail}"))
    con.execute("drop table flat_conflicts")
    if conflicting:
        con.execute("create or replace temp table conflicting_keys (k varchar)")
        con.executemany("insert into conflicting_keys values (?)", [(k,) for k in conflicting])
        con.execute(f"delete from stage_{table} where {spec.key[0]} in (select k from conflicting_keys)")
        con.execute("drop table conflicting_keys")
    return len(conflicting)
