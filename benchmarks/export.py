"""Time every export (tier x format) of a store, as the command line runs them: `python -m benchmarks.export --db PATH`.

Each export is written twice into a new folder under a temporary directory: by `python -m analytics export` (wall
time, which includes starting Python and importing the project, about a second) and in this process by
`exports.write_folder` (the export alone). Then the backup is restored into a new store with `import --format
parquet`. The store is copied first, so the export log rows go into the copy. Not part of the test suite.

    .venv/bin/python -m analytics demo --out /tmp/demo1m --clients 5500 --therapists 100 --weeks 52
    .venv/bin/python -m analytics import --db /tmp/s1m.duckdb /tmp/demo1m/*.csv
    .venv/bin/python -m benchmarks.export --db /tmp/s1m.duckdb [--skip-xlsx]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analytics.export import exports
from analytics.store.database import open_store
from analytics.store.scope import Scope

RUNS = [("identified", "parquet"), ("deidentified", "csv"), ("deidentified", "parquet"), ("identified", "csv"),
        ("deidentified", "xlsx"), ("identified", "xlsx")]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--skip-xlsx", action="store_true", help="leave out the Excel exports (minutes at 1M rows)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        store = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, store)
        python = [sys.executable, "-m", "analytics"]
        print(f"{'tier':>12} {'format':<8} {'command':>9} {'in process':>11} {'size':>10}")
        for tier, fmt in RUNS:
            if fmt == "xlsx" and args.skip_xlsx:
                continue
            out = Path(tmp) / f"{tier}-{fmt}"
            seconds = timed([*python, "export", "--db", str(store), "--tier", tier, "--format", fmt, "--out", str(out)])
            size = sum(p.stat().st_size for p in out.iterdir())
            con = open_store(store)
            start = time.perf_counter()
            exports.write_folder(con, exports.Request(tier, fmt, Scope.practice()), Path(tmp) / f"again-{tier}-{fmt}",
                                 exported_by="benchmark")
            in_process = time.perf_counter() - start
            con.close()
            print(f"{tier:>12} {fmt:<8} {seconds:7.2f} s {in_process:9.2f} s {size / 1e6:7.1f} MB", flush=True)
        seconds = timed([*python, "import", "--db", str(Path(tmp) / "restored.duckdb"), "--format", "parquet",
                         str(Path(tmp) / "identified-parquet")])
        print(f"{'restore':>12} {'parquet':<8} {seconds:7.2f} s", flush=True)


if __name__ == "__main__":
    main()
