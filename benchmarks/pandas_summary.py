"""The per-client summary written the idiomatic pandas way, from the canonical CSV files: the yardstick the command
line's `summary --by client` is timed against. `python -m benchmarks.pandas_summary --csv DIR --as-of DATE`.

It reads clients.csv, assignments.csv and submissions.csv and prints the same table as `python -m analytics summary
--by client` (the definitions of data/README.md: credit capped at expected_count, on-time credit, mood lift, the
streak of weeks at 80% or more, days since the last submission, feedback coverage and delay), for a practice whose
time zone is UTC (the demo's: times in the files are then the practice's clock). It imports nothing of the project,
as someone analysing the files by hand would not.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

STREAK_THRESHOLD = 0.8
CREDIT = {"completed": 1.0, "partial": 0.5}


def per_client(folder: Path, as_of: date) -> pd.DataFrame:
    """One row per client, sorted by client_id: the columns of `summary --by client`."""
    day = pd.Timestamp(as_of)
    clients = pd.read_csv(folder / "clients.csv", usecols=["client_id", "therapist_id"], dtype=str)
    assignments = pd.read_csv(folder / "assignments.csv", dtype={"assignment_id": str, "client_id": str},
                              usecols=["assignment_id", "client_id", "due_on", "expected_count", "status"],
                              parse_dates=["due_on"])
    submissions = pd.read_csv(folder / "submissions.csv",
                              usecols=["submission_id", "assignment_id", "submitted_at", "completion", "mood_before",
                                       "mood_after", "therapist_feedback", "feedback_at"],
                              parse_dates=["submitted_at", "feedback_at"])

    subs = submissions[submissions["submitted_at"].dt.normalize() <= day].copy()
    subs["submitted_on"] = subs["submitted_at"].dt.normalize()
    subs["credit"] = subs["completion"].map(CREDIT).fillna(0.0)
    subs["mood_lift"] = subs["mood_after"] - subs["mood_before"]
    work = subs.merge(assignments, on="assignment_id")

    # Each active assignment's progress, as known on as_of.
    active = assignments[assignments["status"] == "active"].set_index("assignment_id")
    done = work[work["status"] == "active"]
    per = done.groupby("assignment_id").agg(raw_credit=("credit", "sum"), submissions=("submission_id", "size"),
                                            mood_lift_sum=("mood_lift", "sum"), mood_lift_n=("mood_lift", "count"),
                                            last_submission_at=("submitted_at", "max"))
    on_time = done[done["submitted_on"] <= done["due_on"]].groupby("assignment_id")["credit"].sum()
    progress = active.join(per).join(on_time.rename("raw_on_time"))
    progress["credit"] = np.minimum(progress["expected_count"], progress["raw_credit"].fillna(0.0))
    progress["on_time_credit"] = np.minimum(progress["expected_count"], progress["raw_on_time"].fillna(0.0))
    due = progress[progress["due_on"] <= day]

    table = clients.set_index("client_id")
    sums = due.groupby("client_id")[["expected_count", "credit", "on_time_credit"]].sum()
    table["expected"] = sums["expected_count"].reindex(table.index).fillna(0).astype("int64")
    table["credit"] = sums["credit"].reindex(table.index).fillna(0.0)
    table["completion_rate"] = sums["credit"] / sums["expected_count"]
    table["on_time_rate"] = sums["on_time_credit"] / sums["expected_count"]
    totals = progress.groupby("client_id").agg(submissions=("submissions", "sum"), lift=("mood_lift_sum", "sum"),
                                               lift_n=("mood_lift_n", "sum"),
                                               last_submission_at=("last_submission_at", "max"))
    table["submissions"] = totals["submissions"].reindex(table.index).fillna(0).astype("int64")
    table["mood_lift_mean"] = (totals["lift"] / totals["lift_n"].replace(0, np.nan)).reindex(table.index)
    table["mood_lift_n"] = totals["lift_n"].reindex(table.index).fillna(0).astype("int64")
    table["last_submission_at"] = totals["last_submission_at"].reindex(table.index)

    # Streak: the weeks (of due_on) after the latest one under the threshold.
    weekly = due.assign(week=due["due_on"] - pd.to_timedelta(due["due_on"].dt.day_of_week, unit="D"))
    weekly = weekly.groupby(["client_id", "week"])[["credit", "expected_count"]].sum()
    weekly["met"] = weekly["credit"] / weekly["expected_count"] >= STREAK_THRESHOLD
    weekly = weekly.reset_index()
    last_missed = weekly[~weekly["met"]].groupby("client_id")["week"].max()
    weekly["last_missed"] = weekly["client_id"].map(last_missed)
    counted = weekly[weekly["last_missed"].isna() | (weekly["week"] > weekly["last_missed"])]
    table["streak_weeks"] = counted.groupby("client_id").size().reindex(table.index).fillna(0).astype("int64")

    # The last submission (any homework), and feedback on completed or partial work to active homework.
    last = work.groupby("client_id")["submitted_on"].max().reindex(table.index)
    table["days_since_last_submission"] = (day - last).dt.days.astype("float64")
    reviewed = work[(work["status"] == "active") & work["completion"].isin(["completed", "partial"])].copy()
    reviewed["has_feedback"] = reviewed["therapist_feedback"].fillna("").str.strip() != ""
    table["feedback_coverage"] = reviewed.groupby("client_id")["has_feedback"].mean().reindex(table.index)
    answered = reviewed[reviewed["has_feedback"]]
    delay = (answered["feedback_at"] - answered["submitted_at"]).dt.total_seconds() / 86400
    table["median_feedback_days"] = delay.groupby(answered["client_id"]).median().reindex(table.index).round(1)
    return table.reset_index().sort_values("client_id", ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True, help="the folder of the canonical CSV files")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    table = per_client(args.csv, args.as_of)
    table["last_submission_at"] = table["last_submission_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
