"""The canonical data format: the five tables, their columns, and the values each column allows."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.store.vocabulary import ASSIGNMENT_STATUSES, CLIENT_STATUSES, COMPLETIONS, MEASURES


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    kind: id | text | note | date | datetime | int | bool | enum | type | measure
    """

    name: str
    kind: str
    required: bool = False
    low: int | None = None
    high: int | None = None
    allowed: tuple[str, ...] = ()
    default: str | None = None  # value used when the field is empty
    references: str | None = None  # table whose key this column must name
    meaning: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its file name, key columns and columns in file order; `stored_order`, the column a batch's
    new rows are stored in order of, whatever the file's order (None: as they come)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    meaning: str = ""
    stored_order: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "therapists",
            key=("therapist_id",),
            meaning="The practice's therapists.",
            columns=(
                Column("therapist_id", "id", required=True, meaning="Unique id of the therapist."),
                Column("name", "text", required=True, meaning="Name shown in the dashboard."),
                Column("email", "text", meaning="Contact address (not used for sign-in yet)."),
            ),
        ),
        TableSpec(
            "clients",
            key=("client_id",),
            meaning="Clients, each with one responsible therapist.",
            columns=(
                Column("client_id", "id", required=True, meaning="Unique id of the client."),
                Column("therapist_id", "id", required=True, references="therapists",
                       meaning="The client's therapist; must be in therapists.csv or the store."),
                Column("label", "text", meaning="Display name or pseudonym; the client_id when empty."),
                Column("intake_date", "date", meaning="Date the client started."),
                Column("primary_concern", "text", meaning="Main presenting concern, e.g. low mood."),
                Column("goals", "note", meaning="The client's goals in their own words."),
                Column("preferences", "text", meaning="`;`-separated tags, e.g. writing;visual."),
                Column("status", "enum", allowed=CLIENT_STATUSES, default="active",
                       meaning="active, paused or discharged; active when empty."),
            ),
        ),
        TableSpec(
            "assignments",
            key=("assignment_id",),
            meaning="Homework set for a client, due by a date.",
            columns=(
                Column("assignment_id", "id", required=True, meaning="Unique id of the assignment."),
                Column("client_id", "id", required=True, references="clients",
                       meaning="The client; must be in clients.csv or the store."),
                Column("assignment_type", "type", required=True,
                       meaning="journaling, behavioural, mindfulness, creative, narrative or other."),
                Column("title", "text", required=True, meaning="Short name of the task."),
                Column("assigned_on", "date", required=True, meaning="Date the homework was set."),
                Column("due_on", "date", required=True, meaning="Date it is due; not before assigned_on."),
                Column("expected_count", "int", low=1, high=1000, default="1",
                       meaning="Times the task is to be done by due_on (7 for a daily practice over a week); 1 when empty."),
                Column("est_minutes", "int", low=0, high=1440, meaning="Expected minutes per time."),
                Column("goal", "note", meaning="The goal this homework serves."),
                Column("chosen_with_client", "bool", meaning="true when chosen together with the client."),
                Column("status", "enum", allowed=ASSIGNMENT_STATUSES, default="active",
                       meaning="active or cancelled; active when empty. Cancelled homework is never due."),
            ),
        ),
        TableSpec(
            "submissions",
            key=("submission_id",),
            meaning="One report of doing (or not doing) an assignment.",
            stored_order="submitted_at",
            columns=(
                Column("submission_id", "id", required=True, meaning="Unique id of the submission."),
                Column("assignment_id", "id", required=True, references="assignments",
                       meaning="The assignment; must be in assignments.csv or the store."),
                Column("submitted_at", "datetime", required=True,
                       meaning="When it was reported, ISO 8601 date-time; without an offset it is read "
                               "in the practice's time zone."),
                Column("completion", "enum", required=True, allowed=COMPLETIONS,
                       meaning="completed (credit 1), partial (credit 0.5) or skipped (credit 0)."),
                Column("quality", "int", low=0, high=4, meaning="Therapist's or client's rating, 0-4."),
                Column("mood_before", "int", low=0, high=10, meaning="Mood before, 0 (worst) to 10 (best)."),
                Column("mood_after", "int", low=0, high=10, meaning="Mood after, 0 (worst) to 10 (best)."),
                Column("minutes", "int", low=0, high=1440, meaning="Minutes spent."),
                Column("client_note", "note", meaning="The client's note; shown as plain text only."),
                Column("therapist_feedback", "note", meaning="The therapist's feedback; plain text."),
                Column("feedback_at", "datetime", meaning="When feedback was given; not before submitted_at."),
            ),
        ),
        TableSpec(
            "measures",
            key=("client_id", "measure", "administered_on"),
            meaning="Outcome questionnaire scores.",
            columns=(
                Column("client_id", "id", required=True, references="clients",
                       meaning="The client; must be in clients.csv or the store."),
                Column("measure", "measure", required=True, allowed=tuple(MEASURES),
                       meaning="PHQ-9 (depression, 0-27) or GAD-7 (anxiety, 0-21)."),
                Column("score", "int", required=True, low=0, high=27,
                       meaning="Total score, within the measure's range."),
                Column("administered_on", "date", required=True, meaning="Date it was taken."),
            ),
        ),
    )
}


# Tables in the order an import must write them: each refers only to tables before it.
IMPORT_ORDER = ("therapists", "clients", "assignments", "submissions", "measures")


# Clinical free text: (table, column) of the notes, goals and concerns people write. Shown only to those
# allowed to see it (a report of changes says "changed" instead of quoting it otherwise).
FREE_TEXT = frozenset(
    (t.name, c.name) for t in TABLES.values() for c in t.columns if c.kind == "note" or c.name == "primary_concern"
)


def columns_frame():
    """The canonical format as a table for people: table, column, required (bool), meaning.

    Returns a pandas DataFrame (imported here so the rest of this module stays free of pandas).
    """
    import pandas as pd

    return pd.DataFrame(
        [(t.name, c.name, c.required, c.meaning) for t in TABLES.values() for c in t.columns],
        columns=["table", "column", "required", "meaning"],
    )
