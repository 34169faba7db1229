"""The command line starts fast: `summary` and `plan` import only what they use, and the one-query client summary
gives exactly the figures of the two queries it replaces."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analytics import cli
from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import DATE_ORDERS, PRESET_MAPPINGS
from analytics.metrics import adherence, caseload
from analytics.planning import suggest
from analytics.store.database import PROJECT_DIR, open_store, set_timezone
from analytics.store.scope import Scope

DEMO = PROJECT_DIR / "data" / "demo"
DEMO_END = date.fromisoformat(json.loads((DEMO / "demo.json").read_text())["end"])
TABLES = ("therapists", "clients", "assignments", "submissions", "measures")

# Not needed to read the store and print a table: plotting, the web app, statistics, Excel, Parquet, calendars.
HEAVY = ("plotly", "streamlit", "scipy", "openpyxl", "pyarrow.parquet", "icalendar", "analytics.present",
         "analytics.ingest.importer", "analytics.export.exports")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    """A store holding the bundled demo practice (40 clients, 16 weeks)."""
    path = tmp_path_factory.mktemp("startup") / "demo.duckdb"
    con = open_store(path)
    report = import_batch(con, [(f"{t}.csv", DEMO / f"{t}.csv") for t in TABLES], scope=Scope.practice(),
                          imported_by="test")
    assert report.accepted, report.to_text()
    con.close()
    return path


def modules_loaded_by(argv: list[str]) -> tuple[int, str, set[str]]:
    """Run the command line in a fresh interpreter: (exit code, its output, the modules it had imported at the end)."""
    probe = ("import sys, json, contextlib, io\n"
             "from analytics.cli import main\n"
             "out = io.StringIO()\n"
             "with contextlib.redirect_stdout(out):\n"
             f"    code = main({argv!r})\n"
             "print(json.dumps([code, out.getvalue(), sorted(sys.modules)]))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    code, output, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return code, output, set(modules)


@pytest.mark.parametrize("argv", [
    ["summary", "--by", "client", "--as-of", DEMO_END.isoformat()],
    ["summary", "--by", "client", "--format", "csv", "--as-of", DEMO_END.isoformat()],
    ["summary", "--by", "type", "--format", "json", "--as-of", DEMO_END.isoformat()],
    ["plan", "--client", "C001", "--suggest", "--as-of", DEMO_END.isoformat()],
], ids=["summary-table", "summary-csv", "summary-by-type-json", "plan"])
def test_summary_and_plan_import_only_what_they_use(demo_store, argv):
    code, output, modules = modules_loaded_by([*argv, "--db", str(demo_store)])
    assert code == 0
    assert len(output.splitlines()) > 3  # it did print its table, suggestions or records
    loaded = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert loaded == []


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_the_summary_by_client_is_printed_without_pandas(demo_store, fmt):
    # DuckDB's rows printed as format_frame prints them (analytics/cli_table.py): no pandas, NumPy or Arrow at all.
    code, output, modules = modules_loaded_by(["summary", "--by", "client", "--format", fmt, "--as-of",
                                               DEMO_END.isoformat(), "--db", str(demo_store)])
    assert code == 0 and len(output.splitlines()) == 41  # the header and the demo's 40 clients
    assert sorted(m for m in modules if m.split(".")[0] in ("pandas", "numpy", "pyarrow")) == []


def test_what_needs_statistics_still_imports_it(demo_store):
    # needs-attention rests on scipy (the mood trend's test): the lazy import must really happen.
    code, output, modules = modules_loaded_by(["summary", "--by", "needs-attention", "--as-of", DEMO_END.isoformat(),
                                               "--db", str(demo_store)])
    assert code == 0 and "scipy" in modules


def test_the_parsers_choices_are_those_of_the_modules_they_name():
    assert sorted(cli.SUMMARY_GROUPS) == sorted(adherence.GROUP_BY)
    assert list(cli.IMPORT_FORMATS) == list(PRESET_MAPPINGS)
    assert list(cli.DATE_ORDER_NAMES) == list(DATE_ORDERS)
    assert cli.MAX_SUGGESTIONS == suggest.MAX_SUGGESTIONS


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_the_one_query_client_summary_equals_summary_and_client_overview(demo_store, tmp_path, zone):
    path = tmp_path / "copy.duckdb"
    path.write_bytes(demo_store.read_bytes())
    con = open_store(path)
    set_timezone(con, zone)
    # client_overview's feedback delay subtracts two instants as an interval, which is elapsed time when the
    # session's time zone is UTC; the one query takes elapsed time in any session time zone.
    con.execute("set TimeZone = 'UTC'")
    therapist = con.execute("select min(therapist_id) from clients").fetchone()[0]
    compared = 0
    for as_of in (DEMO_END, DEMO_END.replace(day=1), date(2020, 1, 1)):
        for scope in (Scope.practice(), Scope.therapist(therapist), Scope.therapist("nobody")):
            fast = caseload.client_summary(con, scope=scope, as_of=as_of)
            reference = caseload.client_summary_composed(con, scope=scope, as_of=as_of)
            pd.testing.assert_frame_equal(fast, reference)
            compared += len(fast)
    assert compared > 40  # rows were compared, not empty frames only
    con.close()
