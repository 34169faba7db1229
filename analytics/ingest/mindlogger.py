"""The MindLogger / Curious preset: a report.csv with one row per item response, grouped into one
submission per activity submission.
"""

from __future__ import annotations

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES
from analytics.ingest.columns import Applied, SourceColumns, StagedTable
from analytics.ingest.mapping import MINDLOGGER_FIELDS, OPEN_ENDED_DUE, Mapping
from analytics.ingest.people import match_clients, therapist_for_new_clients
from analytics.ingest.raw import Problem, RawTable, printable

MINDLOGGER_RULES = """\
- One submission per activity submission: the item rows sharing an `id` are one submission (a report
  without `id` groups by respondent, activity and end time). `activity_flow_submission_id` groups
  several activities of one flow; each activity stays a submission of its own.
- Client: `target_secret_id` (the newer responses layout), else `secret_user_id` (older exports:
  `target_user_secret_id`, `source_secret_id`, `source_subject_id`). A respondent is matched to a
  stored client by id, then by name (the client's label, case and spacing ignored; one that fits
  several is a question). Clients new to the store get the therapist the analyst picks, or a new one
  by name (matched to a stored therapist of that name first); without one they must already be in
  the store.
- submitted_at: `activity_end_time`, epoch milliseconds (an instant); `timezone_offset` (minutes
  east of UTC, e.g. 60 for Central European winter time) only sets the offset it is written with.
- Scheduled entries: one assignment per client, activity and scheduled time, due (and assigned) on
  the calendar date of `activity_scheduled_time` in the practice's time zone, expected once.
- Self-initiated entries (`activity_scheduled_time` = `not scheduled`): extra practice. They go to one
  open-ended assignment per client and activity, titled "<activity> (self-initiated)", assigned on
  the first such entry's date and due 9999-12-31. It is active, so its submissions count in
  submission counts, mood, mood lift and feedback, but it is never due, so it is never in the
  adherence denominator.
- completion: from `flag` through the value map (completed -> completed; other flags must be mapped;
  no flag column: completed).
- Mood: the `response` value of the item the analyst picks (`value: 7` -> 7) is mood_after; a second
  item may give mood_before.
- Assignment type: from the activity name through the value map (a name like "Mindfulness" is
  recognised); other activities are "other".
"""


def _epoch_iso_sql(epoch: str, offset_minutes: str) -> str:
    """SQL: epoch milliseconds (text, fractions allowed) as ISO 8601 local time at the offset; else the text."""
    ms = f"try_cast({epoch} as double)"
    minutes = f"try_cast({offset_minutes} as integer)"
    off = f"(case when {minutes} between -840 and 840 then {minutes} else 0 end)"
    sign = f"(case when {off} < 0 then '-' else '+' end)"
    suffix = f"{sign} || lpad((abs({off}) // 60)::varchar, 2, '0') || ':' || lpad((abs({off}) % 60)::varchar, 2, '0')"
    return (f"case when isfinite({ms}) and {ms} between -62135596800000 and 253402300799000 then "
            f"strftime(epoch_ms(cast(round({ms}) as bigint)) + to_minutes({off}), '%Y-%m-%dT%H:%M:%S.%g') || {suffix} "
            f"else {epoch} end")


def _local_date_sql(epoch: str) -> str:
    ms = f"try_cast({epoch} as double)"
    return (f"case when isfinite({ms}) and {ms} between 0 and 253402300799000 then strftime(cast(timezone("
            f"(select timezone from practice_settings), to_timestamp({ms} / 1000)) as date), '%Y-%m-%d') "
            f"else {epoch} end")


def apply_mindlogger(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: SourceColumns,
                      applied: Applied) -> None:
    missing = [f for f in ("client_id", "end_time") if not columns.has(f)]
    if not columns.has("activity_id") and not columns.has("activity_name"):
        missing.append("activity_id")
    for name in missing:
        applied.problems.append(Problem(raw.file, raw.header_line, name, "required column is missing from the header "
                                        f"of the MindLogger report ({MINDLOGGER_FIELDS[name]})"))
    if missing:
        applied.ok = False
        return
    ml = f"ml_{columns.slot}"
    texts = {name: f"nullif(trim({columns.value(name)}), '')" for name in MINDLOGGER_FIELDS}
    con.execute(f"create or replace temp table {ml} as select r._line, "
                f"{', '.join(f'{v} as {n}' for n, v in texts.items())} {columns.from_clause()}")
    con.execute(f"update {ml} set activity_id = coalesce(activity_id, activity_name), "
                f"activity_name = coalesce(activity_name, activity_id)")
    if not match_clients(con, ml, mapping, raw, columns.labels["client_id"], applied.matches, applied.problems,
                         label_column=None):
        applied.ok = False
        return
    if not columns.has("submission_id"):
        applied.problems.append(Problem(raw.file, None, "submission_id", "no id column: item rows were grouped into "
                                        "submissions by respondent, activity and end time", "warning"))
    con.execute(f"update {ml} set submission_id = coalesce(submission_id, 'ML-' || left(sha256(coalesce(client_id, '') "
                f"|| '|' || coalesce(activity_id, '') || '|' || coalesce(end_time, '')), 12))")

    value = "trim(coalesce(nullif(regexp_extract(response, '^\\s*value:\\s*([^|]*)', 1), ''), response))"
    params: dict[str, object] = {}
    moods = {}
    for column, item in (("mood_after", mapping.mood_item), ("mood_before", mapping.mood_before_item)):
        if item:
            params[column] = item
            moods[column] = (f"arg_min({value}, _line) filter (where lower(trim(item)) = lower(trim(${column})) "
                             f"or lower(trim(item_id)) = lower(trim(${column})))")
        else:
            moods[column] = "cast(null as varchar)"
    mood_after, mood_before = moods["mood_after"], moods["mood_before"]
    facts = ["client_id", "activity_id", "activity_name", "scheduled_time", "end_time", "timezone_offset", "flag"]
    grouped = ", ".join(f"arg_min({f}, _line) filter (where {f} is not null) as {f}" for f in facts)
    con.execute(
        f"create or replace temp table {ml}_submissions as select min(_line) as _line, submission_id, {grouped}, "
        f"{mood_after} as mood_after, {mood_before} as mood_before from {ml} group by submission_id", params)
    rejected = _report_group_conflicts(con, ml, facts, applied, raw, columns)
    con.execute(f"alter table {ml}_submissions add column self_initiated boolean")
    con.execute(f"update {ml}_submissions set self_initiated = scheduled_time is null or "
                f"lower(scheduled_time) in ('not scheduled', 'notscheduled', 'unscheduled')")
    con.execute(f"alter table {ml}_submissions add column assignment_id varchar")
    con.execute(f"update {ml}_submissions set assignment_id = 'ML-' || left(sha256(coalesce(client_id, '') || '|' || "
                f"activity_id || '|' || case when self_initiated then 'self-initiated' else scheduled_time end), 12)")
    completion = "coalesce(flag, 'completed')"
    if mapping.value_map("completion"):
        completion = (f"coalesce((select ours from value_maps where slot = {columns.slot} and field = 'completion' "
                      f"and word = lower(trim(flag))), {completion})")
    con.execute(
        f"create or replace temp table stage_submissions as select _line, submission_id, assignment_id, "
        f"{_epoch_iso_sql('end_time', 'timezone_offset')} as submitted_at, {completion} as completion, "
        f"mood_before, mood_after from {ml}_submissions order by _line")
    labels = {"submission_id": columns.labels.get("submission_id", "submission_id"),
              "submitted_at": f"{columns.labels['end_time'].split(' (')[0]} (submitted_at)",
              "completion": f"{columns.labels.get('flag', 'flag').split(' (')[0]} (completion)",
              "mood_after": f"{printable(mapping.mood_item or 'mood item', 30)} (mood_after)",
              "mood_before": f"{printable(mapping.mood_before_item or 'mood item', 30)} (mood_before)",
              "assignment_id": "assignment_id"}
    count = con.execute("select count(*) from stage_submissions").fetchone()[0]
    submission_table = StagedTable("submissions", ("submission_id", "assignment_id", "submitted_at", "completion",
                                                   "mood_before", "mood_after"), labels,
                                   rows_read=count + rejected, rejected=rejected, row_level=True)
    type_word = "lower(trim(activity_name))"
    activity_type = (f"coalesce((select ours from value_maps where slot = {columns.slot} and field = 'assignment_type' "
                     f"and word = {type_word}), 'other')")
    con.execute(
        f"create or replace temp table stage_assignments as select min(_line) as _line, assignment_id, "
        f"arg_min(client_id, _line) as client_id, arg_min({activity_type}, _line) as assignment_type, "
        f"arg_min(case when self_initiated then activity_name || ' (self-initiated)' else activity_name end, _line) "
        f"as title, case when bool_and(self_initiated) then min({_local_date_sql('end_time')}) "
        f"else arg_min({_local_date_sql('scheduled_time')}, _line) end as assigned_on, "
        f"case when bool_and(self_initiated) then '{OPEN_ENDED_DUE}' "
        f"else arg_min({_local_date_sql('scheduled_time')}, _line) end as due_on, '1' as expected_count "
        f"from {ml}_submissions group by assignment_id order by _line")
    assignments = con.execute("select count(*) from stage_assignments").fetchone()[0]
    self_initiated = con.execute(f"select count(*) from {ml}_submissions where self_initiated").fetchone()[0]
    if self_initiated:
        applied.problems.append(Problem(raw.file, None, "activity_scheduled_time", f"{self_initiated} self-initiated "
                                        "submission(s) (not scheduled) go to open-ended “(self-initiated)” "
                                        "assignments: extra practice, never in the adherence denominator", "note"))
    a_labels = {c: c for c in TABLES["assignments"].column_names}
    a_labels.update({"title": f"{columns.labels.get('activity_name', 'activity_name').split(' (')[0]} (title)",
                     "due_on": "activity_scheduled_time (due_on)", "assigned_on": "activity_scheduled_time (assigned_on)"})
    tables = []
    new_clients = con.execute(
        f"select count(distinct client_id), min(_line) from {ml}_submissions "
        f"where client_id is not null and client_id not in (select client_id from clients)").fetchone()
    asked = len(applied.problems)
    therapist, add_therapist = (therapist_for_new_clients(con, mapping, raw, applied.matches, applied.problems)
                                if new_clients[0] else (None, False))
    if add_therapist:
        con.execute(f"create or replace temp table stage_therapists as select min(_line) as _line, "
                    f"$id as therapist_id, $name as name from {ml}_submissions",
                    {"id": therapist, "name": mapping.new_therapist_name.strip()})
        tables.append(StagedTable("therapists", ("therapist_id", "name"),
                                  {"therapist_id": "therapist_id", "name": "new therapist (name)"}, rows_read=1))
    if new_clients[0] and therapist:
        con.execute(
            f"create or replace temp table stage_clients as select min(_line) as _line, client_id, "
            f"$therapist as therapist_id from {ml}_submissions where client_id is not null and "
            f"client_id not in (select client_id from clients) group by client_id order by _line",
            {"therapist": therapist})
        tables.append(StagedTable("clients", ("client_id", "therapist_id"),
                                  {"client_id": columns.labels["client_id"], "therapist_id": "therapist_id"},
                                  rows_read=new_clients[0]))
    elif new_clients[0] and len(applied.problems) == asked:
        applied.problems.append(Problem(raw.file, new_clients[1], columns.labels["client_id"],
                                        f"{new_clients[0]} respondent(s) are not clients in the store: choose the "
                                        "therapist for new clients, or name a new one (--therapist ID or "
                                        "--new-therapist-name NAME on the command line)"))
    tables.append(StagedTable("assignments", ("assignment_id", "client_id", "assignment_type", "title", "assigned_on",
                                              "due_on", "expected_count"), a_labels, rows_read=assignments))
    tables.append(submission_table)
    applied.tables.extend(tables)


def _report_group_conflicts(con: DuckDBPyConnection, ml: str, facts: list[str], applied: Applied, raw: RawTable,
                            columns: SourceColumns) -> int:
    """Item rows of one submission that disagree on its facts: an error naming both lines; the submission is left out."""
    conflicting: set[str] = set()
    for fact in facts:
        rows = con.execute(
            f"select m.submission_id, min(m._line), any_value(s._line), any_value(s.{fact}), "
            f"arg_min(m.{fact}, m._line) from {ml} m join {ml}_submissions s using (submission_id) "
            f"where m.{fact} is not null and m.{fact} <> s.{fact} group by 1 order by 2").fetchall()
        for key, line, first_line, first_value, value in rows:
            conflicting.add(key)
            label = columns.labels.get(fact, fact)
            applied.problems.append(Problem(raw.file, line, label, f"conflicting facts: submission {printable(str(key))}: "
                                            f"{fact} is {printable(str(value))} here but {printable(str(first_value))} "
                                            f"on line {first_line}"))
    if conflicting:
        con.execute("create or replace temp table conflicting_keys (k varchar)")
        con.executemany("insert into conflicting_keys values (?)", [(k,) for k in conflicting])
        con.execute(f"delete from {ml}_submissions where submission_id in (select k from conflicting_keys)")
        con.execute("drop table conflicting_keys")
    return len(conflicting)
