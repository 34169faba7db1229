"""What an import says: per file and for the batch, the rows read, added and changed, and every problem
with its file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analytics.ingest.raw import Problem

MAX_LISTED_PROBLEMS = 1_000  # per file; the counts stay exact beyond it


@dataclass
class FileReport:
    """What happened to one file of the batch."""

    file: str
    table: str | None
    sha256: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    format: str = "canonical"  # canonical, flat or mindlogger: how the file was read


@dataclass
class ImportReport:
    """The outcome of one batch: per file counts, every problem, and whether it was written."""

    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    accepted: bool = False
    batch_id: str | None = None
    unlisted_problems: int = 0  # problems beyond MAX_LISTED_PROBLEMS per file, counted not listed

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def files_frame(self) -> pd.DataFrame:
        """One row per file: file, table, rows_read, inserted, updated, unchanged, rejected."""
        columns = ["file", "table", "rows_read", "inserted", "updated", "unchanged", "rejected"]
        return pd.DataFrame([[getattr(f, c) for c in columns] for f in self.files], columns=columns)

    def problems_frame(self) -> pd.DataFrame:
        """One row per problem: severity, file, line, column, reason."""
        columns = ["severity", "file", "line", "column", "reason"]
        return pd.DataFrame(
            [[p.severity, p.file, p.line, p.column, p.reason] for p in self.problems], columns=columns
        ).astype({"line": "Int64"})

    def to_text(self, *, max_problems: int = 50) -> str:
        """The report as plain text for the command line."""
        lines = ["Imported." if self.accepted else "Refused: nothing was written to the store."]
        for f in self.files:
            lines.append(
                f"  {f.file} -> {f.table or '?'}: {f.rows_read} read, {f.inserted} inserted, "
                f"{f.updated} updated, {f.unchanged} unchanged, {f.rejected} rejected"
            )
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


class ImportRefused(Exception):
    """Raised inside the write transaction to roll it back; carries nothing the report lacks."""
