"""Time a 1,000,000-row flat export imported from the command line, with its peak memory.

    .venv/bin/python benchmarks/flat_import.py [--rows 1000000] [--keep DIR]

Writes a synthetic flat export (one row per submission, with therapist, client and assignment
columns named as a clinic system might name them, 200 therapists, 20,000 clients, 100,000
assignments), then runs `/usr/bin/time -v python -m analytics import --format flat` on a fresh
store and prints the wall time, the CPU seconds of the process (steadier than wall time on a shared
machine), the peak resident memory and the load average. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
HEADER = ["Therapist ID", "Therapist name", "Patient ID", "Client name", "Homework", "Type", "Assigned",
          "Due date", "Expected", "Submission ID", "Submitted", "Completion", "Mood pre", "Mood post", "Minutes",
          "Notes"]
TYPES = ["journaling", "behavioural", "mindfulness", "creative", "narrative"]
COMPLETIONS = ["done", "half", "missed"]


def write_export(path: Path, rows: int) -> None:
    """rows submissions: 10 per assignment, 5 assignments per client, 100 clients per therapist."""
    start = date(2025, 1, 6)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            assignment = n // 10
            client = assignment // 5
            therapist = client // 100
            assigned = start + timedelta(days=assignment % 300)
            writer.writerow([
                f"T{therapist:04d}", f"Therapist {therapist}", f"C{client:06d}", f"Client {client}",
                f"Task {assignment % 7}", TYPES[assignment % 5], assigned.isoformat(),
                (assigned + timedelta(days=7)).isoformat(), "10", f"S{n:08d}",
                f"{(assigned + timedelta(days=n % 7)).isoformat()}T{8 + n % 12:02d}:30:00",
                COMPLETIONS[n % 3], str(n % 11), str((n + 2) % 11), str(n % 60),
                "felt better, \"quoted\" words" if n % 50 == 0 else "",
            ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the export and store here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        export, store = folder / "export.csv", folder / "bench.duckdb"
        store.unlink(missing_ok=True)
        began = time.monotonic()
        write_export(export, args.rows)
        print(f"wrote {args.rows} rows ({export.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - began:.1f} s")
        command = ["/usr/bin/time", "-v", sys.executable, "-m", "analytics", "import", "--db", str(store),
                   "--format", "flat", str(export)]
        began = time.monotonic()
        result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
        wall = time.monotonic() - began
        print(result.stdout[-2000:])
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", result.stderr))
        print(f"exit {result.returncode}; wall time {wall:.1f} s; CPU (user+sys) {cpu:.1f} s; peak RSS "
              f"{int(peak.group(1)) / 1024:.0f} MB; load average {_load()}" if peak else result.stderr[-2000:])
        return result.returncode


def _load() -> str:
    """The 1, 5 and 15 minute load averages: wall times on a shared machine mean little without them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
