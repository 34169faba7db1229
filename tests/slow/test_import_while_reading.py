"""An import while sessions read: every read sees the store before the batch or after it, never half of it.

The dashboard is one process with one DuckDB connection and a cursor per session; here one thread imports a whole
canonical batch on its cursor (import_batch, one transaction) while reader threads, each on its own cursor, read
the row counts and the Overview's headline figures over and over. A single statement, and a group of statements
read in one read transaction, must each give exactly the before or the after figures. Cost: about 5 s.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from analytics.ingest.importer import import_batch
from analytics.metrics import adherence
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope
from benchmarks.faults import END, TABLES

pytestmark = pytest.mark.slow

READERS = 3
TODAY = END
PERIOD = Period.last_days(84, today=TODAY)
COUNTED = ("assignments", "submissions", "measures")


def counts(cur) -> tuple[int, ...]:
    return tuple(cur.execute(f"select count(*) from {t}").fetchone()[0] for t in COUNTED)  # names from COUNTED


def snapshot(cur) -> tuple:
    """The counts and the whole practice's headline, read in one read transaction (one view of the store)."""
    cur.execute("begin transaction")
    try:
        return counts(cur), adherence.headline(cur, scope=Scope.practice(), period=PERIOD, today=TODAY)
    finally:
        cur.execute("commit")


def files(folder: Path, tables) -> list[tuple[str, Path]]:
    return [(f"{t}.csv", folder / f"{t}.csv") for t in tables]


def test_readers_see_the_store_before_or_after_an_import_never_half(small_practice: Path, tmp_path: Path) -> None:
    con = open_store(tmp_path / "store.duckdb")
    first = import_batch(con, files(small_practice, ("therapists", "clients", "assignments")), scope=Scope.practice())
    assert first.accepted, first.to_text()
    # The second batch adds submissions and measures, and 500 assignments removed here; the rest it repeats unchanged.
    con.execute("delete from assignments where assignment_id in (select assignment_id from assignments limit 500)")
    before = snapshot(con.cursor())
    done = threading.Event()
    seen: list[tuple[float, float, str, object]] = []  # (began, ended, kind, what was read)
    problems: list[BaseException] = []

    def read() -> None:
        cur = con.cursor()
        try:
            while not done.is_set() or len(seen) < 20:
                began = time.monotonic()
                single = cur.execute("select count(*) from submissions").fetchone()[0]
                seen.append((began, time.monotonic(), "statement", single))
                began = time.monotonic()
                seen.append((began, time.monotonic(), "transaction", snapshot(cur)))
        except BaseException as exc:  # reported by the test below
            problems.append(exc)

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    report = import_batch(con.cursor(), files(small_practice, TABLES), scope=Scope.practice())
    ended = time.monotonic()
    done.set()
    for reader in readers:
        reader.join(timeout=60)
    assert report.accepted, report.to_text()
    assert not problems, problems
    after = snapshot(con.cursor())
    assert before != after and before[0][0] != after[0][0] and before[0][1] != after[0][1]
    assert before[1].current != after[1].current  # the batch changes the headline figures themselves

    for _, _, kind, what in seen:
        if kind == "statement":
            assert what in (before[0][1], after[0][1]), f"a count of submissions half-way: {what}"
        else:
            assert what in (before, after), f"a read transaction saw half the batch: {what[0]}"
    during = [what for began, finished, kind, what in seen if began > started and finished < ended and kind == "transaction"]
    assert during, f"the readers must read while the import runs ({ended - started:.2f} s)"
    # After the import, every reader sees the batch.
    assert all(what in (after, after[0][1]) for began, _, _, what in seen if began > ended)
