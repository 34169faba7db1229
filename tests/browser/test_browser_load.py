"""Many people at once, small: benchmarks/load.py with 3 browser sessions on the demo store, each viewing as another
therapist, plus a control session on the whole practice and an admin importing new clients for those therapists on
the Data page meanwhile. Every page settles, without an error, and no session shows a client or a therapist of another
therapist's caseload. Cost: about 30 s on a quiet machine (one server, one Chromium, 5 contexts).

Chromium is required, never skipped (HOMEWORK_CHROMIUM names it when it is not /usr/bin/chromium). The full run:
`python -m benchmarks.load --db STORE --sessions 25`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import load

pytestmark = pytest.mark.browser

PROJECT_DIR = Path(__file__).resolve().parents[2]
SESSIONS = 3


@pytest.fixture
def demo_store(tmp_path: Path) -> Path:
    store = tmp_path / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "analytics", "load-demo", "--db", str(store)], cwd=PROJECT_DIR, check=True,
                   capture_output=True)
    return store


def test_three_sessions_as_three_therapists_see_only_their_own_clients(demo_store: Path, tmp_path: Path) -> None:
    truth = load.read_truth(demo_store)
    therapists = load.session_therapists(truth, SESSIONS)
    assert len(set(therapists)) == SESSIONS  # three different caseloads
    report = load.run(demo_store, SESSIONS, rounds=1, work=tmp_path / "run", control=True, import_while_reading=True)
    print(report.to_text())
    assert report.failures == []
    assert report.leaks == []
    # The control session, on the whole practice, sees other therapists' clients: the check can find a leak.
    assert report.control_leaks and report.control_leaks > 0
    for page in ("Caseload", "Client", load.PICKED, "Effectiveness", "Planner"):
        assert report.timings[page]["n"] == SESSIONS, f"{page} settled in {report.timings[page]['n']} of {SESSIONS} sessions"
    assert report.rss["peak"] > report.rss["server started"] > 0
    # The CPU of the timed clicks: the server's is part of the whole machine's, which the cores' wall time bounds.
    cpu = report.cpu
    assert cpu is not None and 0 < cpu["server_s"] <= cpu["machine_s"] <= cpu["wall_s"] * cpu["cores"] * 1.05
    clicks = sum(t["n"] for page, t in report.timings.items() if page != "all")
    assert 0 < cpu["server_per_click_s"] <= cpu["server_s"] / clicks + 0.001  # the control's and importer's clicks count too
    # The import on the Data page, made while the sessions read, finished ("Imported."): its newcomers are in the truth
    # the leak check used, each allowed in its own therapist's session only.
    assert report.imported is not None and "Import (Data page)" in report.imported
