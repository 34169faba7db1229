"""Time every page's server-side run under AppTest: `python -m benchmarks.pages --db PATH --today DATE [--json OUT]`.

What AppTest measures is what the server does for one click: the frame (dashboard.py), the page's analytics
calls and Streamlit's rendering into the element tree, without a browser. The dashboard opens the store itself
(read and written like the server would: use a copy). `dashboard.today()` is fixed at --today, the data's last day,
so the periods see the data whatever the date. Per page, at the whole practice, local mode (admin):

  seconds       median and p95 of `--runs` reruns after one warm-up run;
  chart_bytes   the sum of the Plotly figure JSON the page sends (every st.plotly_chart);
  max_table_rows  the most rows of any st.dataframe / st.table on the page.

Then the Client page over `--clients` different clients (each opened once by its address, after a warm-up): p95 and
median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0-1) of the samples."""
    ordered = sorted(samples)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))  # ceil(share * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


def spread(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "p95": percentile(samples, 0.95), "n": len(samples)}


def payload(at) -> tuple[int, int]:
    """(bytes of Plotly figure JSON, most rows of a table) in the page's element tree."""
    chart_bytes = sum(len(chart.proto.spec.encode("utf-8")) for chart in at.get("plotly_chart"))
    rows = [len(frame.value) for frame in at.dataframe] + [len(t.value) for t in at.table]
    return chart_bytes, max(rows, default=0)


def allow_navigation() -> None:
    """As tests/conftest.py: AppTest runs the app with st.navigation, not by discovering the pages/ folder."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init


def fail_on_exception(at, what: str):
    if at.exception:
        raise SystemExit(f"{what}: the page raised {[e.value for e in at.exception]}")
    return at


def measure(db: Path, today: date, *, runs: int, clients: int) -> dict:
    os.environ["HOMEWORK_DB"] = str(db)
    sys.path.insert(0, str(PROJECT_DIR))
    allow_navigation()
    from streamlit.testing.v1 import AppTest

    import dashboard  # the module the frame and the pages share (see dashboard.py's docstring)

    dashboard.today = lambda: today
    at = fail_on_exception(AppTest.from_file(str(PROJECT_DIR / "dashboard.py"), default_timeout=600).run(), "first run")
    pages = {}
    for path, title, _ in dashboard.PAGES:
        fail_on_exception(at.switch_page(path).run(), title)  # warm-up: the first run of a page in this process
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            at.run()
            samples.append(time.perf_counter() - started)
            fail_on_exception(at, title)
        chart_bytes, rows = payload(at)
        pages[title] = {"seconds": spread(samples), "chart_bytes": chart_bytes, "max_table_rows": rows}
        print(f"  {title:<14} median {pages[title]['seconds']['median']:6.3f} s  p95 {pages[title]['seconds']['p95']:6.3f} s"
              f"  charts {chart_bytes / 1000:8.1f} kB  rows {rows}", file=sys.stderr, flush=True)
    ids = clients_spread_over_the_store(db, clients)
    fail_on_exception(at.switch_page("pages/client.py").run(), "Client")
    samples = []
    for client_id in ids:
        # Opened by its address, as a link from the Caseload opens it (the picker of a large practice lists only
        # bounds.PICKER_CHOICES clients until something is typed in its search box).
        at.query_params[dashboard.CLIENT_PARAM] = client_id
        started = time.perf_counter()
        at.run()
        samples.append(time.perf_counter() - started)
        fail_on_exception(at, f"Client {client_id}")
        if at.selectbox(key=dashboard.CLIENT_PICKER_KEY).value != client_id:
            raise SystemExit(f"Client {client_id}: the page did not open that client")
    one_client = {**spread(samples), "clients": len(ids)}
    print(f"  Client page over {len(ids)} clients: median {one_client['median']:.3f} s  p95 {one_client['p95']:.3f} s",
          file=sys.stderr, flush=True)
    return {"pages": pages, "client_page": one_client}


def clients_spread_over_the_store(db: Path, count: int) -> list[str]:
    """`count` client ids evenly spread over the sorted ids, the first one left out (the page opens on it)."""
    from analytics.store.database import open_store

    con = open_store(db)  # the dashboard has not opened it yet in this process; closed before it does
    try:
        ids = [row[0] for row in con.execute("select client_id from clients order by client_id").fetchall()]
    finally:
        con.close()
    if len(ids) < 2:
        return ids
    step = max(1, (len(ids) - 1) / count)
    return list(dict.fromkeys(ids[1 + int(i * step)] for i in range(min(count, len(ids) - 1))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a store the benchmark may write to (a copy)")
    parser.add_argument("--today", type=date.fromisoformat, required=True, help="the date the pages take as today")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    figures = measure(args.db, args.today, runs=args.runs, clients=args.clients)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    else:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
