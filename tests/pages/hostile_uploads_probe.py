"""Upload each hostile file to the Data page (AppTest) in this process and measure it: run by
tests/pages/test_hostile_uploads.py in a fresh process, so its memory is this upload session's alone.

    python tests/pages/hostile_uploads_probe.py   (HOMEWORK_DB names the store)

Prints one JSON object: the process's resident memory at the start of the uploads, its peak during them
(VmHWM, the kernel's own high-water mark, reset to the resident memory at the start), and per file the seconds
from upload to the refusal on screen. Not getrusage's ru_maxrss: that starts from the high-water mark of the
process that started this one (the kernel carries it over the exec), so a pytest worker that had run a big test
before made the uploads look 700-1,200 MB heavier than they are.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from analytics.ingest.mapping import CANONICAL  # noqa: E402
from tests.ingest.corpus_files import CASES  # noqa: E402
from tests.ingest.test_limits import bomb, long_cell_workbook, shared_strings_bomb, wide_csv  # noqa: E402


def hostile_files() -> list[tuple[str, bytes]]:
    """The files past a hard limit, and every corpus file refused on its own (default mapping, no size limit)."""
    files = [("clients.xlsx", bomb()), ("sharedstrings.xlsx", shared_strings_bomb()), ("wide.csv", wide_csv()),
             ("long_cell.xlsx", long_cell_workbook(131_073))]
    files += [(c.upload_name or c.file, c.data) for c in CASES
              if c.outcome == "refused" and c.mapping == CANONICAL and c.max_bytes is None and c.existing == "refuse"
              and not c.file.startswith("ids_collide")]
    return files


def status_bytes(field: str) -> int:
    """VmRSS (resident now) or VmHWM (the peak since the last reset) of this process, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field}")


def reset_peak() -> None:
    """Set the kernel's high-water mark (VmHWM) to the resident memory now (Linux 4.0+: proc(5), clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # as tests/conftest.py: st.navigation, not the pages/ folder
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    files = hostile_files()
    at = AppTest.from_file(str(PROJECT / "dashboard.py"), default_timeout=60).run()
    at = at.switch_page("pages/data.py").run()
    reset_peak()
    start = status_bytes("VmRSS")
    results = []
    for name, data in files:
        began = time.monotonic()
        at.file_uploader[0].set_value([(name, data, "text/csv")]).run()
        at.button(key="validate_button").click().run()
        seconds = time.monotonic() - began
        errors = [e.value for e in at.error]
        results.append({"file": name, "bytes": len(data), "seconds": round(seconds, 3), "refused": bool(errors),
                        "exception": [str(e.value) for e in at.exception]})
        at.file_uploader[0].set_value([]).run()
    peak = status_bytes("VmHWM")
    print(json.dumps({"start": start, "peak": peak, "files": results}))


if __name__ == "__main__":
    main()
