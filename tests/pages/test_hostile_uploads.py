"""Uploads cannot stall the server: each hostile file uploaded to the Data page (an .xlsx unpacking to 199 MB, one
with 25 MB of shared strings, 20,002 columns, a 131,073-character cell, and every file of the corpus that is
refused) is refused within 5 seconds, and the process's memory stays under 500 MB above its start. Measured in a
fresh process (tests/pages/hostile_uploads_probe.py), so nothing else shares its memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).resolve().parent / "hostile_uploads_probe.py"
SECONDS = 5.0
MEGABYTES = 500


def test_each_hostile_upload_is_refused_within_5_seconds_and_500_mb(store_path: Path):
    run = subprocess.run([sys.executable, str(PROBE)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "HOMEWORK_DB": str(store_path)}, cwd=PROBE.parents[2])
    assert run.returncode == 0, run.stderr[-3000:]
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    files = measured["files"]
    assert len(files) >= 20
    assert {f["file"] for f in files} >= {"clients.xlsx", "sharedstrings.xlsx", "wide.csv", "long_cell.xlsx"}
    for f in files:
        assert f["exception"] == [], f
        assert f["refused"], f"{f['file']} was not refused on screen"
        assert f["seconds"] < SECONDS, f"{f['file']} took {f['seconds']} s"
    grew = (measured["peak"] - measured["start"]) / (1 << 20)
    assert grew < MEGABYTES, f"memory grew by {grew:.0f} MB"
