"""Column mappings: which canonical table a file holds, which of its columns is which field, how its words
and dates read, and how a flat export or a MindLogger report is split into the canonical tables.

A `Mapping` is plain data (JSON round trip) for one source file. `propose(raw)` recognises the table
from the headers (case, spaces and punctuation ignored, plus the synonyms below) and proposes a
mapping the analyst can change; `apply(con, mapping, raw)` turns the staged text of `sources` into
the temp tables `stage_<table>` (all text, with `_line` from the source) that the importer
validates. Saved mappings live in the store's `saved_mappings` table.

Decisions (docs/import-guide.md explains them to users):
- Invisible characters in ids and coded values (zero-width spaces, non-breaking spaces, byte-order
  marks) are removed and the report says how many and where: "C001" and "C001" followed by a
  zero-width space are one client.
- Day/month and month/day dates are read only when the mapping says which (`date_order`); ISO dates
  are always read. Nothing is guessed.
- A flat export's repeated facts must agree: a client with two therapists, or an assignment with two
  due dates, is an error naming both lines, and that client or assignment is not imported.
- MindLogger: one submission per activity submission (`id`), see MINDLOGGER_RULES below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import PurePath

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES
from analytics.ingest.sources import Problem, RawTable, printable
from analytics.store.vocabulary import (
    ASSIGNMENT_STATUSES,
    ASSIGNMENT_TYPES,
    CLIENT_STATUSES,
    COMPLETIONS,
    FALSE_WORDS,
    MEASURES,
    TRUE_WORDS,
    TYPE_SPELLINGS,
    match_key,
    normalise_type,
)

FORMAT_TAG = "homework-mapping"
FORMAT_VERSION = 1
TABLE_TARGETS = tuple(TABLES)
TARGETS = (*TABLE_TARGETS, "flat", "mindlogger")
PRESETS = ("canonical", "flat", "mindlogger")  # canonical: recognise each file's table by itself
DATE_ORDERS = {"iso": "YYYY-MM-DD only", "dmy": "day/month/year", "mdy": "month/day/year"}
SAMPLE_ROWS = 2_000  # rows looked at to propose value maps
DISTINCT_SHOWN = 30  # distinct values offered for a value map
OPEN_ENDED_DUE = "9999-12-31"  # due date of a MindLogger self-initiated "assignment": never due

# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------

# A flat export's fields: field -> (canonical table, column).
FLAT_FIELDS: dict[str, tuple[str, str]] = {
    "therapist_id": ("therapists", "therapist_id"),
    "therapist_name": ("therapists", "name"),
    "therapist_email": ("therapists", "email"),
    "client_id": ("clients", "client_id"),
    "client_label": ("clients", "label"),
    "intake_date": ("clients", "intake_date"),
    "primary_concern": ("clients", "primary_concern"),
    "goals": ("clients", "goals"),
    "preferences": ("clients", "preferences"),
    "client_status": ("clients", "status"),
    "assignment_id": ("assignments", "assignment_id"),
    "assignment_type": ("assignments", "assignment_type"),
    "title": ("assignments", "title"),
    "assigned_on": ("assignments", "assigned_on"),
    "due_on": ("assignments", "due_on"),
    "expected_count": ("assignments", "expected_count"),
    "est_minutes": ("assignments", "est_minutes"),
    "goal": ("assignments", "goal"),
    "chosen_with_client": ("assignments", "chosen_with_client"),
    "assignment_status": ("assignments", "status"),
    "submission_id": ("submissions", "submission_id"),
    "submitted_at": ("submissions", "submitted_at"),
    "completion": ("submissions", "completion"),
    "quality": ("submissions", "quality"),
    "mood_before": ("submissions", "mood_before"),
    "mood_after": ("submissions", "mood_after"),
    "minutes": ("submissions", "minutes"),
    "client_note": ("submissions", "client_note"),
    "therapist_feedback": ("submissions", "therapist_feedback"),
    "feedback_at": ("submissions", "feedback_at"),
}
# The columns of each canonical table that come from a flat row (keys and parents included).
FLAT_TABLE_FIELDS: dict[str, dict[str, str]] = {
    "therapists": {"therapist_id": "therapist_id", "name": "therapist_name", "email": "therapist_email"},
    "clients": {"client_id": "client_id", "therapist_id": "therapist_id", "label": "client_label",
                "intake_date": "intake_date", "primary_concern": "primary_concern", "goals": "goals",
                "preferences": "preferences", "status": "client_status"},
    "assignments": {"assignment_id": "assignment_id", "client_id": "client_id", "assignment_type": "assignment_type",
                    "title": "title", "assigned_on": "assigned_on", "due_on": "due_on",
                    "expected_count": "expected_count", "est_minutes": "est_minutes", "goal": "goal",
                    "chosen_with_client": "chosen_with_client", "status": "assignment_status"},
    "submissions": {"submission_id": "submission_id", "assignment_id": "assignment_id",
                    "submitted_at": "submitted_at", "completion": "completion", "quality": "quality",
                    "mood_before": "mood_before", "mood_after": "mood_after", "minutes": "minutes",
                    "client_note": "client_note", "therapist_feedback": "therapist_feedback",
                    "feedback_at": "feedback_at"},
}
# Fields that only a row of that table carries (a flat export holds those of two tables or more).
OWN_FIELDS = {
    "therapists": {"therapist_name", "therapist_email"},
    "clients": {"client_label", "intake_date", "primary_concern", "goals", "preferences", "client_status"},
    "assignments": {"assignment_type", "title", "assigned_on", "due_on", "expected_count", "est_minutes", "goal",
                    "chosen_with_client", "assignment_status"},
    "submissions": {"submitted_at", "completion", "quality", "mood_before", "mood_after", "minutes", "client_note",
                    "therapist_feedback", "feedback_at"},
}

# MindLogger report.csv fields: field -> what it is.
MINDLOGGER_FIELDS: dict[str, str] = {
    "submission_id": "the activity submission the item answers belong to (`id`)",
    "flow_submission_id": "the activity-flow submission (several activities in one flow)",
    "client_id": "the respondent's secret id: the client",
    "activity_id": "the activity",
    "activity_name": "the activity's name: the assignment's title",
    "scheduled_time": "when the activity was scheduled (epoch ms), or `not scheduled`",
    "start_time": "when the respondent started (epoch ms)",
    "end_time": "when the respondent finished (epoch ms): submitted_at",
    "timezone_offset": "the respondent's offset from UTC, minutes",
    "flag": "the answer's status: completion",
    "item": "the item (question) name",
    "item_id": "the item's id",
    "response": "the answer, e.g. `value: 3` or `value: 1 | text: ...`",
    "event_id": "the schedule event",
}
MINDLOGGER_RULES = """\
- One submission per activity submission: the item rows sharing an `id` are one submission (a report
  without `id` groups by respondent, activity and end time). `activity_flow_submission_id` groups
  several activities of one flow; each activity stays a submission of its own.
- Client: `secret_user_id` (older exports: `target_user_secret_id`, `target_secret_id`,
  `source_secret_id`, `source_subject_id`). Clients new to the store get the therapist the analyst
  picks; without one they must already be in the store.
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
    "client_id": ["secret user id", "target user secret id", "target secret id", "source secret id",
                  "source user secret id", "respondent secret id", "secret id", "source subject id"],
    "activity_id": ["activity id"],
    "activity_name": ["activity name", "activity"],
    "scheduled_time": ["activity scheduled time", "activity schedule start time", "scheduled time",
                       "schedule start time"],
    "start_time": ["activity start time", "start time"],
    "end_time": ["activity end time", "end time"],
    "timezone_offset": ["timezone offset", "utc timezone offset", "tz offset", "time zone offset"],
    "flag": ["flag", "status", "answer status"],
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
    "options", "flag", "item",
)}

# Words proposed for the value maps, by the kind of field.
COMPLETION_WORDS = {
    "completed": ["completed", "complete", "done", "yes", "y", "1", "true", "x", "✓", "✔", "finished", "did it",
                  "full", "all"],
    "partial": ["partial", "partly", "part", "half", "some", "started", "incomplete", "in progress", "0.5", "50%",
                "partially"],
    "skipped": ["skipped", "skip", "no", "n", "0", "false", "missed", "not done", "none", "didn't", "did not",
                "not completed"],
}
STATUS_WORDS = {
    "active": ["active", "open", "current", "ongoing", "in progress", "live"],
    "cancelled": ["cancelled", "canceled", "withdrawn", "dropped", "stopped", "void"],
    "paused": ["paused", "on hold", "hold", "suspended"],
    "discharged": ["discharged", "closed", "ended", "finished", "completed therapy"],
}
BOOL_WORDS = {"true": [*TRUE_WORDS, "✓", "x", "agreed"], "false": [*FALSE_WORDS, "-"]}
MINDLOGGER_FLAGS = {"completed": ["completed", "complete"],
                    "partial": ["incomplete", "in progress", "partial", "auto-submitted", "autosubmitted"]}

ID_KINDS = ("id",)
CODED_KINDS = ("id", "date", "datetime", "int", "bool", "enum", "type", "measure")
INVISIBLE = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00A0}\x{2007}\x{202F}]"
ZERO_WIDTH = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}]"
NBSP = r"[\x{00A0}\x{2007}\x{202F}]"
FORMULA_START = r"^([=@]|[+-][A-Za-z(]|[+-=@].*[|!])"
MARKUP = r"(?i)<\s*/?\s*(script|iframe|img|svg|a|style|object|embed|body|html|div|span|b|i|p)\b|javascript:|on[a-z]+\s*="


class MappingError(ValueError):
    """A mapping that cannot be used (unknown field, bad JSON); the message says what is wrong."""


# ---------------------------------------------------------------------------------------------
# The mapping
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """How to read one source file.

    target: a canonical table, "flat", "mindlogger", or "canonical" (recognise each file: a preset).
    columns: (source column as in the header, field) pairs; field "" = ignore the column.
    values: (field, ((source word, our word), ...)) pairs: value maps for coded fields.
    date_order: iso | dmy | mdy. decimal_comma: numbers written 7,5 (and 1.000 for a thousand).
    mood_item / mood_before_item / therapist_id: MindLogger only. sheet: the .xlsx sheet.
    """

    target: str = "canonical"
    columns: tuple[tuple[str, str], ...] = ()
    values: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    date_order: str = "iso"
    decimal_comma: bool = False
    mood_item: str | None = None
    mood_before_item: str | None = None
    therapist_id: str | None = None
    sheet: str | None = None

    def __post_init__(self) -> None:
        if self.target not in (*TARGETS, "canonical"):
            raise MappingError(f"unknown target {printable(str(self.target))}: use one of "
                               f"{', '.join((*TARGETS, 'canonical'))}")
        if self.date_order not in DATE_ORDERS:
            raise MappingError(f"unknown date order {printable(str(self.date_order))}: use iso, dmy or mdy")
        if self.target == "canonical":
            return
        known = vocabulary(self.target)
        for source, target_field in self.columns:
            if target_field and target_field not in known:
                raise MappingError(f"column {printable(source)} is mapped to {printable(target_field)}, which is "
                                   f"not a field of {self.target}")
        allowed = value_fields(self.target)
        for value_field, pairs in self.values:
            if value_field not in allowed:
                raise MappingError(f"{printable(value_field)} takes no value map in {self.target}")
            for word, ours in pairs:
                if ours and ours not in allowed[value_field]:
                    raise MappingError(f"{printable(word)} is mapped to {printable(ours)}, which is not one of "
                                       f"{', '.join(allowed[value_field])}")

    @property
    def column_map(self) -> dict[str, str]:
        return {source: target_field for source, target_field in self.columns}

    def value_map(self, value_field: str) -> dict[str, str]:
        return {word: ours for f, pairs in self.values if f == value_field for word, ours in pairs}

    def to_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT_TAG, "version": FORMAT_VERSION, "target": self.target,
            "columns": dict(self.columns), "values": {f: dict(pairs) for f, pairs in self.values},
            "date_order": self.date_order, "decimal_comma": self.decimal_comma, "mood_item": self.mood_item,
            "mood_before_item": self.mood_before_item, "therapist_id": self.therapist_id, "sheet": self.sheet,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: object) -> Mapping:
        if not isinstance(data, dict):
            raise MappingError("a mapping is a JSON object")
        if data.get("format", FORMAT_TAG) != FORMAT_TAG or data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise MappingError(f"not a mapping of this release (format {FORMAT_TAG}, version {FORMAT_VERSION})")
        unknown = set(data) - {"format", "version", "target", "columns", "values", "date_order", "decimal_comma",
                               "mood_item", "mood_before_item", "therapist_id", "sheet"}
        if unknown:
            raise MappingError(f"unknown key(s) in the mapping: {', '.join(sorted(printable(str(k)) for k in unknown))}")
        columns = data.get("columns") or {}
        values = data.get("values") or {}
        if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in columns.items()):
            raise MappingError("columns must map source column names to field names (text to text)")
        if not isinstance(values, dict) or not all(
                isinstance(k, str) and isinstance(v, dict) and all(isinstance(a, str) and isinstance(b, str)
                                                                   for a, b in v.items())
                for k, v in values.items()):
            raise MappingError("values must map each field to {source word: our word}")
        for key in ("mood_item", "mood_before_item", "therapist_id", "sheet"):
            if data.get(key) is not None and not isinstance(data.get(key), str):
                raise MappingError(f"{key} must be text")
        if not isinstance(data.get("decimal_comma", False), bool):
            raise MappingError("decimal_comma must be true or false")
        return cls(
            target=str(data.get("target", "canonical")),
            columns=tuple(columns.items()),
            values=tuple((f, tuple(pairs.items())) for f, pairs in values.items()),
            date_order=str(data.get("date_order", "iso")),
            decimal_comma=bool(data.get("decimal_comma", False)),
            mood_item=data.get("mood_item"), mood_before_item=data.get("mood_before_item"),
            therapist_id=data.get("therapist_id"), sheet=data.get("sheet"),
        )

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError(f"not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
        return cls.from_dict(data)

    def with_column(self, source: str, target_field: str) -> Mapping:
        pairs = [(s, f) for s, f in self.columns if s != source]
        return replace(self, columns=(*pairs, (source, target_field)))

    def with_values(self, value_field: str, pairs: dict[str, str]) -> Mapping:
        others = [(f, p) for f, p in self.values if f != value_field]
        kept = tuple((w, o) for w, o in pairs.items() if o)
        return replace(self, values=(*others, (value_field, kept)) if kept else tuple(others))


def vocabulary(target: str) -> tuple[str, ...]:
    """The fields a column of a file of this target can be mapped to."""
    if target in TABLES:
        return TABLES[target].column_names
    if target == "flat":
        return tuple(FLAT_FIELDS)
    if target == "mindlogger":
        return tuple(MINDLOGGER_FIELDS)
    raise MappingError(f"unknown target {printable(target)}")


def value_fields(target: str) -> dict[str, tuple[str, ...]]:
    """Fields that take a value map, with the words they allow."""
    if target == "mindlogger":
        return {"completion": COMPLETIONS, "assignment_type": ASSIGNMENT_TYPES}
    found: dict[str, tuple[str, ...]] = {}
    for name in vocabulary(target):
        kind, allowed = _field_column(target, name)
        if kind in ("enum", "type", "bool", "measure"):
            found[name] = {"type": ASSIGNMENT_TYPES, "bool": ("true", "false"), "measure": tuple(MEASURES)}.get(
                kind, allowed)
    return found


def _field_column(target: str, name: str) -> tuple[str, tuple[str, ...]]:
    """(kind, allowed values) of a field: the canonical column's, or text for MindLogger's own."""
    if target in TABLES:
        column = TABLES[target].column(name)
        return column.kind, column.allowed
    if target == "flat":
        table, column_name = FLAT_FIELDS[name]
        column = TABLES[table].column(column_name)
        return column.kind, column.allowed
    return ("id" if name in ("submission_id", "client_id", "activity_id") else "text"), ()


CANONICAL = Mapping("canonical")
FLAT = Mapping("flat")
MINDLOGGER = Mapping("mindlogger")
PRESET_MAPPINGS = {"canonical": CANONICAL, "flat": FLAT, "mindlogger": MINDLOGGER}


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


# ---------------------------------------------------------------------------------------------
# Recognising a file and proposing a mapping
# ---------------------------------------------------------------------------------------------


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
    if (has["assignments"] and (has["submissions"] or "therapist_id" in flat or has["clients"])) or (
            has["submissions"] and "client_id" in flat and ("therapist_id" in flat or has["clients"])):
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
        words = _proposed_words(con, raw, mapping, value_field)
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


def distinct_values(con: DuckDBPyConnection, raw: RawTable, position: int, *, limit: int = DISTINCT_SHOWN) -> list[str]:
    """The most frequent values of a source column (in the first SAMPLE_ROWS rows), most frequent first."""
    if not raw.readable or position >= len(raw.header):
        return []
    column = f"c{position}"
    rows = con.execute(
        f"select trim({column}) as v, count(*) as n from (select {column} from {raw.table} order by _line "
        f"limit {SAMPLE_ROWS}) where nullif(trim({column}), '') is not null group by 1 order by n desc, v limit ?",
        [limit],
    ).fetchall()
    return [value for value, _ in rows]


def _source_position(raw: RawTable, source: str) -> int | None:
    for position, header in enumerate(raw.header):
        if header == source:
            return position
    key = match_key(source)
    return next((p for p, h in enumerate(raw.header) if match_key(h) == key), None)


def _proposed_words(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping, value_field: str) -> dict[str, str]:
    """Value-map proposals for the words of the column mapped to value_field that we would not read as they are."""
    source_field = {"completion": "flag", "assignment_type": "activity_name"}.get(value_field, value_field) \
        if mapping.target == "mindlogger" else value_field
    source = next((s for s, f in mapping.columns if f == source_field), None)
    position = None if source is None else _source_position(raw, source)
    if position is None:
        return {}
    allowed = value_fields(mapping.target)[value_field]
    proposals: dict[str, str] = {}
    for word in distinct_values(con, raw, position):
        ours = propose_word(mapping.target, value_field, word, allowed)
        if mapping.target == "mindlogger" and value_field == "assignment_type":
            proposals[word] = ours or "other"  # every activity gets a type: the map is the only source
        elif ours is not None and ours != word.strip().lower():
            proposals[word] = ours
    return proposals


def propose_word(target: str, value_field: str, word: str, allowed: Sequence[str]) -> str | None:
    """Our word for a source word of a coded field, or None when there is no good guess."""
    key = word.strip().lower()
    if key in allowed:
        return key
    if target == "mindlogger" and value_field == "completion":
        table = MINDLOGGER_FLAGS
    elif value_field == "completion":
        table = COMPLETION_WORDS
    elif value_field == "assignment_type":
        return normalise_type(word) or _type_in_words(word)
    elif set(allowed) == {"true", "false"}:
        table = BOOL_WORDS
        if key in TRUE_WORDS or key in FALSE_WORDS:
            return None  # read as it is
    elif set(allowed) <= set(STATUS_WORDS):
        table = {k: v for k, v in STATUS_WORDS.items() if k in allowed}
    else:
        return None
    for ours, spellings in table.items():
        if key in spellings or match_key(key) in {match_key(s) for s in spellings}:
            return ours
    return None


def _type_in_words(text: str) -> str | None:
    """The type whose spelling appears as words in a longer name ("Mindfulness practice" -> mindfulness)."""
    words = f" {re.sub(r'[^a-z0-9]+', ' ', text.lower().replace('&', ' and '))} "
    spellings = sorted(((s, t) for t, ss in TYPE_SPELLINGS.items() for s in ss if t != "other"),
                       key=lambda pair: -len(pair[0]))
    for spelling, type_name in spellings:
        if f" {re.sub(r'[^a-z0-9]+', ' ', spelling)} " in words:
            return type_name
    return None


def _has_decimal_commas(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping) -> bool:
    numeric = [s for s, f in mapping.columns if f and _field_column(mapping.target, f)[0] == "int"]
    for source in numeric:
        position = _source_position(raw, source)
        if position is not None and any(re.fullmatch(r"[+-]?\d+,\d+", v) for v in distinct_values(con, raw, position)):
            return True
    return False


def _propose_mindlogger(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping) -> Mapping:
    """The mood item: the first item whose name says mood (the analyst may pick another)."""
    source = next((s for s, f in mapping.columns if f == "item"), None)
    position = None if source is None else _source_position(raw, source)
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
    position = None if source is None else _source_position(raw, source)
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


# ---------------------------------------------------------------------------------------------
# Applying a mapping: staged text -> stage_<table>
# ---------------------------------------------------------------------------------------------


@dataclass
class StagedTable:
    """One canonical table staged from a file: temp table stage_<table> and how to report on it."""

    table: str
    present: tuple[str, ...]  # canonical columns staged, in the table's order
    labels: dict[str, str]  # column -> the name to show ("Due date (due_on)" when the file calls it so)
    rows_read: int = 0
    rejected: int = 0  # refused before validation (wrong number of fields, conflicting facts)
    date_order: str = "iso"
    row_level: bool = False  # the table that holds one row per record of the file


@dataclass
class Applied:
    tables: list[StagedTable] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ok: bool = True


def tables_of(mapping: Mapping) -> tuple[str, ...]:
    """The canonical tables a mapping can produce (to refuse two files for one table early)."""
    if mapping.target in TABLES:
        return (mapping.target,)
    if mapping.target == "mindlogger":
        return ("clients", "assignments", "submissions")
    fields = {f for _, f in mapping.columns if f}
    return tuple(t for t in FLAT_TABLE_FIELDS if _flat_table_staged(t, fields))


def _flat_table_staged(table: str, fields: set[str]) -> bool:
    if table == "therapists":
        return "therapist_name" in fields
    if table == "clients":
        return "client_id" in fields and ("therapist_id" in fields or "therapist_name" in fields)
    return bool(fields & OWN_FIELDS[table])


class _Columns:
    """The resolved columns of a mapping on one file: field -> SQL of its cleaned text, plus labels."""

    def __init__(self, con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, *, strict: bool, slot: int):
        self.con, self.mapping, self.raw, self.strict, self.slot = con, mapping, raw, strict, slot
        self.position: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.joins: list[str] = []
        self.ok = True
        line = raw.header_line
        for source, target_field in mapping.columns:
            if not target_field:
                continue
            positions = [p for p, h in enumerate(raw.header) if h == source] or \
                        [p for p, h in enumerate(raw.header) if match_key(h) == match_key(source)]
            if not positions:
                self.problems.append(Problem(raw.file, line, target_field, f"the mapping's column "
                                             f"“{printable(source)}” is not in the file", "warning"))
                continue
            if len(positions) > 1:
                if self.ok or not any(p.column == printable(source) for p in self.problems):
                    self.problems.append(Problem(raw.file, line, printable(source), "column appears twice in the "
                                                 f"header (positions {positions[0] + 1} and {positions[1] + 1})"))
                self.ok = False
                continue
            if target_field in self.position:
                first = raw.header[self.position[target_field]]
                self.problems.append(Problem(raw.file, line, target_field, f"two columns are mapped to {target_field}: "
                                             f"“{printable(first)}” and “{printable(source)}”"))
                self.ok = False
                continue
            self.position[target_field] = positions[0]
            self.labels[target_field] = target_field if match_key(source) == match_key(target_field) else \
                f"{printable(source, 30)} ({target_field})"
        if not strict and self.ok:
            mapped = set(self.position.values())
            ignored = [printable(h, 30) for p, h in enumerate(raw.header) if p not in mapped and h]
            if ignored:
                shown = ", ".join(ignored[:12]) + (" …" if len(ignored) > 12 else "")
                self.problems.append(Problem(raw.file, line, "", f"{len(ignored)} column(s) not mapped to any field "
                                             f"were ignored: {shown}", "note"))
        self._register_value_maps()

    def _register_value_maps(self) -> None:
        self.value_fields = [f for f, pairs in self.mapping.values if pairs]
        self.con.execute("create temp table if not exists value_maps (slot integer, field varchar, word varchar, "
                         "ours varchar)")
        self.con.execute("delete from value_maps where slot = ?", [self.slot])
        rows = [(self.slot, f, word.strip().lower(), ours) for f, pairs in self.mapping.values
                for word, ours in pairs if ours]
        if rows:
            self.con.executemany("insert into value_maps values (?, ?, ?, ?)", rows)

    def has(self, name: str) -> bool:
        return name in self.position

    def text(self, name: str) -> str:
        """SQL for the field's text with invisible characters removed from coded values; NULL when unmapped."""
        if name not in self.position:
            return "cast(null as varchar)"
        column = f"r.c{self.position[name]}"
        kind, _ = _field_column(self.mapping.target, name)
        if kind in CODED_KINDS:
            column = f"regexp_replace(regexp_replace({column}, '{ZERO_WIDTH}', '', 'g'), '{NBSP}', ' ', 'g')"
        return column

    def value(self, name: str) -> str:
        """SQL for the field as the importer will validate it: cleaned, value-mapped, dates and numbers read."""
        if name not in self.position:
            return "cast(null as varchar)"
        kind, _ = _field_column(self.mapping.target, name)
        v = self.text(name)
        if name in self.value_fields:
            alias = f"vm_{len(self.joins)}"
            self.joins.append(f"left join value_maps {alias} on {alias}.slot = {self.slot} and {alias}.field = "
                              f"'{name}' and {alias}.word = lower(trim({v}))")
            v = f"coalesce({alias}.ours, {v})"
        if self.strict:
            return v
        if kind == "date":
            v = _date_sql(v, self.mapping.date_order)
        elif kind == "datetime":
            v = _datetime_text_sql(v, self.mapping.date_order)
        elif kind == "int":
            v = _number_sql(v, self.mapping.decimal_comma)
        return v

    def from_clause(self) -> str:
        return f"from {self.raw.table} r {' '.join(self.joins)}"

    def report_content(self) -> None:
        """Warnings for ids with invisible characters (removed), formulas and markup (kept as inert text).

        One scan of the staged file answers every check.
        """
        checks: list[tuple[str, str, str]] = []  # (label, SQL predicate, reason)
        for name, position in self.position.items():
            kind, _ = _field_column(self.mapping.target, name)
            column = f"c{position}"
            label = self.labels[name]
            if kind in CODED_KINDS:
                checks.append((label, f"regexp_matches({column}, '{INVISIBLE}')",
                               "held invisible characters (zero-width or non-breaking spaces) that were removed, "
                               "so the ids match the same ids typed without them"))
            if not self.strict and kind in ("id", "text", "note", "type"):
                checks.append((label, f"regexp_matches(trim({column}), '{FORMULA_START}')",
                               "start like a spreadsheet formula (=, +, -, @); stored as plain text, never run"))
            if not self.strict and kind in ("text", "note"):
                checks.append((label, f"regexp_matches({column}, '{MARKUP}')",
                               "hold HTML or script markup; stored and shown as plain text"))
        if not checks:
            return
        parts = ", ".join(f"count(*) filter (where {p}), min(_line) filter (where {p})" for _, p, _ in checks)
        found = self.con.execute(f"select {parts} from {self.raw.table}").fetchone()
        for n, (label, _, reason) in enumerate(checks):
            count, first = found[2 * n], found[2 * n + 1]
            if count:
                self.problems.append(Problem(self.raw.file, first, label, f"{count} value(s) {reason} "
                                             "(the first on this line)", "warning"))


def _date_sql(v: str, order: str) -> str:
    if order == "iso":
        return v
    day, month = (1, 2) if order == "dmy" else (2, 1)
    pattern = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*$"
    return (f"case when regexp_matches({v}, '{pattern}') then regexp_extract({v}, '{pattern}', 3) || '-' || "
            f"lpad(regexp_extract({v}, '{pattern}', {month}), 2, '0') || '-' || "
            f"lpad(regexp_extract({v}, '{pattern}', {day}), 2, '0') else {v} end")


def _datetime_text_sql(v: str, order: str) -> str:
    """Date-times: day/month order read as asked; a date without a time is midnight."""
    if order != "iso":
        pattern = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?\s*$"
        day, month = (1, 2) if order == "dmy" else (2, 1)
        v = (f"case when regexp_matches({v}, '{pattern}') then regexp_extract({v}, '{pattern}', 3) || '-' || "
             f"lpad(regexp_extract({v}, '{pattern}', {month}), 2, '0') || '-' || "
             f"lpad(regexp_extract({v}, '{pattern}', {day}), 2, '0') || 'T' || "
             f"lpad(coalesce(nullif(regexp_extract({v}, '{pattern}', 4), ''), '00:00'), 5, '0') else {v} end")
    return f"case when regexp_matches(trim({v}), '^\\d{{4}}-\\d{{2}}-\\d{{2}}$') then trim({v}) || 'T00:00:00' else {v} end"


def _number_sql(v: str, decimal_comma: bool) -> str:
    """Whole numbers: 7,0 or 7.0 -> 7; with decimal commas 1.440 -> 1440 (a fraction stays and is refused)."""
    if decimal_comma:
        v = (f"case when regexp_matches(trim({v}), '^[+-]?\\d{{1,3}}(\\.\\d{{3}})+(,\\d+)?$') "
             f"then replace(replace(trim({v}), '.', ''), ',', '.') "
             f"when regexp_matches(trim({v}), '^[+-]?\\d+,\\d+$') then replace(trim({v}), ',', '.') else {v} end")
    return f"regexp_replace({v}, '^\\s*([+-]?\\d+)\\.0+\\s*$', '\\1')"


def apply(
    con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, *, slot: int, strict: bool = False
) -> Applied:
    """Build stage_<table> for each canonical table the file gives (see the module docstring)."""
    columns = _Columns(con, mapping, raw, strict=strict, slot=slot)
    applied = Applied(problems=list(columns.problems))
    if not columns.ok:
        applied.ok = False
        return applied
    columns.problems.clear()
    columns.report_content()
    content = Applied()
    _hint_date_order(con, mapping, raw, columns, content)
    if mapping.target in TABLES:
        _apply_table(con, mapping, raw, columns, applied)
    elif mapping.target == "flat":
        _apply_flat(con, mapping, raw, columns, applied)
    elif mapping.target == "mindlogger":
        _apply_mindlogger(con, mapping, raw, columns, applied)
    else:
        raise MappingError("a preset must be resolved to a target before it is applied")
    con.execute(f"drop table if exists {raw.table}")  # staged now: the raw text is no longer needed
    if applied.ok:
        applied.problems.extend(columns.problems)
        applied.problems.extend(content.problems)
    for table in applied.tables:
        if table.row_level:
            table.rows_read += raw.rejected
            table.rejected += raw.rejected
    return applied


def _hint_date_order(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: _Columns,
                     applied: Applied) -> None:
    """With ISO dates chosen, a column of dates like 03/04/2026 gets a note: choose the order, nothing is guessed."""
    if mapping.date_order != "iso" or columns.strict:
        return
    for name, position in columns.position.items():
        if _field_column(mapping.target, name)[0] in ("date", "datetime"):
            count, first = con.execute(
                f"select count(*), min(_line) from {raw.table} where regexp_matches(c{position}, "
                f"'^\\s*\\d{{1,2}}[/.\\-]\\d{{1,2}}[/.\\-]\\d{{2,4}}')").fetchone()
            if count:
                applied.problems.append(Problem(
                    raw.file, first, columns.labels[name],
                    f"{count} date(s) like 03/04/2026: say whether they are day/month or month/day (the date order; "
                    "--date-order dmy or mdy on the command line); they are never guessed", "warning"))


def _required_missing(spec_name: str, present: Iterable[str], raw: RawTable, applied: Applied,
                      *, derived: Iterable[str] = ()) -> bool:
    missing = [c for c in TABLES[spec_name].required if c not in present and c not in derived]
    for column in missing:
        applied.problems.append(Problem(raw.file, raw.header_line, column,
                                        f"required column is missing from the header of {spec_name}"
                                        " (map a column of the file to it)"))
    if missing:
        applied.ok = False
    return bool(missing)


def _apply_table(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: _Columns,
                 applied: Applied) -> None:
    spec = TABLES[mapping.target]
    present = tuple(c for c in spec.column_names if columns.has(c))
    if _required_missing(spec.name, present, raw, applied):
        return
    select = ", ".join(f"{columns.value(c)} as {c}" for c in present)
    con.execute(f"create or replace temp table stage_{spec.name} as select r._line, {select} {columns.from_clause()}")
    applied.tables.append(StagedTable(spec.name, present, {c: columns.labels[c] for c in present},
                                      rows_read=raw.records, date_order=mapping.date_order, row_level=True))


# ---------------------------------------------------------------------------------------------
# Flat exports
# ---------------------------------------------------------------------------------------------


def _derived_id(prefix: str, parts: Sequence[str]) -> str:
    joined = " || '|' || ".join(f"coalesce({p}, '')" for p in parts)
    return f"'{prefix}' || left(sha256({joined}), 12)"


def _apply_flat(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: _Columns,
                applied: Applied) -> None:
    fields = set(columns.position)
    if "client_id" not in fields:
        _required_missing("clients", [], raw, applied)
        return
    flat = f"flat_{columns.slot}"
    values = {name: f"nullif(trim({columns.value(name)}), '')" for name in FLAT_FIELDS if name in fields}
    con.execute(f"create or replace temp table {flat}_text as select r._line, "
                f"{', '.join(f'{v} as {n}' for n, v in values.items())} {columns.from_clause()}")
    derived: dict[str, str] = {}
    if "therapist_id" not in fields and "therapist_name" in fields:
        derived["therapist_id"] = "'T-' || left(sha256(lower(therapist_name)), 12)"
    assignment_parts = ["client_id", "title", "assigned_on"]
    if OWN_FIELDS["assignments"] & fields or OWN_FIELDS["submissions"] & fields:
        generated = _derived_id("A-", assignment_parts)
        derived["assignment_id"] = f"coalesce(assignment_id, {generated})" if "assignment_id" in fields else generated
    if OWN_FIELDS["assignments"] & fields and "assignment_type" not in fields:
        derived["assignment_type"] = "'other'"
        applied.problems.append(Problem(raw.file, None, "assignment_type", "no assignment_type column: every "
                                        "assignment is of type other (map a column to it to say which)", "warning"))
    # (the submission id is derived from the assignment id, derived or not, in a second step)
    select = ["*"] + [f"{expr} as {name}_derived" for name, expr in derived.items()]
    con.execute(f"create or replace temp table {flat} as select {', '.join(select)} from {flat}_text")
    for name in derived:
        con.execute(f"alter table {flat} drop column if exists {name}")
        con.execute(f"alter table {flat} rename column {name}_derived to {name}")
    has_submissions = bool(OWN_FIELDS["submissions"] & fields)
    if has_submissions:
        generated = _derived_id("S-", ["assignment_id", "submitted_at"])
        expr = f"coalesce(submission_id, {generated})" if "submission_id" in fields else generated
        con.execute(f"alter table {flat} add column submission_key varchar")
        con.execute(f"update {flat} set submission_key = {expr}")
    available = fields | set(derived) | ({"submission_id"} if has_submissions else set())
    submission_rows = " or ".join(f"{f} is not null" for f in OWN_FIELDS["submissions"] if f in fields) or "false"
    for name, parts, prefix, rows in (
            ("therapist_id", "the therapist's name", "T-", "therapist_name is not null"),
            ("assignment_id", "client, title and date assigned", "A-", "true"),
            ("submission_id", "assignment and time submitted", "S-", submission_rows)):
        if name == "submission_id" and not has_submissions:
            continue
        if name != "submission_id" and name not in derived:
            continue
        if name not in fields:
            applied.problems.append(Problem(raw.file, None, name, f"no {name} column: ids were derived from {parts} "
                                            f"({prefix} and 12 hex digits); the same rows give the same ids on every "
                                            "import", "warning"))
            continue
        count, first = con.execute(f"select count(*), min(_line) from {flat}_text where {name} is null and ({rows})"
                                   ).fetchone()
        if count:
            applied.problems.append(Problem(raw.file, first, columns.labels[name], f"{count} row(s) without {name}: "
                                            f"their ids were derived from {parts} ({prefix} and 12 hex digits)",
                                            "warning"))
    row_level = "submissions" if has_submissions else "assignments" if OWN_FIELDS["assignments"] & fields else "clients"
    con.execute(f"drop table if exists {flat}_text")
    for table in ("therapists", "clients", "assignments", "submissions"):
        if not _flat_table_staged(table, available):
            continue
        _stage_entities(con, flat, table, mapping, columns, applied, raw, available, row_level=table == row_level)
    con.execute(f"drop table if exists {flat}")


def _stage_entities(
    con: DuckDBPyConnection, flat: str, table: str, mapping: Mapping, columns: _Columns, applied: Applied,
    raw: RawTable, available: set[str], *, row_level: bool,
) -> None:
    """stage_<table> with one row per id from the flat rows; conflicting facts reported and left out."""
    spec = TABLES[table]
    key_column = spec.key[0]
    source_of = {c: ("submission_key" if f == "submission_id" else f) for c, f in FLAT_TABLE_FIELDS[table].items()
                 if f in available}
    present = tuple(c for c in spec.column_names if c in source_of)
    if _required_missing(table, present, raw, applied):
        return
    key = source_of[key_column]
    row_filter = {
        "therapists": "therapist_id is not null or therapist_name is not null",
        "submissions": " or ".join(f"{f} is not null" for f in OWN_FIELDS["submissions"] if f in available),
    }.get(table, "true")
    others = [c for c in present if c != key_column]
    aggregates = ", ".join(f"arg_min({source_of[c]}, _line) filter (where {source_of[c]} is not null) as {c}"
                           for c in others)
    con.execute(
        f"create or replace temp table stage_{table} as "
        f"select min(_line) as _line, {key} as {key_column}{', ' + aggregates if aggregates else ''} "
        f"from {flat} where ({row_filter}) and {key} is not null group by {key} "
        f"union all by name select _line, cast(null as varchar) as {key_column}"
        f"{''.join(f', {source_of[c]} as {c}' for c in others)} "
        f"from {flat} where ({row_filter}) and {key} is null")
    con.execute(f"create or replace temp table stage_{table} as select _line, {', '.join(present)} "
                f"from stage_{table} order by _line")
    rejected = _report_conflicts(con, flat, table, key, source_of, others, row_filter, applied, raw, columns)
    rows = con.execute(f"select count(*) from stage_{table}").fetchone()[0]
    labels = {c: columns.labels.get(source_of[c], c) if source_of[c] in columns.labels else c for c in present}
    applied.tables.append(StagedTable(table, present, labels, rows_read=rows + rejected, rejected=rejected,
                                      date_order=mapping.date_order, row_level=row_level))


def _comparable(kind: str, sql: str) -> str:
    return f"lower({sql})" if kind in ("enum", "bool", "type", "measure") else sql


def _report_conflicts(
    con: DuckDBPyConnection, flat: str, table: str, key: str, source_of: dict[str, str], others: list[str],
    row_filter: str, applied: Applied, raw: RawTable, columns: _Columns,
) -> int:
    """Facts that differ between rows of one id: an error at the first differing line naming the first line.

    The id is removed from stage_<table>; returns how many ids were.
    """
    spec = TABLES[table]
    conflicting: set[str] = set()
    noun = {"therapists": "therapist", "clients": "client", "assignments": "assignment", "submissions": "submission"}
    for column in others:
        source = source_of[column]
        kind = spec.column(column).kind
        cmp = _comparable(kind, "f." + source)
        rows = con.execute(
            f"with firsts as (select {key} as k, arg_min({source}, _line) filter (where {source} is not null) as v0, "
            f"min(_line) filter (where {source} is not null) as l0 from {flat} where ({row_filter}) and {key} is not null "
            f"group by {key}), "
            f"differ as (select f.{key} as k, min(f._line) as l1 from {flat} f join firsts on f.{key} = firsts.k "
            f"where ({row_filter}) and f.{source} is not null and {cmp} <> {_comparable(kind, 'firsts.v0')} group by f.{key}) "
            f"select differ.k, differ.l1, firsts.l0, firsts.v0, (select {source} from {flat} where _line = differ.l1) "
            f"from differ join firsts using (k) order by differ.l1"
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
    if conflicting:
        con.execute("create or replace temp table conflicting_keys (k varchar)")
        con.executemany("insert into conflicting_keys values (?)", [(k,) for k in conflicting])
        con.execute(f"delete from stage_{table} where {spec.key[0]} in (select k from conflicting_keys)")
        con.execute("drop table conflicting_keys")
    return len(conflicting)


# ---------------------------------------------------------------------------------------------
# MindLogger
# ---------------------------------------------------------------------------------------------


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


def _apply_mindlogger(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, columns: _Columns,
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
    if new_clients[0] and mapping.therapist_id:
        con.execute(
            f"create or replace temp table stage_clients as select min(_line) as _line, client_id, "
            f"$therapist as therapist_id from {ml}_submissions where client_id is not null and "
            f"client_id not in (select client_id from clients) group by client_id order by _line",
            {"therapist": mapping.therapist_id})
        tables.append(StagedTable("clients", ("client_id", "therapist_id"),
                                  {"client_id": columns.labels["client_id"], "therapist_id": "therapist_id"},
                                  rows_read=new_clients[0]))
    elif new_clients[0]:
        applied.problems.append(Problem(raw.file, new_clients[1], columns.labels["client_id"],
                                        f"{new_clients[0]} respondent(s) are not clients in the store: choose the "
                                        "therapist for new clients (--therapist on the command line)"))
    tables.append(StagedTable("assignments", ("assignment_id", "client_id", "assignment_type", "title", "assigned_on",
                                              "due_on", "expected_count"), a_labels, rows_read=assignments))
    tables.append(submission_table)
    applied.tables.extend(tables)


def _report_group_conflicts(con: DuckDBPyConnection, ml: str, facts: list[str], applied: Applied, raw: RawTable,
                            columns: _Columns) -> int:
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


# ---------------------------------------------------------------------------------------------
# Saved mappings
# ---------------------------------------------------------------------------------------------


def save_mapping(con: DuckDBPyConnection, name: str, mapping: Mapping, *, saved_by: str = "") -> None:
    """Save (or replace) a mapping under a name (the name is the analyst's text, stored as data)."""
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise MappingError("a mapping's name is 1 to 100 characters")
    if mapping.target == "canonical":
        raise MappingError("save a mapping for one file (a table, flat or mindlogger), not the canonical preset")
    con.execute(
        "insert into saved_mappings values ($name, $target, $mapping, $at, $by) on conflict (name) do update set "
        "target = excluded.target, mapping = excluded.mapping, saved_at = excluded.saved_at, saved_by = excluded.saved_by",
        {"name": clean, "target": mapping.target, "mapping": mapping.to_json(), "at": datetime.now(UTC),
         "by": saved_by},
    )


def load_mapping(con: DuckDBPyConnection, name: str) -> Mapping:
    """The mapping saved under name; MappingError when there is none."""
    row = con.execute("select mapping from saved_mappings where name = ?", [name.strip()]).fetchone()
    if row is None:
        raise MappingError(f"no saved mapping named {printable(name)}")
    return Mapping.from_json(row[0])


def mappings(con: DuckDBPyConnection) -> pd.DataFrame:
    """Saved mappings, by name: name, target, saved_at, saved_by."""
    return con.execute("select name, target, saved_at, saved_by from saved_mappings order by name").df()


def delete_mapping(con: DuckDBPyConnection, name: str) -> None:
    con.execute("delete from saved_mappings where name = ?", [name.strip()])


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
        therapist_id=given.therapist_id or proposal.therapist_id,
        sheet=given.sheet,
    )
