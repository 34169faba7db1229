"""Column mappings as data: which canonical table a file holds, which of its columns is which field,
how its words and dates read. A `Mapping` is plain data (JSON round trip) for one source file.

The stages around it: `recognition` proposes a mapping from a file's headers, `value_maps` its words,
`staging` applies it (with the presets `flat` and `mindlogger`), `saved_mappings` keeps named ones.

Decisions (data/README.md explains them to users):
- Invisible characters in ids and coded values (zero-width spaces, non-breaking spaces, byte-order
  marks) are removed and the report says how many and where: "C001" and "C001" followed by a
  zero-width space are one client.
- Day/month and month/day dates are read only when the mapping says which (`date_order`); ISO dates
  are always read. Nothing is guessed.
- A flat export's repeated facts must agree: a client with two therapists, or an assignment with two
  due dates, is an error naming both lines, and that client or assignment is not imported.
- MindLogger: one submission per activity submission (`id`), see `mindlogger.MINDLOGGER_RULES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from analytics.ingest.canonical import TABLES
from analytics.ingest.raw import printable
from analytics.store.vocabulary import (
    ASSIGNMENT_TYPES,
    COMPLETIONS,
    MEASURES,
)

FORMAT_TAG = "homework-mapping"


FORMAT_VERSION = 1


TABLE_TARGETS = tuple(TABLES)


TARGETS = (*TABLE_TARGETS, "flat", "mindlogger")


PRESETS = ("canonical", "flat", "mindlogger")  # canonical: recognise each file's table by itself


DATE_ORDERS = {"iso": "YYYY-MM-DD only", "dmy": "day/month/year", "mdy": "month/day/year"}


OPEN_ENDED_DUE = "9999-12-31"  # due date of a MindLogger self-initiated "assignment": never due


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


class MappingError(ValueError):
    """A mapping that cannot be used (unknown field, bad JSON); the message says what is wrong."""


@dataclass(frozen=True)
class Mapping:
    """How to read one source file.

    target: a canonical table, "flat", "mindlogger", or "canonical" (recognise each file: a preset).
    columns: (source column as in the header, field) pairs; field "" = ignore the column.
    values: (field, ((source word, our word), ...)) pairs: value maps for coded fields.
    date_order: iso | dmy | mdy. decimal_comma: numbers written 7,5 (and 1.000 for a thousand).
    mood_item / mood_before_item / therapist_id: MindLogger only. sheet: the .xlsx sheet.
    new_therapist_name: MindLogger only: respondents new to the store get this therapist (matched to a stored
    one by name, else added). matches: (kind, ((as written, id), ...)) pairs: the analyst's answers to the
    questions an export's names raise ("therapist", "Sam Lee" -> "T2"; people.NEW adds a new one).
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
    new_therapist_name: str | None = None
    matches: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

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
            "new_therapist_name": self.new_therapist_name, "matches": {k: dict(pairs) for k, pairs in self.matches},
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
                               "mood_item", "mood_before_item", "therapist_id", "sheet", "new_therapist_name",
                               "matches"}
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
        matches = data.get("matches") or {}
        if not isinstance(matches, dict) or not all(
                k in ("therapist", "client") and isinstance(v, dict) and all(isinstance(a, str) and isinstance(b, str)
                                                                             for a, b in v.items())
                for k, v in matches.items()):
            raise MappingError("matches must map therapist or client to {name as written: id}")
        for key in ("mood_item", "mood_before_item", "therapist_id", "sheet", "new_therapist_name"):
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
            new_therapist_name=data.get("new_therapist_name"),
            matches=tuple((k, tuple(pairs.items())) for k, pairs in matches.items()),
        )

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        if len(text) > MAX_MAPPING_CHARS:
            raise MappingError(f"too large for a mapping ({len(text):,} characters; at most {MAX_MAPPING_CHARS:,})")
        try:
            data = json.loads(text, parse_int=_bounded_number, parse_float=_bounded_number, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise MappingError(f"not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
        except RecursionError as exc:
            raise MappingError(f"nested too deeply (a mapping has at most {MAX_MAPPING_DEPTH} levels)") from exc
        if _depth(data) > MAX_MAPPING_DEPTH:
            raise MappingError(f"nested too deeply (a mapping has at most {MAX_MAPPING_DEPTH} levels)")
        return cls.from_dict(data)

    def with_column(self, source: str, target_field: str) -> Mapping:
        pairs = [(s, f) for s, f in self.columns if s != source]
        return replace(self, columns=(*pairs, (source, target_field)))

    def answers(self, kind: str) -> dict[str, str]:
        """The analyst's answers for names of this kind (therapist or client): name as written -> id."""
        return {name: chosen for k, pairs in self.matches if k == kind for name, chosen in pairs}

    def with_values(self, value_field: str, pairs: dict[str, str]) -> Mapping:
        others = [(f, p) for f, p in self.values if f != value_field]
        kept = tuple((w, o) for w, o in pairs.items() if o)
        return replace(self, values=(*others, (value_field, kept)) if kept else tuple(others))


# A mapping file is small and shallow: anything else is refused before it is looked at.
MAX_MAPPING_CHARS = 1_000_000
MAX_MAPPING_DEPTH = 8
MAX_NUMBER_CHARS = 20


def _bounded_number(text: str) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise MappingError(f"a number too long for a mapping ({len(text):,} characters)")
    value = float(text) if any(c in text for c in ".eE") else int(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise MappingError("a number too large for a mapping")
    return value


def _no_constant(text: str) -> float:
    raise MappingError(f"{text} is not a number a mapping can hold")


def _depth(data: object, level: int = 1) -> int:
    if level > MAX_MAPPING_DEPTH:
        return level
    children = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)


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
        kind, allowed = field_column(target, name)
        if kind in ("enum", "type", "bool", "measure"):
            found[name] = {"type": ASSIGNMENT_TYPES, "bool": ("true", "false"), "measure": tuple(MEASURES)}.get(
                kind, allowed)
    return found


def field_column(target: str, name: str) -> tuple[str, tuple[str, ...]]:
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
