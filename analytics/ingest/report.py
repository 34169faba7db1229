"""What an import says: per file and for the batch, the rows read, added, changed (which columns, before and
after), unchanged, left as stored and rejected, the people matched, and every problem with its file, line and
column.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analytics.ingest.raw import Problem, printable
from analytics.store.scope import Scope

if TYPE_CHECKING:  # pandas is imported when a frame is built, not by an import's start
    import pandas as pd

MAX_LISTED_PROBLEMS = 1_000  # per file; the counts stay exact beyond it


HIDDEN = "(free text: hidden)"  # what a change of clinical free text shows to someone not allowed to read it


DECISION = "rows already stored"  # the column of the problems that ask for a decision about stored rows


def shows_free_text(scope: Scope) -> bool:
    """Whether this viewer may read clinical free text (notes, goals, concerns) in an import's list of changes.

    The one place that decides it: the practice's view, for a role that reads free text (Scope.free_text: not a
    practice manager unless the practice allows it, never an analyst) and not in the de-identified view.
    """
    return scope.is_practice and scope.free_text and not scope.deidentified


@dataclass
class FileReport:
    """What happened (or would happen, in a dry run or a refused batch) to one table of one file of the batch."""

    file: str
    table: str | None
    sha256: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    format: str = "canonical"  # canonical, flat or mindlogger: how the file was read
    kept: int = 0  # stored rows the file would change, left as they are (only new rows added)
    changed_columns: dict[str, int] = field(default_factory=dict)  # column -> stored rows whose value differs
    samples: list = field(default_factory=list)  # changes.ChangeSample: the first changed rows, column by column


@dataclass(frozen=True)
class Match:
    """A therapist or client named in a flat or MindLogger export, and whom in the store it is.

    by: id | email | name (matched to a stored one), new (added by this batch), question (a name that fits more
    than one stored person: the analyst must say which; nothing is guessed), answer (the analyst said which).
    """

    file: str
    kind: str  # therapist | client
    written: str  # as the file names them: an id, an email or a name
    by: str
    matched: str | None  # the stored (or new) id
    candidates: tuple[str, ...] = ()  # for a question: the stored ids that fit
    line: int | None = None  # the first line naming them


@dataclass
class ImportReport:
    """The outcome of one batch: per file counts, every problem, and whether it was written."""

    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    accepted: bool = False
    batch_id: str | None = None
    unlisted_problems: int = 0  # problems beyond MAX_LISTED_PROBLEMS per file, counted not listed
    dry_run: bool = False
    existing: str = "refuse"  # what was asked for rows already stored that differ (changes.EXISTING_MODES)
    matches: list[Match] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def changing(self) -> int:
        """Stored rows the batch changes (or would change), over every file."""
        return sum(f.updated for f in self.files)

    @property
    def differing(self) -> int:
        """Stored rows whose values differ from the files', changed or left as stored."""
        return sum(f.updated + f.kept for f in self.files)

    @property
    def undecided(self) -> bool:
        """True when the only reason the batch was not written is stored rows that need a decision."""
        errors = self.errors
        return bool(errors) and all(p.column == DECISION for p in errors)

    @property
    def questions(self) -> list[Match]:
        return [m for m in self.matches if m.by == "question"]

    def files_frame(self) -> pd.DataFrame:
        import pandas as pd

        """One row per file and table: file, table, rows_read, inserted, updated, unchanged, kept, rejected."""
        columns = ["file", "table", "rows_read", "inserted", "updated", "unchanged", "kept", "rejected"]
        return pd.DataFrame([[getattr(f, c) for c in columns] for f in self.files], columns=columns)

    def changes_frame(self) -> pd.DataFrame:
        """The columns each file changes: file, table, column, rows (stored rows whose value differs)."""
        import pandas as pd

        rows = [(f.file, f.table, column, n) for f in self.files for column, n in f.changed_columns.items()]
        return pd.DataFrame(rows, columns=["file", "table", "column", "rows"])

    def samples_frame(self, *, show_free_text: bool) -> pd.DataFrame:
        import pandas as pd

        """A sample of changed values: table, line, key, column, before, after. Clinical free text (notes,
        goals, concerns) reads HIDDEN unless show_free_text."""
        rows = []
        for f in self.files:
            for s in f.samples:
                hide = s.free_text and not show_free_text
                rows.append((s.table, s.line, s.key, s.column, HIDDEN if hide else s.before,
                             HIDDEN if hide else s.after))
        return pd.DataFrame(rows, columns=["table", "line", "key", "column", "before", "after"]).astype({"line": "Int64"})

    def matches_frame(self) -> pd.DataFrame:
        """People named in the files: file, kind, written, by, matched, candidates, line."""
        import pandas as pd

        rows = [(m.file, m.kind, m.written, m.by, m.matched, ", ".join(m.candidates), m.line) for m in self.matches]
        return pd.DataFrame(rows, columns=["file", "kind", "written", "by", "matched", "candidates", "line"]
                            ).astype({"line": "Int64"})

    def problems_frame(self) -> pd.DataFrame:
        """One row per problem: severity, file, line, column, reason."""
        import pandas as pd

        columns = ["severity", "file", "line", "column", "reason"]
        return pd.DataFrame(
            [[p.severity, p.file, p.line, p.column, p.reason] for p in self.problems], columns=columns
        ).astype({"line": "Int64"})

    def headline(self) -> str:
        if self.accepted:
            return f"Imported as batch {self.batch_id}."
        if self.dry_run and not self.errors:
            return "Checked: nothing was written (dry run)."
        return "Refused: nothing was written to the store."

    def to_text(self, *, max_problems: int = 50, show_free_text: bool = False) -> str:
        """The report as plain text for the command line."""
        lines = [self.headline()]
        done = self.accepted
        words = ("added", "changed") if done else ("to add", "to change")
        for f in self.files:
            kept = f", {f.kept} left as stored" if f.kept else ""
            lines.append(
                f"  {f.file} -> {f.table or '?'}: {f.rows_read} read, {f.inserted} {words[0]}, "
                f"{f.updated} {words[1]}, {f.unchanged} unchanged{kept}, {f.rejected} rejected"
            )
        if self.matches:
            lines.append("People:")
            for m in self.matches[:max_problems]:
                lines.append(f"  {m.kind} {m.written}: {_match_text(m)}")
        changed = [f for f in self.files if f.changed_columns]
        if changed:
            lines.append("Changes to stored rows (" + ("changed" if done and self.existing == "update" else
                                                        "left as stored" if self.existing == "skip" else
                                                        "would change") + "):")
            for f in changed:
                columns = ", ".join(f"{c} ({n})" for c, n in f.changed_columns.items())
                lines.append(f"  {f.table}: {columns}")
            samples = self.samples_frame(show_free_text=show_free_text)
            for row in samples.itertuples(index=False):
                lines.append(f"    {row.table} {row.key} (line {row.line}) {row.column}: "
                             f"{_shown(row.before)} -> {_shown(row.after)}")
        shown = self.problems[:max_problems]
        if shown:
            lines.append("Problems:")
        for p in shown:
            where = f"line {p.line}" if p.line is not None else "file"
            column = f", column {p.column}" if p.column else ""
            lines.append(f"  {p.severity}: {p.file}, {where}{column}: {p.reason}")
        hidden = len(self.problems) - len(shown) + self.unlisted_problems
        if hidden:
            lines.append(f"  ... and {hidden} more")
        return "\n".join(lines)


def _shown(value: object) -> str:
    pd = sys.modules.get("pandas")  # a frame's missing value (pandas is loaded when frames are built)
    if value is None or (pd is not None and value is pd.NA):
        return "(empty)"
    return HIDDEN if value == HIDDEN else f"“{printable(str(value), 60)}”"


def _match_text(match: Match) -> str:
    if match.by == "question":
        return f"fits {len(match.candidates)} in the store ({', '.join(match.candidates)}): say which"
    if match.by == "new":
        return f"new, added as {match.matched}"
    if match.by == "answer":
        return f"{match.matched} (as chosen)"
    return f"{match.matched} (matched by {match.by})"


class ImportRefused(Exception):
    """Raised inside the write transaction to roll it back; carries nothing the report lacks."""
