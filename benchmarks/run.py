"""The benchmark anyone can run: `python -m benchmarks.run --scale demo|1m|10m` (`make bench`, `make bench SCALE=10m`).

For each scale it generates the synthetic practice once (`python -m analytics demo` with a fixed --end, cached in
.bench/data/ under a name made of the generator's parameters), then times, on this machine:

  import            a fresh store from the five CSVs (`python -m analytics import`, a process: wall time, peak RSS)
  reimport          the same files again into that store (nothing changes)
  pandas_read       pandas reading the same five files (a process), the yardstick of the import
  pages             every page's server-side run under AppTest (benchmarks/pages.py): median and p95 of --runs
                    reruns after a warm-up, the Plotly figure JSON each page sends, its largest table's rows
  client_page       the Client page over 20 different clients: median and p95
  summary           `python -m analytics summary --by client` as a whole process (median of --runs)
  pandas_summary    the same per-client table computed the idiomatic pandas way from the CSVs (a process,
                    benchmarks/pandas_summary.py), and whether its figures agree with the store's

It prints a table and writes .bench/results-<scale>.json. Timings on a shared machine are noisy: the load average
and the machine's speed (`speed_probe`) before and after are recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_DIR / ".bench"
TABLES = ("therapists", "clients", "assignments", "submissions", "measures")
END = date(2026, 11, 29)  # the data's last day, whatever day the benchmark runs: the same files every time


@dataclass(frozen=True)
class Scale:
    """The generator's parameters of one scale (`python -m analytics demo`)."""

    clients: int
    therapists: int
    weeks: int
    seed: int = 7
    end: date = END

    @property
    def key(self) -> str:
        return f"c{self.clients}-t{self.therapists}-w{self.weeks}-s{self.seed}-e{self.end:%Y%m%d}"


SCALES = {
    "tiny": Scale(clients=8, therapists=2, weeks=4),  # for the harness's own test: seconds
    "demo": Scale(clients=40, therapists=4, weeks=16),  # the bundled demo practice's size
    "1m": Scale(clients=5500, therapists=100, weeks=52),  # about 1,000,000 submissions
    "10m": Scale(clients=55000, therapists=1000, weeks=52),  # about 10,000,000 submissions
}

# Every field results-<scale>.json has (tests/test_bench.py checks a tiny run against it).
FIELDS = ("scale", "parameters", "measured_at", "machine", "data", "import", "reimport", "pandas_read", "pages",
          "client_page", "summary", "pandas_summary", "summary_vs_pandas")


def python() -> list[str]:
    return [sys.executable]


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# The speed probe's work: additions in a pure-Python loop, and integers summed by one DuckDB query.
PROBE_ADDITIONS = 10_000_000
PROBE_SUMMED = 200_000_000


def speed_probe() -> dict:
    """How fast this machine runs now, in seconds (the best of three): a pure-Python loop of PROBE_ADDITIONS
    additions, and DuckDB summing PROBE_SUMMED generated integers. A VM shared with others wanders by 10-50% within an
    hour, so figures of two runs compare only beside these (the same code measured 0.17 s and 0.25 s for one page)."""
    import duckdb

    def best(work) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return round(min(times), 3)

    def loop() -> None:
        total = 0
        for n in range(PROBE_ADDITIONS):
            total += n

    con = duckdb.connect()
    try:
        summed = best(lambda: con.execute("select sum(i) from range(?) t(i)", [PROBE_SUMMED]).fetchone())
    finally:
        con.close()
    return {"python_loop_seconds": best(loop), "duckdb_sum_seconds": summed}


def machine() -> dict:
    import duckdb
    import pandas
    import streamlit

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor() or None,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "streamlit": streamlit.__version__, "load_average_before": load_average(), "speed_before": speed_probe()}


def run_process(command: list[str], *, stdout=subprocess.DEVNULL, check: bool = True) -> dict:
    """Run a command to its end: wall seconds, CPU seconds (user + system) and peak RSS (MB) of that process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=stdout, stderr=subprocess.PIPE)
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 and check:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{stderr.decode(errors='replace')[-3000:]}")
    return {"seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def repeated(command: list[str], runs: int) -> dict:
    """A command run once to warm up (file cache), then `runs` times: median wall and CPU seconds, every sample."""
    run_process(command)
    samples = [run_process(command) for _ in range(runs)]
    walls = [s["seconds"] for s in samples]
    return {"median": statistics.median(walls), "min": min(walls), "samples": walls,
            "cpu_median": statistics.median(s["cpu_seconds"] for s in samples)}


def generate(scale: Scale, data_dir: Path) -> tuple[Path, float | None]:
    """The scale's CSV folder, generated once into data_dir (a new folder, moved into place when complete)."""
    folder = data_dir / scale.key
    if (folder / "demo.json").is_file():
        return folder, None
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{scale.key}-", dir=data_dir))
    started = time.perf_counter()
    run_process([*python(), "-m", "analytics", "demo", "--out", str(partial), "--clients", str(scale.clients),
                 "--therapists", str(scale.therapists), "--weeks", str(scale.weeks), "--seed", str(scale.seed),
                 "--end", scale.end.isoformat()])
    seconds = time.perf_counter() - started
    partial.rename(folder)
    return folder, seconds


def pandas_read(folder: Path) -> dict:
    """pandas reading the five files as they are, in a process of its own (import of pandas included)."""
    code = ("import sys, pandas as pd\n"
            f"for name in {list(TABLES)!r}:\n"
            "    pd.read_csv(f'{sys.argv[1]}/{name}.csv')\n")
    return run_process([*python(), "-c", code, str(folder)])


def pages(store: Path, today: date, *, runs: int, clients: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pages.json"
        run_process([*python(), "-m", "benchmarks.pages", "--db", str(store), "--today", today.isoformat(),
                     "--runs", str(runs), "--clients", str(clients), "--json", str(out)])
        return json.loads(out.read_text())


def summary_agrees(folder: Path, store: Path, as_of: date) -> list[str]:
    """The columns where the pandas table and the store's `summary --by client` disagree (none, if all is well)."""
    import duckdb
    import numpy as np

    from analytics.metrics import caseload
    from analytics.store.scope import Scope
    from benchmarks.pandas_summary import per_client

    ours = per_client(folder, as_of)
    with duckdb.connect(str(store), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        theirs = caseload.client_summary(con, scope=Scope.practice(), as_of=as_of)
    if list(ours.columns) != list(theirs.columns) or len(ours) != len(theirs):
        return ["(columns or rows)"]
    differ = []
    for column in theirs.columns:
        a, b = ours[column], theirs[column]
        if column == "last_submission_at":
            same = ((a.isna() & b.isna()) | (a == b)).all()
        elif b.dtype.kind in "if":
            # The median feedback delay is rounded to one decimal, and a median of an even count lands on x.x5
            # often (minutes / 1440): pandas and DuckDB compute its last bits differently, so one step may differ.
            tolerance = 0.1 + 1e-9 if column == "median_feedback_days" else 1e-9
            same = np.allclose(a.astype(float), b.astype(float), equal_nan=True, rtol=0, atol=tolerance)
        else:
            same = (a.astype(str) == b.astype(str)).all()
        if not same:
            differ.append(column)
    return differ


def submissions_in(store: Path) -> dict:
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        return {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in TABLES}


def load_and_faults(store: Path, folder: Path, *, sessions: list[int], kills: int, bench_dir: Path) -> dict:
    """The load test at each of `sessions` (benchmarks/load.py) and `kills` kills of the import (benchmarks/faults.py)."""
    found: dict = {}
    for n in sessions:
        print(f"   load test, {n} sessions", file=sys.stderr, flush=True)
        out = bench_dir / "work" / f"load-{n}.json"
        run_process([*python(), "-m", "benchmarks.load", "--db", str(store), "--sessions", str(n), "--rounds", "1",
                     "--json", str(out)], check=False)
        found.setdefault("load", {})[str(n)] = json.loads(out.read_text()) if out.is_file() else None
    if kills:
        print(f"   faults, {kills} kills", file=sys.stderr, flush=True)
        out = bench_dir / "work" / "faults.json"
        run_process([*python(), "-m", "benchmarks.faults", "--data", str(folder), "--kills", str(kills),
                     "--json", str(out)], check=False)
        found["faults"] = json.loads(out.read_text()) if out.is_file() else None
    return found


def bench(scale_name: str, *, runs: int, clients: int, bench_dir: Path, sessions: list[int] = (),
          kills: int = 0) -> dict:
    scale = SCALES[scale_name]
    print(f"== {scale_name}: {scale.key}", file=sys.stderr, flush=True)
    results: dict = {"scale": scale_name, "parameters": {**scale.__dict__, "end": scale.end.isoformat()},
                     "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    folder, generated = generate(scale, bench_dir / "data")
    files = [str(folder / f"{t}.csv") for t in TABLES]
    store = bench_dir / "work" / f"{scale_name}.duckdb"
    store.parent.mkdir(parents=True, exist_ok=True)
    for old in (store, Path(f"{store}.wal")):
        old.unlink(missing_ok=True)
    import_command = [*python(), "-m", "analytics", "import", "--db", str(store), "--quiet", *files]
    print("   import", file=sys.stderr, flush=True)
    results["import"] = run_process(import_command)
    results["data"] = {"folder": str(folder), "generated_seconds": generated, "rows": submissions_in(store)}
    print("   re-import", file=sys.stderr, flush=True)
    results["reimport"] = run_process(import_command)
    results["pandas_read"] = pandas_read(folder)
    as_of = scale.end.isoformat()
    print("   summary", file=sys.stderr, flush=True)
    results["summary"] = repeated([*python(), "-m", "analytics", "summary", "--db", str(store), "--by", "client",
                                   "--as-of", as_of], runs)
    results["pandas_summary"] = repeated([*python(), "-m", "benchmarks.pandas_summary", "--csv", str(folder),
                                          "--as-of", as_of], runs)
    results["pandas_summary"]["disagrees_on"] = summary_agrees(folder, store, scale.end)
    results["summary_vs_pandas"] = results["pandas_summary"]["median"] / results["summary"]["median"]
    print("   pages", file=sys.stderr, flush=True)
    results.update(pages(store, scale.end, runs=runs, clients=clients))
    results.update(load_and_faults(store, folder, sessions=list(sessions), kills=kills, bench_dir=bench_dir))
    results["machine"]["load_average_after"] = load_average()
    results["machine"]["speed_after"] = speed_probe()
    return results


def table(results: dict) -> str:
    """The figures as aligned lines for the terminal."""
    speed = [results["machine"][f"speed_{when}"] for when in ("before", "after")]
    lines = [f"{results['scale']}: {results['data']['rows']['submissions']:,} submissions, "
             f"{results['machine']['cpus']} CPUs, load average {results['machine']['load_average_before']} -> "
             f"{results['machine']['load_average_after']}",
             f"  machine speed before -> after: a Python loop of {PROBE_ADDITIONS:,} additions "
             f"{speed[0]['python_loop_seconds']:.2f} -> {speed[1]['python_loop_seconds']:.2f} s, DuckDB summing "
             f"{PROBE_SUMMED:,} integers {speed[0]['duckdb_sum_seconds']:.2f} -> {speed[1]['duckdb_sum_seconds']:.2f} s"]

    def line(what: str, value: str) -> None:
        lines.append(f"  {what:<34} {value}")

    line("import (fresh store)", f"{results['import']['seconds']:7.2f} s   (CPU {results['import']['cpu_seconds']:.2f} s)   "
         f"peak RSS {results['import']['peak_rss_mb']:,.0f} MB")
    line("re-import (same files)", f"{results['reimport']['seconds']:7.2f} s")
    line("pandas reads the files", f"{results['pandas_read']['seconds']:7.2f} s")
    line("summary --by client (process)", f"{results['summary']['median']:7.2f} s   (median; CPU "
         f"{results['summary']['cpu_median']:.2f} s)")
    agree = "agrees" if not results["pandas_summary"]["disagrees_on"] else \
        f"DISAGREES on {', '.join(results['pandas_summary']['disagrees_on'])}"
    line("pandas per-client table (process)", f"{results['pandas_summary']['median']:7.2f} s   (CPU "
         f"{results['pandas_summary']['cpu_median']:.2f} s; {results['summary_vs_pandas']:.1f}x the summary's time; {agree})")
    for title, page in results["pages"].items():
        line(f"page {title}", f"{page['seconds']['median']:7.3f} s median {page['seconds']['p95']:7.3f} s p95   "
             f"charts {page['chart_bytes'] / 1000:7.1f} kB   largest table {page['max_table_rows']:,} rows")
    client = results["client_page"]
    line(f"Client page, {client['clients']} clients", f"{client['median']:7.3f} s median {client['p95']:7.3f} s p95")
    for n, load in results.get("load", {}).items():
        if load is None:
            line(f"load test, {n} sessions", "did not finish (see its output)")
            continue
        timing = load["timings"]["all"]
        line(f"load test, {n} sessions", f"{timing['p50']:7.2f} s p50 {timing['p95']:7.2f} s p95 (click to settled page)   "
             f"server RSS peak {load['rss']['peak']:,.0f} MB   leaks {len(load['leaks'])}, failures {len(load['failures'])}")
        if cpu := load.get("cpu"):
            line("", f"server CPU {cpu['server_per_click_s']:.2f} s a click; of {cpu['wall_s'] * cpu['cores']:.0f} "
                     f"core-seconds the server used {cpu['server_s']:.0f}, the whole machine {cpu['machine_s']:.0f}")
    if "faults" in results:
        faults = results["faults"]
        if faults is None:
            line("faults", "did not finish (see its output)")
        else:
            states = [k["state"] for k in faults["kills"]]
            disk = faults.get("full_disk") or {}
            line(f"faults, {len(states)} kills", f"{states.count('before')} before, {states.count('after')} after, "
                 f"{len(states) - states.count('before') - states.count('after')} other; full disk: "
                 f"{disk.get('message', 'no result (see its output)')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="append", choices=list(SCALES),
                        help="repeatable (default: demo and 1m, the quick run)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each page and command (default 5)")
    parser.add_argument("--clients", type=int, default=20, help="clients whose page is opened (default 20)")
    parser.add_argument("--dir", type=Path, default=BENCH_DIR, help="cache and results folder (default .bench/)")
    parser.add_argument("--load", default="", help="sessions of the load test, e.g. 1,10,25 (default: none)")
    parser.add_argument("--kills", type=int, default=0, help="kills of the fault test (default: none)")
    args = parser.parse_args(argv)
    sessions = [int(n) for n in args.load.split(",") if n.strip()]
    for name in args.scale or ["demo", "1m"]:
        results = bench(name, runs=args.runs, clients=args.clients, bench_dir=args.dir, sessions=sessions,
                        kills=args.kills)
        out = args.dir / f"results-{name}.json"
        out.write_text(json.dumps(results, indent=2, default=str))
        print(table(results))
        print(f"  (written to {out})")
        shutil.rmtree(args.dir / "work", ignore_errors=True)  # the stores: data/ stays cached
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
