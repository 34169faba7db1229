"""The export log: every export written down (who, tier, format, what, scope, dates, rows, files and their sha256)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store import audit
from analytics.store.database import transaction
from analytics.store.scope import Scope

TIERS = ("identified", "deidentified")
FORMATS = ("csv", "xlsx", "parquet")


@dataclass(frozen=True)
class ExportFile:
    """One file an export wrote or offered: its name, rows (None for a manifest), size and sha256 (hex)."""

    name: str
    rows: int | None
    size: int
    sha256: str

    @classmethod
    def of(cls, name: str, data: bytes, rows: int | None) -> ExportFile:
        return cls(name, rows, len(data), hashlib.sha256(data).hexdigest())

    @classmethod
    def of_path(cls, path: Path, rows: int | None) -> ExportFile:
        digest = hashlib.sha256()
        with path.open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        return cls(path.name, rows, path.stat().st_size, digest.hexdigest())


@dataclass(frozen=True)
class Export:
    """What one export handed over: the tier and format, what it was (e.g. "whole store", "Client page:
    submissions"), for whom (the scope) and which dates, the rows per table and the files with their sha256."""

    tier: str
    format: str
    what: str
    scope: Scope
    date_from: date | None = None
    date_to: date | None = None
    rows: dict[str, int] = field(default_factory=dict)
    files: tuple[ExportFile, ...] = ()

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"unknown export tier {self.tier!r}")
        if self.format not in FORMATS:
            raise ValueError(f"unknown export format {self.format!r}")


def record_export(con: DuckDBPyConnection, export: Export, *, exported_by: str, at: datetime | None = None) -> str:
    """Write one row of the export log and its row in the audit trail (in one transaction); return its export_id
    (a new UUID). `exported_by` is the signed-in person when the scope names one (Scope.user)."""
    export_id = str(uuid.uuid4())
    files = [{"file": f.name, "rows": f.rows, "bytes": f.size, "sha256": f.sha256} for f in export.files]
    exported_by = export.scope.user or exported_by
    with transaction(con):
        con.execute(
            "insert into export_log values ($id, $at, $by, $tier, $format, $what, $therapist, $from, $to, $rows, $files)",
            {"id": export_id, "at": at or datetime.now(UTC), "by": exported_by, "tier": export.tier,
             "format": export.format, "what": export.what, "therapist": export.scope.therapist_id,
             "from": export.date_from, "to": export.date_to, "rows": json.dumps(export.rows),
             "files": json.dumps(files)},
        )
        # Ids, counts and hashes only in the trail (never names or typed text).
        detail = (f"{export.tier} {export.format}: {export.what}; therapist {export.scope.therapist_id or 'all'}; "
                  f"rows {json.dumps(export.rows)}; " + ", ".join(f"{f.name} sha256 {f.sha256}" for f in export.files))
        audit.append(con, actor=export.scope, action=audit.EXPORT, object_type="export", object_id=export_id,
                     detail=detail)
    return export_id


def export_log(con: DuckDBPyConnection) -> pd.DataFrame:
    """The export log, newest first: export_id, exported_at, exported_by, tier, format, what, therapist_id (empty:
    the whole practice), date_from, date_to, rows (JSON {table: rows}), files (JSON [{file, rows, bytes, sha256}])."""
    return con.execute(
        "select export_id, exported_at, exported_by, tier, format, what, therapist_id, date_from, date_to, rows, files "
        "from export_log order by exported_at desc, export_id"
    ).df()
