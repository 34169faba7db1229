"""Time the analytics calls each page makes, on a given store: `python -m benchmarks.page_data --db PATH`.

The calls mirror pages/overview.py, pages/caseload.py and pages/client.py (the page itself adds
Streamlit's rendering on top). Each page's calls are run `--repeat` times; the median total is printed.
Open the store read-only, so a running dashboard or another benchmark can share it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

import duckdb

from analytics.metrics import adherence, attention, caseload, clients, effectiveness, mood, outcomes
from analytics.store.period import PRESETS, Period
from analytics.store.scope import Scope


def overview_calls(con, scope: Scope, period: Period, today: date) -> None:
    adherence.headline(con, scope=scope, period=period, today=today)
    adherence.weekly_completion(con, scope=scope, period=period, today=today)


def caseload_calls(con, scope: Scope, period: Period, today: date) -> None:
    adherence.headline(con, scope=scope, period=period, today=today)
    attention.needs_attention(con, scope=scope, today=today, thresholds=attention.load_thresholds(con))
    caseload.clients_with_nothing_due(con, scope=scope, period=period, today=today)
    group = "therapist" if scope.is_practice else "client"
    caseload.breakdown(con, scope=scope, period=period, today=today, by=group)
    caseload.completion_distribution(con, scope=scope, period=period, today=today)
    caseload.weekly_grid(con, scope=scope, period=period, today=today, by=group)
    caseload.client_overview(con, scope=scope, period=period, today=today)


def client_calls(con, scope: Scope, period: Period, today: date, client_id: str) -> None:
    profile = clients.client_profile(con, scope=scope, client_id=client_id)
    their_caseload = scope.narrowed_to(profile.therapist_id)
    caseload.client_overview(con, scope=their_caseload, period=period, today=today)
    caseload.weekly_grid(con, scope=their_caseload, period=period, today=today, by="client")
    mood.mood_lifts(con, scope=scope, client_id=client_id, period=period, today=today)
    mood.weekly_mood(con, scope=scope, client_id=client_id, period=period, today=today)
    mood.mood_trend(con, scope=scope, client_id=client_id, period=period, today=today)
    outcomes.measure_series(con, scope=scope, client_id=client_id)
    outcomes.measure_change(con, scope=scope, client_id=client_id)
    effectiveness.by_type(con, scope=scope, period=period, today=today, client_id=client_id)
    clients.submission_list(con, scope=scope, client_id=client_id, period=period, today=today)


def median_seconds(run: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--preset", default="Last 28 days", choices=list(PRESETS))
    args = parser.parse_args()

    con = duckdb.connect(args.db, read_only=True)
    today = date.today()
    period = Period.last_days(PRESETS[args.preset], today=today)
    submissions = con.execute("select count(*) from submissions").fetchone()[0]
    therapist = con.execute("select min(therapist_id) from clients").fetchone()[0]
    # The client with the most submissions: the heaviest Client page.
    client = con.execute(
        "select a.client_id from submissions s join assignments a using (assignment_id) "
        "group by 1 order by count(*) desc, 1 limit 1"
    ).fetchone()[0]
    print(f"{args.db}: {submissions:,} submissions; period {args.preset}; median of {args.repeat} runs")
    cases = [
        ("Overview, practice", lambda: overview_calls(con, Scope.practice(), period, today)),
        ("Caseload, practice", lambda: caseload_calls(con, Scope.practice(), period, today)),
        (f"Caseload, therapist {therapist}", lambda: caseload_calls(con, Scope.therapist(therapist), period, today)),
        (f"Client {client}", lambda: client_calls(con, Scope.practice(), period, today, client)),
    ]
    for name, run in cases:
        run()  # warm up: the first query of a process pays for loading the file
        print(f"  {name:<32} {median_seconds(run, args.repeat):7.3f} s")


if __name__ == "__main__":
    main()
