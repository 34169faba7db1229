"""The de-identified view of the screens (Scope.deidentified): pseudonyms instead of labels and names, no free text,
and counts from 1 to k suppressed, shown as "fewer than k+1" (data/README.md, "Exports and tiers")."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.export import deidentify
from analytics.metrics.effectiveness import AdherenceOutcome
from analytics.store.scope import Scope
from analytics.store.vocabulary import TYPE_LABELS

# Free text people typed, left out of every table in the de-identified view.
FREE_TEXT = ("title", "goal", "instructions", "client_note", "therapist_feedback", "primary_concern", "goals",
             "preferences", "email", "reasons_text")
# Columns that name a person, and the id column whose pseudonym replaces them.
NAMES = {"label": "client_id", "client_label": "client_id", "therapist_name": "therapist_id", "name": "therapist_id"}
ID_KINDS = {"client_id": "client", "therapist_id": "therapist", "assignment_id": "assignment",
            "submission_id": "submission"}


@dataclass(frozen=True)
class View:
    """How the screens show data to this scope: as stored (`on` false: every method gives its input back), or
    de-identified with the practice's pseudonym secret and k."""

    on: bool
    k: int = deidentify.DEFAULT_K
    secret: bytes = b""

    @classmethod
    def of(cls, con: DuckDBPyConnection, scope: Scope) -> View:
        if not scope.deidentified:
            return cls(False)
        return cls(True, deidentify.suppression_k(con), deidentify.practice_secret(con))

    @property
    def hidden(self) -> str:
        """What a suppressed count reads as: "fewer than 11" for k = 10 (counts 1 to k are hidden)."""
        return f"fewer than {self.k + 1}"

    # --- People ------------------------------------------------------------------------------------------------

    def pseudonym(self, kind: str, identifier: object) -> str:
        return deidentify.pseudonym(self.secret, kind, str(identifier))

    def client(self, client_id: str, label: str | None = None) -> str:
        """The client as the screen names them: their label, or their pseudonym in the de-identified view."""
        return self.pseudonym("client", client_id) if self.on else (label if label is not None else client_id)

    def therapist(self, therapist_id: str | None, name: str | None = None) -> str:
        if therapist_id is None:
            return name or ""
        return self.pseudonym("therapist", therapist_id) if self.on else (name or therapist_id)

    def names(self, names: dict[str, str]) -> dict[str, str]:
        """therapist_id -> what to call them (dashboard.therapist_names)."""
        return {tid: self.therapist(tid, name) for tid, name in names.items()} if self.on else names

    def people(self, frame: pd.DataFrame, *, keep_ids: Iterable[str] = ()) -> pd.DataFrame:
        """The frame with names replaced by the pseudonyms of their ids, ids by pseudonyms (but `keep_ids`, which a
        page needs to act on a row and does not show), and free-text columns and links (which hold ids) left out."""
        if not self.on:
            return frame
        shown = frame.drop(columns=[c for c in (*FREE_TEXT, "link") if c in frame.columns])
        for column, id_column in NAMES.items():
            if column in shown.columns and id_column in frame.columns:
                shown[column] = [self.pseudonym(ID_KINDS[id_column], i) if isinstance(i, str) else None
                                 for i in frame[id_column]]
        for column, kind in ID_KINDS.items():
            if column in shown.columns and column not in keep_ids:
                shown[column] = [self.pseudonym(kind, i) if isinstance(i, str) else None for i in shown[column]]
        return shown

    def titled_by_type(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame with homework titles (mood.mood_lifts) titled by the homework's type instead in this view."""
        if not self.on:
            return frame
        return frame.assign(title=[TYPE_LABELS.get(t, t) for t in frame["assignment_type"]])

    # --- Counts ------------------------------------------------------------------------------------------------

    def is_hidden(self, count: object) -> bool:
        return self.on and count is not None and not pd.isna(count) and 1 <= int(count) <= self.k

    @property
    def hidden_short(self) -> str:
        """The same, short enough for a metric's tile: "<11"."""
        return f"<{self.k + 1}"

    def count(self, count: int) -> int | str:
        """A count for st.metric: as is, or "<k+1" when it is from 1 to k."""
        return self.hidden_short if self.is_hidden(count) else count

    def change(self, change: str | None, *counts: int) -> str | None:
        """A change between counts (formats.count_change), left out when either count is hidden."""
        return None if any(self.is_hidden(c) for c in counts) else change

    def hidden_rows(self, counts: pd.Series, *, total: bool = True) -> np.ndarray:
        """Which rows' counts to hide: 1 to k, and with `total` (the sum is shown or known elsewhere) the smallest
        others too, until no hidden count follows from the total by subtraction (deidentify.suppress)."""
        values = counts.fillna(0).astype(int).to_numpy()
        if not self.on or len(values) == 0:
            return np.zeros(len(values), dtype=bool)
        if not total:
            return (values >= 1) & (values <= self.k)
        table = np.append(values, values.sum()).reshape(-1, 1)
        (mask,) = deidentify.suppress([table], self.k, row_totals=False)
        return mask[:-1, 0]

    def suppressed(self, frame: pd.DataFrame, count: str, *, depends: Iterable[str] = (), total: bool = True,
                   as_text: bool = True) -> pd.DataFrame:
        """The frame with `count` hidden in the rows `hidden_rows` picks (as "fewer than k+1" text, or NaN), and the
        figures computed from it (`depends`, e.g. a rate) left empty in those rows."""
        if not self.on:
            return frame
        hide = self.hidden_rows(frame[count], total=total)
        shown = frame.copy()
        for column in depends:
            if column in shown.columns:
                shown[column] = shown[column].astype(object).where(~hide, None)
        if as_text:
            shown[count] = [self.hidden if h else str(int(v)) if not pd.isna(v) else ""
                            for v, h in zip(frame[count], hide, strict=True)]
        else:
            shown[count] = frame[count].astype(float).where(~hide, math.nan)
        return shown

    # --- Tables and charts of the pages ---------------------------------------------------------------------------

    def by_type(self, by_type: pd.DataFrame) -> pd.DataFrame:
        """effectiveness.by_type with hidden counts: a type whose due count is hidden has no rates, one whose
        ratings are hidden has no mood lift, one whose rated submissions are hidden no quality (counts left as they
        are for the chart's arithmetic: show the table through `effectiveness_table`)."""
        if not self.on:
            return by_type
        shown = by_type.copy()
        due = self.hidden_rows(shown["due"])
        for column in ("completion_rate", "on_time_rate"):
            shown[column] = shown[column].astype(float).where(~due, math.nan)
        shown["due_hidden"] = due
        for n, columns, enough in (("mood_lift_n", ("mood_lift_mean", "mood_lift_ci_low", "mood_lift_ci_high"),
                                    "enough_mood_data"), ("quality_n", ("quality_mean",), "enough_quality_data")):
            hide = self.hidden_rows(shown[n])
            for column in columns:
                shown[column] = shown[column].astype(float).where(~hide, math.nan)
            shown[enough] = shown[enough].astype(bool) & ~hide
            shown[f"{n}_hidden"] = hide
        return shown

    def effectiveness_table(self, table: pd.DataFrame, by_type: pd.DataFrame) -> pd.DataFrame:
        """tables.effectiveness_table of `by_type(...)` with its hidden counts written "fewer than k+1" (and a thin
        mean's "not enough data (n = 3)" without the n)."""
        if not self.on:
            return table
        shown = table.copy()
        for column, hidden in (("due", by_type["due_hidden"]), ("lift_n", by_type["mood_lift_n_hidden"]),
                               ("quality_n", by_type["quality_n_hidden"])):
            shown[column] = [self.hidden if h else str(v) for v, h in zip(table[column], hidden, strict=True)]
        for column, hidden in (("mood_lift", by_type["mood_lift_n_hidden"]), ("quality", by_type["quality_n_hidden"])):
            shown[column] = [f"not enough data ({self.hidden})" if h else v
                             for v, h in zip(table[column], hidden, strict=True)]
        return shown

    def left_out_of_type_chart(self, by_type: pd.DataFrame, lines: list[str]) -> list[str]:
        """type_figures.left_out_of_type_chart's lines, with no count in them when the view is on."""
        if not self.on:
            return lines
        left_out = by_type[~(by_type["enough_mood_data"].astype(bool) & (by_type["due"] > 0) & ~by_type["due_hidden"])]
        return [f"{label}: {self.hidden} ratings, or nothing due" for label in left_out["type_label"]]

    def charted_types(self, by_type: pd.DataFrame) -> pd.DataFrame:
        """The rows of `by_type(...)` the type chart may draw: not those whose due count is hidden."""
        return by_type[~by_type["due_hidden"]].reset_index(drop=True) if self.on else by_type

    def outcome(self, outcome: AdherenceOutcome) -> AdherenceOutcome | None:
        """effectiveness.adherence_outcome with its clients as pseudonyms; None when it rests on 1 to k clients."""
        if not self.on:
            return outcome
        if self.is_hidden(outcome.n):
            return None
        return replace(outcome, points=self.people(outcome.points))

    def groups(self, frame: pd.DataFrame) -> pd.DataFrame:
        """caseload.breakdown by therapist or client, named by pseudonyms; a group whose due count is hidden has no
        figures and a `hidden_note` ("fewer than 11 due") that the chart shows instead of a bar."""
        if not self.on:
            return frame
        key = "therapist_id" if "therapist_id" in frame.columns else "client_id"
        shown = frame.copy()
        shown["label"] = [self.pseudonym(ID_KINDS[key], i) for i in frame[key]]
        hide = self.hidden_rows(frame["due"])
        for column in ("completion_rate", "on_time_rate", "previous_completion_rate", "credit", "expected"):
            if column in shown.columns:
                shown[column] = shown[column].astype(float).where(~hide, math.nan)
        shown["hidden_note"] = [f"{self.hidden} due" if h else "" for h in hide]
        return shown

    def weekly(self, frame: pd.DataFrame, *, kind: str | None = None) -> pd.DataFrame:
        """Weekly figures (adherence.weekly_completion; caseload.weekly_grid with `kind` "therapist" or "client", whose
        rows are then named by pseudonyms): a week whose expected homework is from 1 to k has no figures and a
        `hidden_note`."""
        if not self.on:
            return frame
        hide = self.hidden_rows(frame["expected"].astype(float).round(), total=False)
        shown = frame.copy()
        for column in ("credit", "completion_rate", "on_time_rate", "on_time_credit", "expected"):
            if column in shown.columns:
                shown[column] = shown[column].astype(float).where(~hide, math.nan)
        shown["hidden_note"] = [f"{self.hidden} homework expected" if h else "" for h in hide]
        if kind is not None:  # the key reaches the browser too (the heatmap's rows): both become the pseudonym
            shown["label"] = shown["key"] = [self.pseudonym(kind, k) for k in frame["key"]]
        return shown

    def distribution(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """caseload.completion_distribution without the bins whose client count is hidden, and those bins' names."""
        if not self.on:
            return frame, []
        hide = self.hidden_rows(frame["clients"])
        names = [f"{int(a)}–{int(b)}%" for a, b, h in zip(frame["bin_start"], frame["bin_end"], hide, strict=True) if h]
        return frame[~hide].reset_index(drop=True), names
