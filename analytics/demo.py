"""Synthetic demo caseload: therapists, clients, homework, submissions and measures as canonical CSVs.

Everything here is made up: pseudonymous client labels, ``@example.org`` therapist emails and
template notes. Nothing comes from a real practice.

What the generated caseload looks like
--------------------------------------
* The ``weeks`` weeks that end on ``end`` are history. Each client has a fixed session weekday and
  an intake date (about half start in the first week, the rest are staggered through the first 70 %
  of the window). Each week with a session (about 9 in 10 weeks) the therapist sets 1-4 pieces of
  homework on the session day, due 6-8 days later, so the last week's homework is usually not yet
  due on ``end``. A few clients are discharged or paused and get no homework after that week.
* Homework comes from five families (journaling, behavioural, mindfulness, creative, narrative) and
  an occasional ``other``. Daily practices (gratitude journal, breathing exercise, ...) are expected
  5-7 times; other homework 1-3 times. About 4 % of assignments are cancelled.
* Each client has an adherence propensity: about 15 % are high (~0.9), about 4 % (at least one)
  do little or nothing, the rest sit in the middle. Preference tags (``writing``, ``visual``,
  ``movement``, ``quiet``, ``structured``, ``creative``) make the matching families more likely to
  be set and more likely to be done; homework chosen with the client is done a little more often.
* One submission row per attempt: completed, partial or skipped (an explicit "not done" report).
  About 10-15 % are late (1-5 days after ``due_on``). Nothing is dated after ``end`` 23:59, except
  ``due_on`` of current homework. Mood lift (after - before) depends on the family (mindfulness
  about +1.2, creative about +0.3) and on the client; some clients gain most from one family.
  Baseline mood drifts up with adherence.
* PHQ-9 and GAD-7 at intake and every 2-4 weeks; scores fall faster for high adherers, a few
  clients deteriorate.

Scale
-----
Generation is vectorised with numpy: Python loops run only over families, preference tags,
completions and tables, never over clients, homework or submissions. Submissions grow with clients x weeks (about
3.5 per client-week). About one million submissions:

    python -m analytics demo --out DIR --clients 5500 --therapists 100 --weeks 52

gives 1,006,257 submissions, 372,387 assignments and 152,745 measures (seed 7). On the 2-core
development machine ``generate`` takes about 1.6 s and ``write_demo`` (generate plus the CSVs,
about 155 MB) about 2.5 s, at about 0.8 GB peak memory.

Dates in data frames and CSVs
-----------------------------
:func:`generate` returns date and date-time columns as ``datetime64[s]`` (dates at midnight),
optional integers as nullable ``Int64``, text as ``str`` with missing values for empty fields.
The CSVs follow the canonical format: dates ``YYYY-MM-DD``, date-times ``YYYY-MM-DDTHH:MM:SS``
(local time, no offset), booleans ``true``/``false``, empty fields for missing values.

:func:`shift_demo` moves every date by the same whole number of days. It does not keep weekday
alignment: a client whose sessions were on Tuesdays may have them on Fridays after a shift.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from analytics.demo_practice import Calendar, make_caseload, make_homework, make_measures, make_submissions, make_therapists
from analytics.ingest.canonical import IMPORT_ORDER, TABLES

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {name: TABLES[name].column_names for name in IMPORT_ORDER}
"""The five demo tables and their canonical columns, in CSV order."""


DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in TABLES[name].columns if c.kind == "date") for name in IMPORT_ORDER
}


DATETIME_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in TABLES[name].columns if c.kind == "datetime") for name in IMPORT_ORDER
}


MANIFEST_NAME = "demo.json"


def generate(*, clients: int = 40, therapists: int = 4, weeks: int = 16, seed: int = 7, end: date,
             until: datetime | None = None) -> dict[str, pd.DataFrame]:
    """Generate a synthetic caseload whose history is the ``weeks`` weeks ending on ``end``.

    ``until`` (a wall-clock time on ``end``, in the practice's time zone) stops submissions and
    feedback at that moment instead of at 23:59:59: nothing is dated after the moment it stands for.
    Returns one data frame per table: keys therapists, clients, assignments, submissions,
    measures; columns exactly :data:`TABLE_COLUMNS`, in order. The same arguments always give the
    same frames (only ``numpy.random.default_rng(seed)`` is used).
    """
    for name, value in (("clients", clients), ("therapists", therapists), ("weeks", weeks)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    rng = np.random.default_rng(seed)
    calendar = Calendar.ending(end, weeks, until=until)
    therapist_table = make_therapists(rng, therapists)
    caseload = make_caseload(rng, clients, therapist_table["therapist_id"].to_numpy(dtype=object), calendar)
    homework = make_homework(rng, caseload, calendar)
    submissions = make_submissions(rng, caseload, homework, calendar)
    measures = make_measures(rng, caseload, calendar)
    return {
        "therapists": therapist_table,
        "clients": caseload.table,
        "assignments": homework.table,
        "submissions": submissions,
        "measures": measures,
    }


def write_demo(
    out_dir: Path,
    *,
    clients: int = 40,
    therapists: int = 4,
    weeks: int = 16,
    seed: int = 7,
    end: date | None = None,
    timezone: str = "UTC",
) -> dict[str, int]:
    """Generate a caseload and write the five canonical CSVs plus the ``demo.json`` manifest.

    ``end`` defaults to today in ``timezone`` (an IANA name, the practice's), and then history stops at
    the moment this runs there: no submission or feedback is dated in the future. A given ``end`` runs
    to 23:59:59 that day. Returns the number of rows written per table.
    """
    until = None
    if end is None:
        until = datetime.now(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)
        end = until.date()
    tables = generate(clients=clients, therapists=therapists, weeks=weeks, seed=seed, end=end, until=until)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for table, frame in tables.items():
            _copy_to_csv(con, frame, table, out_dir / f"{table}.csv")
    manifest = {"end": end.isoformat(), "seed": seed, "clients": clients, "therapists": therapists, "weeks": weeks}
    _write_manifest(out_dir / MANIFEST_NAME, manifest)
    return {table: len(frame) for table, frame in tables.items()}


def shift_demo(src_dir: Path, dst_dir: Path, *, end: date, not_after: datetime | None = None) -> int:
    """Copy the demo CSVs so that the manifest's ``end`` becomes ``end``; return the shift in days.

    Every date and date-time column of the canonical format moves by the same whole number of
    days (wall-clock times stay as they are; weekdays are not kept). All other text is copied
    unchanged and empty fields stay empty. ``dst_dir`` gets an updated ``demo.json``; it may be
    the same folder as ``src_dir``. With ``not_after`` (a wall-clock time, the moment of the copy in
    the practice's time zone), submissions dated later are left out and feedback dated later is left
    empty, so a copy ending today holds nothing from later today.
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    manifest = json.loads((src_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    shift_days = (end - date.fromisoformat(manifest["end"])).days
    dst_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for table in TABLE_COLUMNS:
            con.execute(
                f"create or replace table demo_rows as select * from read_csv({_sql_text(src_dir / f'{table}.csv')}, "
                "header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true)"
            )
            columns = [row[0] for row in con.execute("describe demo_rows").fetchall()]
            if not_after is not None and table == "submissions":
                _keep_the_past(con, shift_days, not_after)
            select = ", ".join(_csv_column(table, column, shift_days) for column in columns)
            _copy_query_to_csv(con, f"select {select} from demo_rows", dst_dir / f"{table}.csv")
    _write_manifest(dst_dir / MANIFEST_NAME, {**manifest, "end": end.isoformat()})
    return shift_days


def _keep_the_past(con: duckdb.DuckDBPyConnection, shift_days: int, not_after: datetime) -> None:
    """Drop the staged submissions that the shift puts after `not_after`, and empty feedback it puts after it."""
    moment = {"shift": int(shift_days), "not_after": not_after.replace(tzinfo=None)}
    con.execute("delete from demo_rows where cast(submitted_at as timestamp) + to_days($shift) > $not_after", moment)
    con.execute("update demo_rows set therapist_feedback = null, feedback_at = null "
                "where cast(feedback_at as timestamp) + to_days($shift) > $not_after", moment)


def _csv_column(table: str, column: str, shift_days: int = 0) -> str:
    """Select expression writing one column in canonical text form, dates moved by ``shift_days``."""
    name = '"' + column.replace('"', '""') + '"'
    if column in DATE_COLUMNS[table]:
        text_format = "%Y-%m-%d"
    elif column in DATETIME_COLUMNS[table]:
        text_format = "%Y-%m-%dT%H:%M:%S"
    else:
        return name
    return f"strftime(cast({name} as timestamp) + to_days({int(shift_days)}), '{text_format}') as {name}"


def _copy_to_csv(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, table: str, path: Path) -> None:
    con.register("demo_frame", frame)
    try:
        select = ", ".join(_csv_column(table, column) for column in TABLE_COLUMNS[table])
        _copy_query_to_csv(con, f"select {select} from demo_frame", path)
    finally:
        con.unregister("demo_frame")


def _copy_query_to_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """Write a query's rows as CSV, through a temporary file so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"copy ({query}) to {_sql_text(temporary)} (header, delimiter ',', quote '\"')")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _sql_text(path: Path) -> str:
    """A file path as a SQL string literal (DuckDB's COPY and read_csv take no bound file names)."""
    return "'" + str(path).replace("'", "''") + "'"


def _write_manifest(path: Path, manifest: dict[str, object]) -> None:
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
