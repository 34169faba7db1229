"""The command line: `python -m analytics demo | import | summary | load-demo | timezone`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd

from analytics import adherence, attention, caseload, demo
from analytics.importer import import_batch
from analytics.scope import Scope
from analytics.store import PROJECT_DIR, StoreError, default_db_path, get_timezone, is_empty, open_store, set_timezone

DEMO_DIR = PROJECT_DIR / "data" / "demo"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
NEEDS_ATTENTION = "needs-attention"


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from exc


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Homework adherence store and reports.")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_db(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--db", type=Path, default=None,
                         help="store file (default: $HOMEWORK_DB or data/homework.duckdb)")

    p = commands.add_parser("demo", help="write a synthetic demo dataset (five canonical CSVs)")
    p.add_argument("--out", type=Path, required=True, help="folder to write into")
    p.add_argument("--clients", type=_positive, default=40)
    p.add_argument("--therapists", type=_positive, default=4)
    p.add_argument("--weeks", type=_positive, default=16)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", type=_iso_date, default=None, help="last day of the data (default: today)")

    p = commands.add_parser("import", help="import canonical CSV files as one batch")
    add_db(p)
    p.add_argument("files", nargs="+", type=Path, help="any of therapists.csv, clients.csv, assignments.csv, "
                   "submissions.csv, measures.csv")
    p.add_argument("--skip-invalid", action="store_true",
                   help="write the valid rows and list the rejected ones (default: refuse the whole batch)")

    p = commands.add_parser("summary", help="completion, on-time rate and mood lift per group")
    add_db(p)
    p.add_argument("--by", choices=[*sorted(adherence.GROUP_BY), NEEDS_ATTENTION], required=True,
                   help="one row per group; needs-attention lists the clients that meet a rule, with the reasons")
    p.add_argument("--as-of", type=_iso_date, default=None, help="date the figures are known at (default: today)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--therapist", default=None, help="only this therapist's clients (default: the whole practice)")

    p = commands.add_parser("load-demo", help="create the store from the bundled demo data, ending today")
    add_db(p)
    p.add_argument("--if-missing", action="store_true", help="do nothing when the store already holds clients")

    p = commands.add_parser("timezone", help="show or set the practice's time zone")
    add_db(p)
    p.add_argument("zone", nargs="?", help="IANA name, e.g. Europe/London")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on wrong usage
    try:
        return COMMANDS[args.command](args)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    counts = demo.write_demo(args.out, clients=args.clients, therapists=args.therapists,
                             weeks=args.weeks, seed=args.seed, end=args.end)
    for table, rows in counts.items():
        print(f"{args.out / (table + '.csv')}: {rows} rows")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    con = open_store(args.db)
    report = import_batch(con, [(f.name, f) for f in args.files], scope=Scope.practice(),
                          imported_by=f"{getpass.getuser()} (command line)", skip_invalid=args.skip_invalid)
    print(report.to_text())
    return EXIT_OK if report.accepted else EXIT_REFUSED


def run_summary(args: argparse.Namespace) -> int:
    con = open_store(args.db)
    scope = Scope.therapist(args.therapist) if args.therapist else Scope.practice()
    as_of = args.as_of or date.today()
    if args.by == NEEDS_ATTENTION:
        try:
            thresholds = attention.load_thresholds(con)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        frame = attention.needs_attention(con, scope=scope, today=as_of, thresholds=thresholds)
        frame = frame[["rank", "client_id", "therapist_id", "n_reasons", "reasons"]]
    elif args.by == "client":
        frame = caseload.client_summary(con, scope=scope, as_of=as_of)
    else:
        frame = adherence.summary(con, scope=scope, by=args.by, as_of=as_of)
    print(format_frame(frame, args.format))
    return EXIT_OK


def format_frame(frame: pd.DataFrame, fmt: str) -> str:
    """A summary as an aligned table, CSV, or JSON records (dates as YYYY-MM-DD, rates as 0-1)."""
    out = frame.copy()
    if "reasons" in out.columns and fmt != "json":  # a list of texts: one cell, reasons joined
        out["reasons"] = out["reasons"].map("; ".join)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d" if column == "week" else "%Y-%m-%dT%H:%M:%S")
    if "week" in out.columns and not pd.api.types.is_string_dtype(out["week"]):
        out["week"] = out["week"].astype(str)
    if fmt == "csv":
        return out.to_csv(index=False, float_format="%.4f").rstrip("\n")
    if fmt == "json":
        return json.dumps(json.loads(out.to_json(orient="records", double_precision=4)), indent=2)
    if out.empty:
        return "(no rows)"
    return out.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")


def run_load_demo(args: argparse.Namespace) -> int:
    path = args.db or default_db_path()
    con = open_store(path)
    if args.if_missing and not is_empty(con):
        print(f"{path}: the store already holds data; left as it is")
        return EXIT_OK
    with tempfile.TemporaryDirectory() as tmp:
        shift = demo.shift_demo(DEMO_DIR, Path(tmp), end=date.today())
        names = ["therapists", "clients", "assignments", "submissions", "measures"]
        files = [(f"{n}.csv", Path(tmp) / f"{n}.csv") for n in names]
        report = import_batch(con, files, scope=Scope.practice(), imported_by="demo loader")
    print(report.to_text())
    print(f"demo data moved {shift} day(s) so that it ends today; store: {path}")
    return EXIT_OK if report.accepted else EXIT_REFUSED


def run_timezone(args: argparse.Namespace) -> int:
    con = open_store(args.db)
    if args.zone:
        set_timezone(con, args.zone)
    print(get_timezone(con))
    return EXIT_OK


COMMANDS = {
    "demo": run_demo,
    "import": run_import,
    "summary": run_summary,
    "load-demo": run_load_demo,
    "timezone": run_timezone,
}
