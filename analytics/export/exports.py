"""Writing an export: a tier's tables to a folder (the command line) or to one download (the dashboard), each
recorded in the export log."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from duckdb import DuckDBPyConnection

from analytics.export import backup, deidentify, safe_files, tiers
from analytics.export.log import Export, ExportFile, record_export
from analytics.store.database import SCHEMA_VERSION, kept_for_snapshot
from analytics.store.scope import Scope

PARTS = ("records", "aggregates")  # what a de-identified export holds; the identified tier is records only
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip": "application/zip"}


class ExportError(Exception):
    """An export cannot be written (a folder that is not empty, a table too big for Excel); nothing was logged."""


@dataclass(frozen=True)
class Request:
    """What to export: the tier, the format, whose data (scope) and which dates (assignments due in the range,
    with their submissions; measures taken in it), and for the de-identified tier which parts."""

    tier: str
    format: str
    scope: Scope
    date_from: date | None = None
    date_to: date | None = None
    parts: tuple[str, ...] = PARTS

    def __post_init__(self) -> None:
        if self.tier == "identified" and self.scope.deidentified:
            raise ExportError("a de-identified view exports the de-identified tier only")
        if self.tier == "identified" and self.format == "parquet" and (
                not self.scope.is_practice or self.date_from or self.date_to):
            raise ExportError("the Parquet backup is of the whole store: it takes no therapist and no dates")
        if not set(self.parts) <= set(PARTS) or not self.parts:
            raise ExportError(f"parts must be some of {', '.join(PARTS)}")


Chunk = pd.DataFrame | pa.RecordBatch


def tables(con: DuckDBPyConnection, request: Request) -> dict[str, Callable[[], Iterator[Chunk]]]:
    """The request's tables, each a function giving its rows in chunks (Arrow batches read from the store when
    called, or a pandas frame for the small aggregate tables)."""
    found: dict[str, Callable[[], Iterator[Chunk]]] = {}
    dates = {"scope": request.scope, "date_from": request.date_from, "date_to": request.date_to}
    if request.tier == "identified":
        queries = tiers.identified_queries(**dates)
    else:
        queries = tiers.deidentified_queries(con, **dates) if "records" in request.parts else {}
    for name, query in queries.items():
        found[name] = lambda query=query: tiers.chunks(con, query)
    if request.tier == "deidentified" and "aggregates" in request.parts:
        frames = tiers.aggregates(con, **dates)
        for name, frame in frames.items():
            found[name] = lambda frame=frame: iter([frame])
    return found


def _as_pandas(chunks: Iterable[Chunk]) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        yield chunk if isinstance(chunk, pd.DataFrame) else chunk.to_pandas(types_mapper=tiers.nullable)


def _as_arrow(chunks: Iterable[Chunk]) -> Iterator[pa.RecordBatch]:
    for chunk in chunks:
        if isinstance(chunk, pd.DataFrame):
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            yield from table.to_batches() or [pa.RecordBatch.from_pylist([], schema=table.schema)]
        else:
            yield chunk


def _write_files(con: DuckDBPyConnection, request: Request, folder: Path, stem: str) -> dict[str, int]:
    """Write the request's files into the (empty) folder; returns rows per table."""
    if request.tier == "identified" and request.format == "parquet":
        return {f.table: f.rows for f in backup.write_backup(con, folder)}
    rows: dict[str, int] = {}
    found = tables(con, request)
    if request.format == "csv":
        for name, read in found.items():
            with (folder / f"{name}.csv").open("wb") as target:
                rows[name] = safe_files.write_csv(target, read())
    elif request.format == "xlsx":
        with (folder / f"{stem}.xlsx").open("wb") as target:
            rows = safe_files.write_xlsx(target, {name: _as_pandas(read()) for name, read in found.items()})
    else:  # de-identified Parquet, with a manifest
        manifest_tables = {}
        for name, read in found.items():
            path = folder / f"{name}.parquet"
            rows[name], writer = 0, None
            for batch in _as_arrow(read()):
                writer = writer or pq.ParquetWriter(path, batch.schema, compression="zstd")
                writer.write_batch(batch)
                rows[name] += batch.num_rows
            writer.close()
            manifest_tables[name] = {"file": path.name, "rows": rows[name], "sha256": ExportFile.of_path(path, None).sha256}
        (folder / backup.MANIFEST).write_text(json.dumps({
            "format": "homework-dashboard-deidentified", "schema_version": SCHEMA_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "tables": manifest_tables,
        }, indent=2) + "\n", encoding="utf-8")
    return rows


def _described(folder: Path, rows: dict[str, int]) -> tuple[ExportFile, ...]:
    files = []
    for path in sorted(folder.iterdir()):
        table = path.stem if path.suffix in (".csv", ".parquet") else None
        files.append(ExportFile.of_path(path, rows.get(table) if table else None))
    return tuple(files)


def _cursor(con: DuckDBPyConnection) -> DuckDBPyConnection:
    """An export's own cursor: the caller's may hold a result half read, and a download runs in another thread."""
    cursor = con.cursor()
    cursor.execute("set enable_progress_bar = false")  # no progress bar drawn over the command line's output
    return cursor


def write_folder(con: DuckDBPyConnection, request: Request, folder: Path, *, exported_by: str,
                 what: str = "whole store") -> Export:
    """Write the export into `folder` (new, or empty) and record it in the export log; returns what was recorded.

    CSV: a file per table. XLSX: one workbook, a sheet per table. Parquet: identified, the backup (backup.py);
    de-identified, a file per table and manifest.json. Written in a temporary folder beside it first, so a
    failure leaves nothing behind.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"{folder} is not an empty folder: choose a new one, so nothing is overwritten")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    cursor = _cursor(con)
    try:
        out = work / "out"
        out.mkdir()
        rows = _write_files(cursor, request, out, request.tier)
        if folder.exists():
            folder.rmdir()
        out.rename(folder)
        export = Export(request.tier, request.format, what, request.scope, request.date_from, request.date_to, rows,
                        _described(folder, rows))
        record_export(cursor, export, exported_by=exported_by)
    except (safe_files.TooManyRowsError, backup.BackupError) as exc:
        raise ExportError(str(exc)) from exc
    finally:
        cursor.close()
        shutil.rmtree(work, ignore_errors=True)
    return export


def download(con: DuckDBPyConnection, request: Request, *, exported_by: str, what: str = "whole store"
             ) -> tuple[str, bytes, str]:
    """The export as one download, recorded in the export log: (file name, bytes, MIME type).

    XLSX is one workbook; CSV and Parquet are a .zip of the files `write_folder` writes.
    """
    cursor = _cursor(con)
    try:
        with tempfile.TemporaryDirectory(prefix="export-") as tmp:
            folder = Path(tmp)
            rows = _write_files(cursor, request, folder, request.tier)
            members = _described(folder, rows)
            name, mime = download_name(request), download_mime(request)
            if request.format == "xlsx":
                data = (folder / f"{request.tier}.xlsx").read_bytes()
                files: tuple[ExportFile, ...] = (ExportFile.of(name, data, None),)
            else:
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in sorted(folder.iterdir()):
                        archive.write(path, path.name)
                data = buffer.getvalue()
                files = (*members, ExportFile.of(name, data, None))
        record_export(cursor, Export(request.tier, request.format, what, request.scope, request.date_from,
                                     request.date_to, rows, files), exported_by=exported_by)
    except (safe_files.TooManyRowsError, backup.BackupError) as exc:
        raise ExportError(str(exc)) from exc
    finally:
        cursor.close()
    return name, data, mime


def download_name(request: Request, *, on: date | None = None) -> str:
    """The download's file name: identified-20260311.xlsx, deidentified-20260311-csv.zip, backup-20260311-parquet.zip."""
    stem = "backup" if request.tier == "identified" and request.format == "parquet" else request.tier
    stem += "-summary" if request.parts == ("aggregates",) else ""
    day = f"{on or datetime.now(UTC).date():%Y%m%d}"
    return f"{stem}-{day}.xlsx" if request.format == "xlsx" else f"{stem}-{day}-{request.format}.zip"


def download_mime(request: Request) -> str:
    return MIME["xlsx"] if request.format == "xlsx" else MIME["zip"]


# The stored tables the identified tier reads rows of, one export row per stored row at most (tiers.IDENTIFIED;
# the de-identified record tables have the same rows, pseudonymised; the summary tables are small counts).
STORED_TABLES = ("therapists", "clients", "assignments", "submissions", "measures")


def fits_excel(con: DuckDBPyConnection, request: Request) -> bool:
    """Whether every table of the request fits on an Excel sheet (counted, not read).

    A table's rows are some of its stored table's rows (an export never adds rows), so a table whose stored table is
    under a sheet's rows fits without counting it (a read of the tables' sizes, not of a million rows); the others are
    counted smallest stored table first, and the first that does not fit answers. Inside a read snapshot the answer is
    kept for the snapshot: the Data page asks it for the identified and the de-identified Excel buttons, whose tables
    have the same rows (0.24 s each for the 10M practice's measures)."""
    return kept_for_snapshot(con, ("fits_excel", request.scope, request.date_from, request.date_to),
                             lambda: _fits_excel(con, request))


def _fits_excel(con: DuckDBPyConnection, request: Request) -> bool:
    sizes = dict(zip(STORED_TABLES, con.execute(
        f"select {', '.join(f'(select count(*) from {name})' for name in STORED_TABLES)}").fetchone(), strict=True))
    queries = tiers.identified_queries(scope=request.scope, date_from=request.date_from, date_to=request.date_to)
    for name in sorted(queries, key=lambda table: sizes[table]):
        if sizes[name] < safe_files.EXCEL_MAX_ROWS:
            continue
        query = queries[name]
        rows = con.execute(f"select count(*) from ({query.sql})", query.params).fetchall()[0][0]
        if rows >= safe_files.EXCEL_MAX_ROWS:
            return False
    return True


def table_csv(frame: pd.DataFrame) -> bytes:
    """One table shown on a page, as formula-safe CSV (what its download button offers)."""
    return safe_files.to_csv_bytes(frame)


def record_table_download(con: DuckDBPyConnection, *, data: bytes, file_name: str, rows: int, what: str,
                          scope: Scope, exported_by: str) -> str:
    """Log the download of one table from a page (tier from the scope's de-identified view); returns the export_id."""
    tier = "deidentified" if scope.deidentified else "identified"
    return record_export(con, Export(tier, "csv", what, scope, rows={what: rows},
                                     files=(ExportFile.of(file_name, data, rows),)), exported_by=exported_by)


def suppression_k(con: DuckDBPyConnection) -> int:
    """The practice's k (deidentify.suppression_k)."""
    return deidentify.suppression_k(con)


def set_suppression_k(con: DuckDBPyConnection, k: int) -> None:
    """Store the practice's k (deidentify.set_suppression_k)."""
    deidentify.set_suppression_k(con, k)
