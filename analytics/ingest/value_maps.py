"""Value maps: the words other systems use for completions, statuses, yes/no and types, and the
proposed map from a file's distinct words to ours (never a guess: an unknown word stays unmapped).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from duckdb import DuckDBPyConnection

from analytics.ingest.mapping import Mapping, value_fields
from analytics.ingest.raw import RawTable
from analytics.store.vocabulary import (
    FALSE_WORDS,
    TRUE_WORDS,
    TYPE_SPELLINGS,
    match_key,
    normalise_type,
)

SAMPLE_ROWS = 2_000  # rows looked at to propose value maps


DISTINCT_SHOWN = 30  # distinct values offered for a value map


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


def source_position(raw: RawTable, source: str) -> int | None:
    for position, header in enumerate(raw.header):
        if header == source:
            return position
    key = match_key(source)
    return next((p for p, h in enumerate(raw.header) if match_key(h) == key), None)


def proposed_words(con: DuckDBPyConnection, raw: RawTable, mapping: Mapping, value_field: str) -> dict[str, str]:
    """Value-map proposals for the words of the column mapped to value_field that we would not read as they are."""
    source_field = {"completion": "flag", "assignment_type": "activity_name"}.get(value_field, value_field) \
        if mapping.target == "mindlogger" else value_field
    source = next((s for s, f in mapping.columns if f == source_field), None)
    position = None if source is None else source_position(raw, source)
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
