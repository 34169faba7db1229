"""Recognising a file: which table or export its headers say it is (case, spaces and punctuation
ignored, plus synonyms), and the mapping proposed for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePath

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES
from analytics.ingest.mapping import MINDLOGGER_FIELDS, OWN_FIELDS, TARGETS, Mapping, field_column, value_fields, vocabulary
from analytics.ingest.raw import Problem, RawTable
from analytics.ingest.value_maps import COMPLETION_WORDS, distinct_values, proposed_words, source_position
from analytics.store.vocabulary import (
    ASSIGNMENT_STATUSES,
    CLIENT_STATUSES,
    match_key,
)

# Spellings of each field, compared after match_key (case, spaces and punctuation ignored).
# Keys are field names of the table or flat vocabulary; the field's own name is always accepted.
COMMON_SYNONYMS: dict[str, list[str]] = {
    "client_id": ["client id", "client", "client no", "client number", "client ref", "patient id", "patient",
                  "patient no", "patient number", "participant", "participant id", "subject id", "subject",
                  "service user id", "case id", "client code"],
    "therapist_id": ["therapist id", "therapist", "clinician id", "clinician", "counsellor id", "counselor id",
                     "counsellor", "counselor", "practitioner id", "provider id", "therapist code"],
    "assignment_id": ["assignment id", "homework id", "task id", "exercise id", "assignment no", "assignment ref"],
    "submission_id": ["submission id", "entry id", "response id", "log id", "record id"],
    "assignment_type": ["type", "assignment type", "homework type", "task type", "category", "kind", "modality"],
    "title": ["title", "assignment", "homework", "task", "exercise", "assignment title", "homework title",
              "task name", "assignment name", "homework name", "activity"],
    "assigned_on": ["assigned on", "assigned", "assigned date", "date assigned", "set on", "date set",
                    "start date", "assignment date", "given on"],
    "due_on": ["due on", "due", "due date", "date due", "due by", "deadline", "end date"],
    "expected_count": ["expected count", "expected", "expected times", "times", "times expected", "frequency",
                       "target count", "target", "repetitions", "expected completions"],
    "est_minutes": ["est minutes", "estimated minutes", "estimated time", "expected minutes", "duration estimate"],
    "goal": ["goal", "homework goal", "purpose"],
    "chosen_with_client": ["chosen with client", "collaborative", "agreed with client", "co chosen", "chosen together"],
    "submitted_at": ["submitted at", "submitted", "submission time", "submission date", "date submitted",
                     "timestamp", "completed at", "logged at", "reported at", "entry date", "date"],
    "completion": ["completion", "completed", "done", "outcome", "result", "completion status", "did it"],
    "quality": ["quality", "rating", "quality rating", "score"],
    "mood_before": ["mood before", "mood pre", "pre mood", "premood", "mood start", "mood at start",
                    "mood beforehand", "mood (before)", "before mood", "mood 1"],
    "mood_after": ["mood after", "mood post", "post mood", "postmood", "mood end", "mood at end",
                   "mood afterwards", "mood (after)", "after mood", "mood 2"],
    "minutes": ["minutes", "minutes spent", "time spent", "duration", "duration minutes", "mins", "time taken"],
    "client_note": ["client note", "note", "notes", "comment", "comments", "client comment", "reflection",
                    "client notes"],
    "therapist_feedback": ["therapist feedback", "feedback", "therapist comment", "clinician feedback"],
    "feedback_at": ["feedback at", "feedback date", "feedback given", "feedback time", "date of feedback"],
    "intake_date": ["intake date", "intake", "start of therapy", "referral date", "first session", "date of intake"],
    "primary_concern": ["primary concern", "presenting problem", "presenting concern", "concern", "problem",
                        "diagnosis"],
    "goals": ["goals", "client goals", "therapy goals"],
    "preferences": ["preferences", "preference", "tags"],
    "measure": ["measure", "questionnaire", "instrument", "scale"],
    "score": ["score", "total", "total score", "result"],
    "administered_on": ["administered on", "administered", "date administered", "completed on", "date", "taken on"],
}


# Spellings that depend on the table (a plain "name" or "status" means different things).
TABLE_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "therapists": {"name": ["name", "therapist name", "full name", "clinician name", "therapist"],
                   "email": ["email", "e-mail", "email address", "mail"]},
    "clients": {"label": ["label", "client name", "name", "pseudonym", "display name", "client label", "nickname"],
                "status": ["status", "client status", "state"]},
    "assignments": {"status": ["status", "assignment status", "homework status", "state"]},
    "flat": {"therapist_name": ["therapist name", "clinician name", "counsellor name", "counselor name"],
             "therapist_email": ["therapist email", "clinician email"],
             "client_label": ["client name", "patient name", "client label", "pseudonym", "participant name"],
             "client_status": ["client status", "patient status"],
             "assignment_status": ["assignment status", "homework status", "task status"]},
}


MINDLOGGER_SYNONYMS: dict[str, list[str]] = {
    "submission_id": ["id", "activity submission id", "answer id", "activity_submission_id"],
    "flow_submission_id": ["activity flow submission id"],
    "client_id": ["target secret id", "secret user id", "target user secret id", "source secret id",
                  "source user secret id", "respondent secret id", "secret id", "source subject id"],
    "activity_id": ["activity id"],
    "activity_name": ["activity name", "activity"],
    "scheduled_time": ["activity scheduled time", "activity schedule start time", "scheduled time",
                       "schedule start time"],
    "start_time": ["activity start time", "start time"],
    "end_time": ["activity end time", "end time"],
    "timezone_offset": ["timezone offset", "utc timezone offset", "tz offset", "time zone offset"],
    "flag": ["flag", "item response status", "status", "answer status"],
    "item": ["item", "item name"],
    "item_id": ["item id"],
    "response": ["response", "item response", "answer"],
    "event_id": ["event id", "activity schedule id", "schedule id"],
}


# Headers that only a MindLogger report has (to recognise one).
MINDLOGGER_MARKS = {match_key(m) for m in (
    "activity_flow_submission_id", "activity_scheduled_time", "activity_start_time", "activity_end_time",
    "secret_user_id", "activity_id", "activity_name", "activity_flow_id", "activity_flow_name", "item_id",
    "response", "rawScore", "reviewing_id", "event_id", "timezone_offset", "source_subject_id",
    "target_user_secret_id", "source_user_secret_id", "utc_timezone_offset", "activity_submission_id", "prompt",
    "options", "flag", "item", "target_secret_id", "activity_schedule_start_time", "item_name", "item_response",
    "item_response_status", "item_prompt", "item_response_options",
)}


def _synonyms(target: str) -> dict[str, str]:
    """match_key(spelling) -> field, for every accepted spelling of the target's fields."""
    if target == "mindlogger":
        found = {match_key(f): f for f in MINDLOGGER_FIELDS}
        for name, spellings in MINDLOGGER_SYNONYMS.items():
            for spelling in spellings:
                found.setdefault(match_key(spelling), name)
        return found
    names = vocabulary(target)
    found = {match_key(f): f for f in names}
    for name, spellings in TABLE_SYNONYMS.get(target, {}).items():
        for spelling in spellings:
            found.setdefault(match_key(spelling), name)
    for name, spellings in COMMON_SYNONYMS.items():
        if name in names:
            for spelling in spellings:
                found.setdefault(match_key(spelling), name)
    return found


def known_header_names() -> frozenset[str]:
    """match_keys of every field name and synonym of every target: what a header row is made of."""
    keys: set[str] = set(MINDLOGGER_MARKS)
    for target in TARGETS:
        keys.update(_synonyms(target))
    return frozenset(keys)


_KNOWN = known_header_names()


def header_score(cells: Sequence[str]) -> int:
    """How many cells of a row are known column names (finds the header row below a preamble)."""
    return len({match_key(c) for c in cells if c and match_key(c) in _KNOWN})


def recognise(raw: RawTable) -> str | None:
    """The target a file looks like: by its name (clients.csv), then by its headers; None if unclear."""
    stem = match_key(PurePath(raw.name.replace("\\", "/")).stem)
    if stem in TABLES:
        return stem
    keys = [match_key(h) for h in raw.header]
    if sum(1 for k in keys if k in MINDLOGGER_MARKS) >= 4:
        return "mindlogger"
    flat = {field for k in keys if (field := _synonyms("flat").get(k))}
    has = {table: bool(flat & own) for table, own in OWN_FIELDS.items()}
    therapist = "therapist_id" in flat or has["therapists"]
    if (has["assignments"] and (has["submissions"] or therapist or has["clients"])) or (
            has["submissions"] and "client_id" in flat and (therapist or has["clients"])):
        return "flat"
    fits = []
    for table, spec in TABLES.items():
        fields = {field for k in keys if (field := _synonyms(table).get(k))}
        if set(spec.required) <= fields:
            fits.append((len(fields), table))
    if not fits:
        return None
    fits.sort(reverse=True)
    if len(fits) > 1 and fits[0][0] == fits[1][0]:
        return None
    return fits[0][1]


def propose(con: DuckDBPyConnection, raw: RawTable, *, target: str | None = None) -> Mapping:
    """A mapping for the staged file: its target (recognised unless given), each column's field by
    name and synonym, value maps for the words found in coded columns, ISO dates, no decimal comma
    unless the file is semicolon- or tab-separated and its numbers have decimal commas."""
    target = target or recognise(raw)
    if target is None:
        return Mapping("canonical")
    synonyms = _synonyms(target)
    found: list[str] = []
    taken: set[str] = set()
    for position, header in enumerate(raw.header):
        name = synonyms.get(match_key(header), "")
        if target == "flat" and match_key(header) == "status":
            name = _flat_status_field(con, raw, position, taken)
        taken.add(name)
        found.append(name)
    # Two columns for one field: the column named as the field wins, then the synonym listed first
    # (MindLogger's secret_user_id before target_user_secret_id); two of the same rank stay mapped, and
    # applying the mapping refuses them until the analyst picks one.
    for name in {n for n in found if n and found.count(n) > 1}:
        ranks = {p: _synonym_rank(target, name, h) for p, h in enumerate(raw.header) if found[p] == name}
        best = min(ranks.values())
        if list(ranks.values()).count(best) == 1:
            found = [n if n != name or ranks[p] == best else "" for p, n in enumerate(found)]
    mapping = Mapping(target, columns=tuple(zip(raw.header, found, strict=True)))
    if target == "mindlogger":
        mapping = _propose_mindlogger(con, raw, mapping)
    if raw.delimiter in (";", "\t"):
        mapping = replace(mapping, decimal_comma=_has_decimal_commas(con, raw, mapping))
    for value_field in value_fields(target):
        words = proposed_words(con, raw, mapping, value_field)
        if words:
            mapping = mapping.with_values(value_field, words)
    return mapping


def _synonym_rank(target: str, name: str, header: str) -> int:
    """0 for a header that is the field's own name, then 1, 2, ... in the order its synonyms are listed."""
    key = match_key(header)
    if key == match_key(name):
        return 0
    if target == "mindlogger":
        spellings = MINDLOGGER_SYNONYMS.get(name, [])
    else:
        spellings = [*TABLE_SYNONYMS.get(target, {}).get(name, []), *COMMON_SYNONYMS.get(name, [])]
    return next((n + 1 for n, s in enumerate(spellings) if match_key(s) == key), len(spellings) + 1)


def _flat_status_field(con: DuckDBPyConnection, raw: RawTable, position: int, taken: set[str]) -> str:
    """A plain "status" column of a flat export: completion, assignment or client status, by its words."""
    words = {str(w).strip().lower() for w in distinct_values(con, raw, position)} - {""}
    completion = {w for ws in COMPLETION_WORDS.values() for w in ws}
    if words and words <= completion and "completion" not in taken:
        return "completion"
    if words and words <= {*ASSIGNMENT_STATUSES, "canceled"}:
        return "assignment_status"
    if words and words <= set(CLIENT_STATUSES):
        return "client_status"
    return "assignment_status" if "assignment_status" not in taken else ""


def _has_decimal_commas(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping) -> bool:
    numeric = [s for s, f in mapping.columns if f and field_column(mapping.target, f)[0] == "int"]
    for source in numeric:
        position = source_position(raw, source)
        if position is not None and any(re.fullmatch(r"[+-]?\d+,\d+", v) for v in distinct_values(con, raw, position)):
            return True
    return False


def _propose_mindlogger(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping) -> Mapping:
    """The mood item: the first item whose name says mood (the analyst may pick another)."""
    source = next((s for s, f in mapping.columns if f == "item"), None)
    position = None if source is None else source_position(raw, source)
    items = [] if position is None else distinct_values(con, raw, position, limit=200)
    mood = next((i for i in items if "mood" in i.lower() and not re.search(r"before|pre", i, re.I)), None)
    mood = mood or next((i for i in items if "mood" in i.lower()), None)
    before = next((i for i in items if "mood" in i.lower() and re.search(r"before|pre", i, re.I) and i != mood), None)
    therapist = con.execute("select min(therapist_id), count(*) from therapists").fetchone()
    return replace(mapping, mood_item=mood, mood_before_item=before,
                   therapist_id=therapist[0] if therapist[1] == 1 else None)


def mindlogger_items(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping) -> list[str]:
    """The item names of a MindLogger report (to choose the mood item from)."""
    source = next((s for s, f in mapping.columns if f == "item"), None)
    position = None if source is None else source_position(raw, source)
    return [] if position is None else distinct_values(con, raw, position, limit=500)


def strict_mapping(raw: RawTable) -> tuple[Mapping | None, list[Problem]]:
    """The canonical format exactly: headers are the column names (case, spaces as underscores).

    The table comes from the file name (clients.csv) or is the one whose required columns the
    header has. Problems as the canonical format always reported them.
    """
    header = [h.strip().lower().replace(" ", "_") for h in raw.header]
    table = _guess_table_strictly(raw.name, header)
    problems: list[Problem] = []
    line = raw.header_line
    if table is None:
        problems.append(Problem(raw.file, line, "", "cannot tell which table this is: name the file after it "
                                "(therapists.csv, clients.csv, assignments.csv, submissions.csv, measures.csv)"))
        return None, problems
    spec = TABLES[table]
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if column in seen:
            problems.append(Problem(raw.file, line, column, f"column appears twice in the header (position {position})"))
        seen.add(column)
    missing = [c for c in spec.required if c not in seen]
    for column in missing:
        problems.append(Problem(raw.file, line, column, f"required column is missing from the header of {table}"))
    if missing or len(seen) < len(header):
        return None, problems
    for column in header:
        if column not in spec.column_names:
            problems.append(Problem(raw.file, line, column, "not a column of the canonical format; ignored", "warning"))
    columns = tuple((source, h if h in spec.column_names else "") for source, h in zip(raw.header, header, strict=True))
    return Mapping(table, columns=columns), problems


def _guess_table_strictly(file_name: str, header: Sequence[str]) -> str | None:
    stem = PurePath(file_name.replace("\\", "/")).stem.strip().lower()
    if stem in TABLES:
        return stem
    columns = set(header)
    fits = [t for t in TABLES.values() if set(t.required) <= columns]
    if len(fits) == 1:
        return fits[0].name
    best = max(fits, key=lambda t: len(columns & set(t.column_names)), default=None)
    ties = [t for t in fits if best and len(columns & set(t.column_names)) == len(columns & set(best.column_names))]
    return best.name if best and len(ties) == 1 else None


def resolve(con: DuckDBPyConnection, given: Mapping, raw: RawTable) -> Mapping:
    """The mapping to apply to this file. One with columns is used as it is; a preset (no columns)
    becomes the proposal for the file, carrying the preset's options (date order, decimal comma,
    value maps, MindLogger choices). The canonical preset recognises one of the five tables;
    target "canonical" comes back when it cannot."""
    if given.target != "canonical" and given.columns:
        return given
    if given.target == "canonical":
        found = recognise(raw)
        if found not in TABLES:
            return Mapping("canonical")
        proposal = propose(con, raw, target=found)
    else:
        proposal = propose(con, raw, target=given.target)
    values = {f: dict(pairs) for f, pairs in proposal.values}
    for value_field, pairs in given.values:
        if value_field in value_fields(proposal.target):
            values.setdefault(value_field, {}).update(pairs)
    return replace(
        proposal,
        values=tuple((f, tuple(p.items())) for f, p in values.items() if p),
        date_order=given.date_order,
        decimal_comma=given.decimal_comma or proposal.decimal_comma,
        mood_item=given.mood_item or proposal.mood_item,
        mood_before_item=given.mood_before_item or proposal.mood_before_item,
        therapist_id=given.therapist_id or (None if given.new_therapist_name else proposal.therapist_id),
        sheet=given.sheet,
        new_therapist_name=given.new_therapist_name,
        matches=given.matches,
    )
